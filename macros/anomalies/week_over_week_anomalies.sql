{#-
    Shared SQL of the week-over-week rules (int_anomalies__product_week_over_week and
    int_anomalies__component_week_over_week): weekly cost of each `scope_type` scope against
    the calendar week before, both weeks complete (7 days of the zero-filled series), previous
    week > 0; |change| above the threshold `threshold_key` of var anomaly_thresholds
    (default `default_change`) is a warning. Each rule's model states why its threshold is what
    it is.
-#}
{% macro week_over_week_anomalies(rule, scope_type, label, threshold_key, default_change) -%}
{%- set thresholds = {threshold_key: default_change} -%}
{%- do thresholds.update(var('anomaly_thresholds', {})) -%}
{%- set min_change = thresholds[threshold_key] -%}
with

daily_costs as (

    select * from {{ ref('int_anomalies__daily_costs') }}
    where scope_type = '{{ scope_type }}'

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
        '{{ rule }}' as rule,
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
        '{{ label }} ' || scope || ' cost '
        || cast(round(value, 2) as {{ dbt.type_string() }}) || ' ' || billing_currency
        || ' in the week of ' || cast(week_start as {{ dbt.type_string() }}) || ', '
        || case when change > 0 then '+' else '' end
        || cast(round(change * 100, 1) as {{ dbt.type_string() }}) || ' % vs '
        || cast(round(baseline, 2) as {{ dbt.type_string() }})
        || ' the week before (threshold ±{{ "%g" | format(min_change * 100) }} %).' as description
    from flagged

)

select * from final
{%- endmacro %}
