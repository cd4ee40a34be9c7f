{#-
    Cost anomalies: every alarm the monitoring rules raised, one row per rule × scope × currency
    × period, in one shape so a dashboard or an alert job reads one table. Each rule is one
    readable model in models/intermediate/anomalies (product and component week over week,
    daily z-score, daily spike, broken tagging); this model only stacks them and gives each row
    a stable id. Day-grain allocation cost only: monthly pools (tax, credits, support) booked on
    the 1st would otherwise raise a spike every month.
-#}
with

product_week_over_week as (

    select * from {{ ref('int_anomalies__product_week_over_week') }}

),

component_week_over_week as (

    select * from {{ ref('int_anomalies__component_week_over_week') }}

),

daily_zscore as (

    select * from {{ ref('int_anomalies__daily_zscore') }}

),

daily_spike as (

    select * from {{ ref('int_anomalies__daily_spike') }}

),

broken_tagging as (

    select * from {{ ref('int_anomalies__broken_tagging') }}

),

anomalies as (

    -- columns listed, not *: union all matches by position, and four doubles in another
    -- order would swap silently
    select
        rule,
        scope_type,
        scope,
        billing_currency,
        period_grain,
        period_start,
        value,
        baseline,
        change,
        z_score,
        severity,
        description
    from product_week_over_week

    union all

    select
        rule,
        scope_type,
        scope,
        billing_currency,
        period_grain,
        period_start,
        value,
        baseline,
        change,
        z_score,
        severity,
        description
    from component_week_over_week

    union all

    select
        rule,
        scope_type,
        scope,
        billing_currency,
        period_grain,
        period_start,
        value,
        baseline,
        change,
        z_score,
        severity,
        description
    from daily_zscore

    union all

    select
        rule,
        scope_type,
        scope,
        billing_currency,
        period_grain,
        period_start,
        value,
        baseline,
        change,
        z_score,
        severity,
        description
    from daily_spike

    union all

    select
        rule,
        scope_type,
        scope,
        billing_currency,
        period_grain,
        period_start,
        value,
        baseline,
        change,
        z_score,
        severity,
        description
    from broken_tagging

),

final as (

    select
        rule
        || ':' || scope
        || ':' || billing_currency
        || ':' || cast(period_start as {{ dbt.type_string() }}) as anomaly_id,
        rule,
        scope_type,
        scope,
        billing_currency,
        period_grain,
        period_start,
        cast(value as double) as value,
        cast(baseline as double) as baseline,
        cast(change as double) as change,
        cast(z_score as double) as z_score,
        severity,
        description
    from anomalies

)

select * from final
