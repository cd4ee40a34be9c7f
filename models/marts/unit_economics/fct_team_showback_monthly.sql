{#-
    Showback: cost per team and month, against an optional budget. A row's team is the team tag
    its rule gave it; shared-pool rows (no tag) go to the product's owner team
    (seeds/rules/products.csv); unallocated money is its own '(unallocated)' team, so the teams sum to
    the whole allocation. Budgets (seeds/rules/team_budgets.csv): a row for a month overrides the
    team's default row (blank budget_month).
    Reporting currency (var reporting_currency): the last step converts each row's money at its
    month's rate (int_unit_economics__reporting_rates) into *_reporting columns rounded to the
    cent; the native columns stay as they are.
-#}
with

allocation as (

    select * from {{ ref('fct_cost_allocation') }}

),

products as (

    select * from {{ ref('products') }}

),

budgets as (

    select * from {{ ref('team_budgets') }}

),

rates as (

    select * from {{ ref('int_unit_economics__reporting_rates') }}

),

team_costs as (

    select
        allocation.cost_month,
        allocation.billing_currency,
        case
            when allocation.is_unallocated then '(unallocated)'
            else coalesce(allocation.team, products.owner_team, '(no owner)')
        end as team,
        sum(allocation.allocated_effective_cost) as total_cost,
        sum(
            case
                when allocation.source_kind = 'line_group' then allocation.allocated_effective_cost
                else 0
            end
        ) as direct_cost
    from allocation
    left join products
        on allocation.product = products.product
    group by
        allocation.cost_month,
        allocation.billing_currency,
        case
            when allocation.is_unallocated then '(unallocated)'
            else coalesce(allocation.team, products.owner_team, '(no owner)')
        end

),

with_budget as (

    select
        team_costs.*,
        coalesce(month_budgets.monthly_budget, default_budgets.monthly_budget) as budget
    from team_costs
    left join budgets as month_budgets
        on
            team_costs.team = month_budgets.team
            and team_costs.billing_currency = month_budgets.currency
            and team_costs.cost_month = month_budgets.budget_month
    left join budgets as default_budgets
        on
            team_costs.team = default_budgets.team
            and team_costs.billing_currency = default_budgets.currency
            and default_budgets.budget_month is null

),

native as (

    select
        cost_month,
        team,
        billing_currency,
        cast(total_cost as decimal(38, 12)) as total_cost,
        cast(direct_cost as decimal(38, 12)) as direct_cost,
        cast(total_cost - direct_cost as decimal(38, 12)) as shared_cost,
        {{ money('budget') }} as budget,
        cast(budget - total_cost as decimal(38, 12)) as budget_remaining,
        {{ safe_ratio('total_cost', 'budget') }} as budget_used,
        coalesce(total_cost > budget, false) as is_over_budget
    from with_budget

),

{# each row converted and rounded to the cent on its own, so Σ over rows is one figure #}
final as (

    select
        native.*,
        rates.to_currency as reporting_currency,
        {{ to_reporting('native.total_cost', 'rates.rate') }} as total_cost_reporting,
        {{ to_reporting('native.budget', 'rates.rate') }} as budget_reporting
    from native
    left join rates
        on
            native.cost_month = rates.rate_month
            and native.billing_currency = rates.from_currency

)

select * from final
