{#-
    Cost Explorer rows left out of the unified cost lines because a full-fidelity bill (CUR
    or FOCUS) has lines for the same account on a day of the row's time period: Cost
    Explorer is a summary of that same bill, so counting both would count it twice. The bill
    is the cost of record. A MONTHLY row cannot be split by day, so a bill covering any day of
    its month supersedes it whole (load CE DAILY where the bill is partial).
    Grain: one row per superseded CE row (cost_line_key); its money stays visible here and
    tests/assert_cost_lines_tie_to_raw.sql counts it against the raw table.
-#}
{%- set text = dbt.type_string() -%}
with

ce_costs as (

    select * from {{ ref('stg_aws_ce__costs') }}

),

bill_coverage as (

    select * from {{ ref('int_aws_ce__bill_coverage') }}

),

covering_bills as (

    select
        ce_costs.cost_line_key,
        max(case when bill_coverage.source_system = 'aws_cur' then 1 else 0 end)
        = 1 as has_cur,
        max(case when bill_coverage.source_system = 'focus' then 1 else 0 end)
        = 1 as has_focus,
        count(distinct bill_coverage.charge_date) as covered_days
    from ce_costs
    inner join bill_coverage
        on
            ce_costs.billing_account_id = bill_coverage.account_id
            and bill_coverage.charge_date >= cast(ce_costs.charge_period_start as date)
            and bill_coverage.charge_date < cast(ce_costs.charge_period_end as date)
    group by ce_costs.cost_line_key

),

final as (

    select
        ce_costs.cost_line_key,
        ce_costs.billing_account_id,
        ce_costs.charge_billing_period,
        ce_costs.charge_period_start,
        ce_costs.charge_period_end,
        ce_costs.granularity,
        ce_costs.line_item_type,
        ce_costs.service_name,
        ce_costs.source_tags,
        ce_costs.billing_currency,
        ce_costs.billed_cost,
        ce_costs.effective_cost,
        case
            when covering_bills.has_cur and covering_bills.has_focus then 'aws_cur, focus'
            when covering_bills.has_cur then 'aws_cur'
            else 'focus'
        end as superseded_by,
        'the ' || case when covering_bills.has_cur then 'CUR' else 'FOCUS export' end
        || ' has lines for account ' || ce_costs.billing_account_id || ' on '
        || cast(covering_bills.covered_days as {{ text }}) || ' day(s) of this period: '
        || 'the bill is the cost of record' as superseded_reason,
        ce_costs.load_id,
        ce_costs.source_file,
        ce_costs.source_row
    from ce_costs
    inner join covering_bills
        on ce_costs.cost_line_key = covering_bills.cost_line_key

)

select * from final
