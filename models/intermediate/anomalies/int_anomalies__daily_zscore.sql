{#-
    Rule daily_zscore: a day's cost is far outside what the scope's recent history makes
    normal. z = (today − mean of the trailing 30 days) / sample standard deviation of those
    days; today is never part of its own baseline. Scopes: the whole day ('all') and each
    product. |z| > 2 is a warning, |z| > 3 critical, in both directions (a sudden drop can be a
    broken pipeline as well as a saving).

    The trailing window counts rows of the zero-filled daily series, so 30 rows are 30 days. A
    scope needs at least 14 trailing days (a mean and spread from a few days mean nothing) and a
    spread > 0 (a perfectly flat history has no z-score; daily_spike covers it).
    Thresholds: var anomaly_thresholds.zscore_trailing_days (30), zscore_min_history_days (14),
    zscore_warning (2), zscore_critical (3).
-#}
{%- set thresholds = {
    'zscore_trailing_days': 30,
    'zscore_min_history_days': 14,
    'zscore_warning': 2,
    'zscore_critical': 3,
} -%}
{%- do thresholds.update(var('anomaly_thresholds', {})) -%}
{%- set trailing_days = thresholds['zscore_trailing_days'] | int -%}
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
        ) as baseline,
        stddev_samp(cast(cost as double)) over (
            partition by billing_currency, scope_type, scope, series_start
            order by cost_date
            rows between {{ trailing_days }} preceding and 1 preceding
        ) as baseline_stddev
    from daily_costs

),

scored as (

    select
        cost_date,
        billing_currency,
        scope_type,
        scope,
        value,
        baseline,
        baseline_stddev,
        case when baseline <> 0 then value / baseline - 1 end as change,
        -- 6 decimals: engines' stddev algorithms differ in the last bit (2.4999999999999996)
        round((value - baseline) / baseline_stddev, 6) as z_score
    from with_history
    where
        history_days >= {{ thresholds['zscore_min_history_days'] }}
        and baseline_stddev > 0

),

flagged as (

    select
        *,
        case
            when abs(z_score) > {{ thresholds['zscore_critical'] }} then 'critical'
            else 'warning'
        end as severity
    from scored
    where abs(z_score) > {{ thresholds['zscore_warning'] }}

),

final as (

    select
        'daily_zscore' as rule,
        scope_type,
        scope,
        billing_currency,
        'day' as period_grain,
        cost_date as period_start,
        value,
        baseline,
        change,
        z_score,
        severity,
        case when scope_type = 'all' then 'Total' else 'Product ' || scope end
        || ' cost ' || cast(round(value, 2) as {{ dbt.type_string() }}) || ' '
        || billing_currency || ' on ' || cast(cost_date as {{ dbt.type_string() }}) || ' is '
        || cast(round(abs(z_score), 2) as {{ dbt.type_string() }}) || ' standard deviations '
        || case when z_score > 0 then 'above' else 'below' end
        || ' its trailing {{ trailing_days }}-day mean of '
        || cast(round(baseline, 2) as {{ dbt.type_string() }}) || ' (sd '
        || cast(round(baseline_stddev, 2) as {{ dbt.type_string() }}) || ').' as description
    from flagged

)

select * from final
