{#-
    Rule product_week_over_week: a product's weekly cost moved more than 15 % (up or down)
    against the week before. Weekly totals smooth the weekday/weekend rhythm that would make a
    daily comparison noisy; a 15 % move in a week is what a product owner wants to hear about.

    Weeks start where dbt.date_trunc('week') puts them (Monday on DuckDB). Only complete weeks
    count: both weeks need all 7 days in the zero-filled series, so the partial first and last
    weeks of the data never compare a few days against a full week. The previous week must be
    the calendar week just before, with cost > 0 (a change against nothing is not a ratio).
    Threshold: var anomaly_thresholds.product_week_over_week_change (default 0.15).
-#}
{%- set thresholds = {'product_week_over_week_change': 0.15} -%}
{%- do thresholds.update(var('anomaly_thresholds', {})) -%}
{%- set min_change = thresholds['product_week_over_week_change'] -%}
with

daily_costs as (

    select * from {{ ref('int_anomalies__daily_costs') }}
    where scope_type = 'product'

),

weekly_costs as (

    select
        billing_currency,
        scope_type,
        scope,
        cast({{ dbt.date_trunc('week', 'cost_date') }} as date) as week_start,
        count(*) as n_days,
        cast(sum(cost) as double) as week_cost
    from daily_costs
    group by
        billing_currency,
        scope_type,
        scope,
        cast({{ dbt.date_trunc('week', 'cost_date') }} as date)

),

complete_weeks as (

    select * from weekly_costs
    where n_days = 7

),

compared as (

    select
        this_week.billing_currency,
        this_week.scope_type,
        this_week.scope,
        this_week.week_start,
        this_week.week_cost as value,
        previous_week.week_cost as baseline,
        this_week.week_cost / previous_week.week_cost - 1 as change
    from complete_weeks as this_week
    inner join complete_weeks as previous_week
        on
            this_week.billing_currency = previous_week.billing_currency
            and this_week.scope_type = previous_week.scope_type
            and this_week.scope = previous_week.scope
            and previous_week.week_start
            = cast({{ dbt.dateadd('day', -7, 'this_week.week_start') }} as date)
    where previous_week.week_cost > 0

),

flagged as (

    select * from compared
    where abs(change) > {{ min_change }}

),

final as (

    select
        'product_week_over_week' as rule,
        scope_type,
        scope,
        billing_currency,
        'week' as period_grain,
        week_start as period_start,
        value,
        baseline,
        change,
        cast(null as double) as z_score,
        'warning' as severity,
        'Product ' || scope || ' cost '
        || cast(round(value, 2) as {{ dbt.type_string() }}) || ' ' || billing_currency
        || ' in the week of ' || cast(week_start as {{ dbt.type_string() }}) || ', '
        || case when change > 0 then '+' else '' end
        || cast(round(change * 100, 1) as {{ dbt.type_string() }}) || ' % vs '
        || cast(round(baseline, 2) as {{ dbt.type_string() }})
        || ' the week before (threshold ±{{ "%g" | format(min_change * 100) }} %).' as description
    from flagged

)

select * from final
