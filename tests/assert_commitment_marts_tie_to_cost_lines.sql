{#-
    The commitment marts re-read bill lines; they must neither invent nor drop a cent. Per
    billing account, charge month and currency, against the unified cost table:
      unused commitment   Σ utilization.unused_commitment_cost = Σ effective_cost of the lines
                          flagged is_unused_commitment
      covered usage       Σ coverage.covered_list_cost / covered_effective_cost over types
                          = Σ list_cost / effective_cost of usage lines carrying a commitment id
                          (SavingsPlanNegation excluded: it only cancels the on-demand price)
    Returns one row per check and group that differs.
-#}
with

cost_lines as (

    select
        *,
        {{ month_start('charge_date') }} as cost_month
    from {{ ref('fct_cost_line_items') }}
    where not is_split_cost_line

),

utilization as (

    select * from {{ ref('fct_commitment_utilization_monthly') }}

),

coverage as (

    select * from {{ ref('fct_commitment_coverage_monthly') }}

),

expected as (

    select
        billing_account_id,
        cost_month,
        billing_currency,
        sum(case when is_unused_commitment then effective_cost else 0 end) as unused_cost,
        sum(
            case
                when
                    charge_category = 'Usage'
                    and nullif(commitment_discount_id, '') is not null
                    and not is_unused_commitment
                    and line_item_type <> 'SavingsPlanNegation'
                    then coalesce(list_cost, 0)
                else 0
            end
        ) as covered_list_cost,
        sum(
            case
                when
                    charge_category = 'Usage'
                    and nullif(commitment_discount_id, '') is not null
                    and not is_unused_commitment
                    and line_item_type <> 'SavingsPlanNegation'
                    then effective_cost
                else 0
            end
        ) as covered_effective_cost
    from cost_lines
    group by billing_account_id, cost_month, billing_currency

),

marts as (

    select
        billing_account_id,
        cost_month,
        billing_currency,
        sum(unused_cost) as unused_cost,
        sum(covered_list_cost) as covered_list_cost,
        sum(covered_effective_cost) as covered_effective_cost
    from (
        select
            billing_account_id,
            cost_month,
            billing_currency,
            unused_commitment_cost as unused_cost,
            0 as covered_list_cost,
            0 as covered_effective_cost
        from utilization
        union all
        select
            billing_account_id,
            cost_month,
            billing_currency,
            0 as unused_cost,
            covered_list_cost,
            covered_effective_cost
        from coverage
    ) as mart_rows
    group by billing_account_id, cost_month, billing_currency

),

compared as (

    select
        coalesce(expected.billing_account_id, marts.billing_account_id) as billing_account_id,
        coalesce(expected.cost_month, marts.cost_month) as cost_month,
        coalesce(expected.billing_currency, marts.billing_currency) as billing_currency,
        coalesce(expected.unused_cost, 0) as expected_unused,
        coalesce(marts.unused_cost, 0) as mart_unused,
        coalesce(expected.covered_list_cost, 0) as expected_covered_list,
        coalesce(marts.covered_list_cost, 0) as mart_covered_list,
        coalesce(expected.covered_effective_cost, 0) as expected_covered_effective,
        coalesce(marts.covered_effective_cost, 0) as mart_covered_effective
    from expected
    full outer join marts
        on
            expected.billing_account_id is not distinct from marts.billing_account_id
            and expected.cost_month = marts.cost_month
            and expected.billing_currency = marts.billing_currency

),

final as (

    select * from compared
    where
        expected_unused <> mart_unused
        or expected_covered_list <> mart_covered_list
        or expected_covered_effective <> mart_covered_effective

)

select * from final
