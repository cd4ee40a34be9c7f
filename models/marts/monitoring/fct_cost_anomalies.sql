{#-
    Cost anomalies: every alarm the monitoring rules raised, one row per rule × scope × currency
    × period, in one shape so a dashboard or an alert job reads one table. Each rule is one
    readable model in models/intermediate/anomalies (product and component week over week,
    daily z-score, daily spike, broken tagging, team budget forecast); this model only stacks
    them and gives each row a stable id. Day-grain allocation cost only (monthly pools booked
    on the 1st would raise a spike every month), except budget_forecast, which compares a
    whole month with its budget.
-#}
{%- set rules = [
    'product_week_over_week',
    'component_week_over_week',
    'daily_zscore',
    'daily_spike',
    'broken_tagging',
    'budget_forecast',
] -%}
{%- set columns = [
    'rule', 'scope_type', 'scope', 'billing_currency', 'period_grain', 'period_start', 'value',
    'baseline', 'change', 'z_score', 'severity', 'description',
] -%}
with

{% for rule in rules %}
    {{ rule }} as (

        select * from {{ ref('int_anomalies__' ~ rule) }}

    ),

{% endfor %}
anomalies as (

    {% for rule in rules %}
        select {{ columns | join(', ') }}
        from {{ rule }}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

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
