{#-
    Rule broken_tagging: money stopped arriving through tags. When a deploy drops the product
    tag, the product's direct cost falls and the untagged residual grows while the total bill
    stays flat, so the cost rules see nothing; this rule watches the tagging itself.
    (a) per product: tagged (method 'direct') cost today < 50 % of its average over the
        previous 7 days. value/baseline are costs.
    (b) scope 'all': tag coverage (direct cost / total day cost) today < 50 % of its average
        over the previous 7 days. value/baseline are coverage ratios (0-1).
    Both are critical: allocation is wrong from that day on until the tags are fixed.

    The 7 days are rows of the zero-filled daily series; all 7 must be there (for (b): have a
    coverage, i.e. a non-zero total) and the average must be > 0.
    Thresholds: var anomaly_thresholds.tagging_trailing_days (7), tagging_drop_ratio (0.5).
-#}
{%- set thresholds = {'tagging_trailing_days': 7, 'tagging_drop_ratio': 0.5} -%}
{%- do thresholds.update(var('anomaly_thresholds', {})) -%}
{%- set trailing_days = thresholds['tagging_trailing_days'] | int -%}
{%- set ratio = thresholds['tagging_drop_ratio'] -%}
with

daily_costs as (

    select * from {{ ref('int_anomalies__daily_costs') }}
    where scope_type in ('all', 'product')

),

product_tagging as (

    select
        cost_date,
        billing_currency,
        scope_type,
        scope,
        cast(tagged_cost as double) as value,
        count(*) over (
            partition by billing_currency, scope_type, scope, series_start
            order by cost_date
            rows between {{ trailing_days }} preceding and 1 preceding
        ) as history_days,
        avg(cast(tagged_cost as double)) over (
            partition by billing_currency, scope_type, scope, series_start
            order by cost_date
            rows between {{ trailing_days }} preceding and 1 preceding
        ) as baseline
    from daily_costs
    where scope_type = 'product'

),

coverage as (

    select
        cost_date,
        billing_currency,
        scope_type,
        scope,
        tag_coverage as value,
        -- a day with zero total cost has no coverage: it does not count as history
        count(tag_coverage) over (
            partition by billing_currency, scope_type, scope, series_start
            order by cost_date
            rows between {{ trailing_days }} preceding and 1 preceding
        ) as history_days,
        avg(tag_coverage) over (
            partition by billing_currency, scope_type, scope, series_start
            order by cost_date
            rows between {{ trailing_days }} preceding and 1 preceding
        ) as baseline
    from daily_costs
    where scope_type = 'all'

),

measured as (

    select * from product_tagging
    union all
    select * from coverage

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
    from measured
    where
        history_days = {{ trailing_days }}
        and baseline > 0
        and value < {{ ratio }} * baseline

),

final as (

    select
        'broken_tagging' as rule,
        scope_type,
        scope,
        billing_currency,
        'day' as period_grain,
        cost_date as period_start,
        value,
        baseline,
        change,
        cast(null as double) as z_score,
        'critical' as severity,
        case
            when scope_type = 'all'
                then
                    'Tag coverage of ' || billing_currency || ' cost fell to '
                    || cast(round(value * 100, 1) as {{ dbt.type_string() }}) || ' % on '
                    || cast(cost_date as {{ dbt.type_string() }}) || ' from a previous '
                    || '{{ trailing_days }}-day average of '
                    || cast(round(baseline * 100, 1) as {{ dbt.type_string() }})
                    || ' %: are bill lines losing their product tag?'
            else
                'Tagged cost of product ' || scope || ' fell to '
                || cast(round(value, 2) as {{ dbt.type_string() }}) || ' ' || billing_currency
                || ' on ' || cast(cost_date as {{ dbt.type_string() }})
                || ' from a previous {{ trailing_days }}-day average of '
                || cast(round(baseline, 2) as {{ dbt.type_string() }})
                || ': are its resources losing their product tag?'
        end as description
    from flagged

)

select * from final
