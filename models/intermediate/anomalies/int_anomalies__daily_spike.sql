{#-
    Rule daily_spike: a day cost more than 1.5 × the average of the 7 days before it. The
    simple, explainable alarm for a runaway job or a forgotten GPU box; unlike daily_zscore it
    also fires on a scope whose history is perfectly flat. Scopes: the whole day ('all') and
    each product. Upward only (drops are the week-over-week and tagging rules' business).

    The 7 days are rows of the zero-filled daily series (`rows between 7 preceding and
    1 preceding`); a scope needs all 7 of them, and an average > 0 (a spike against nothing
    is not a ratio: a new product's first day is not an anomaly).
    Thresholds: var anomaly_thresholds.spike_trailing_days (7), spike_ratio (1.5).
-#}
{%- set thresholds = {'spike_trailing_days': 7, 'spike_ratio': 1.5} -%}
{%- do thresholds.update(var('anomaly_thresholds', {})) -%}
{%- set trailing_days = thresholds['spike_trailing_days'] | int -%}
{%- set ratio = thresholds['spike_ratio'] -%}
with

daily_costs as (

    select * from {{ ref('int_anomalies__daily_costs') }}
    where scope_type in ('all', 'product')

),

with_history as (

    select
        cost_date,
        billing_currency,
        scope_type,
        scope,
        cast(cost as double) as value,
        count(*) over (
            partition by billing_currency, scope_type, scope, series_start
            order by cost_date
            rows between {{ trailing_days }} preceding and 1 preceding
        ) as history_days,
        avg(cast(cost as double)) over (
            partition by billing_currency, scope_type, scope, series_start
            order by cost_date
            rows between {{ trailing_days }} preceding and 1 preceding
        ) as baseline
    from daily_costs

),

flagged as (

    select
        cost_date,
        billing_currency,
        scope_type,
        scope,
        value,
        baseline,
        value / baseline - 1 as change
    from with_history
    where
        history_days = {{ trailing_days }}
        and baseline > 0
        and value > {{ ratio }} * baseline

),

final as (

    select
        'daily_spike' as rule,
        scope_type,
        scope,
        billing_currency,
        'day' as period_grain,
        cost_date as period_start,
        value,
        baseline,
        change,
        cast(null as double) as z_score,
        'warning' as severity,
        case when scope_type = 'all' then 'Total' else 'Product ' || scope end
        || ' cost ' || cast(round(value, 2) as {{ dbt.type_string() }}) || ' '
        || billing_currency || ' on ' || cast(cost_date as {{ dbt.type_string() }}) || ' is '
        || cast(round(value / baseline, 2) as {{ dbt.type_string() }})
        || ' × its previous {{ trailing_days }}-day average of '
        || cast(round(baseline, 2) as {{ dbt.type_string() }})
        || ' (threshold {{ ratio }} ×).' as description
    from flagged

)

select * from final
