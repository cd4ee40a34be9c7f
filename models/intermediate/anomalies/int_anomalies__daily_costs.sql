{#-
    The daily cost series every anomaly rule reads: one row per day × billing currency × scope,
    zero-filled. Scopes: 'all' (the whole day, unallocated money included), each product, and
    each product/component.

    Day-grain allocation rows only. Monthly pools (tax, credits, support) are booked on the 1st
    of the month; counted as that day's cost they would fake a spike on every 1st.

    Zero-fill: each scope gets every calendar day (metricflow_time_spine) from its first day
    with cost to the currency's last day with cost. A product with no cost on a day gets a 0
    row, not a gap, so the rules' trailing windows (`rows between N preceding and 1 preceding`)
    count calendar days. A scope's series restarts (series_start) after more than 31 days
    without cost, and the rules' windows are partitioned by it, so bills loaded for far
    earlier periods never pose as "the previous 7 days".

    tagged_cost is the 'direct' part of cost: bill lines whose tags named the product.
    tag_coverage (scope 'all' only) is tagged cost / (tagged + untagged cost) of the day: the
    share of bill lines the tag rules could place. Shared pools are neither (they are placed by
    drivers on purpose), so they do not dilute it.
-#}
with

allocation as (

    select * from {{ ref('fct_cost_allocation') }}
    where period_grain = 'day'

),

costs as (

    select
        period_start as cost_date,
        billing_currency,
        product,
        component,
        allocated_effective_cost as cost,
        case when method = 'direct' then allocated_effective_cost else 0 end as tagged_cost,
        case
            when unallocated_reason = 'untagged' then allocated_effective_cost else 0
        end as untagged_cost
    from allocation

),

day_costs as (

    select
        cost_date,
        billing_currency,
        sum(cost) as cost,
        sum(tagged_cost) as tagged_cost,
        sum(untagged_cost) as untagged_cost
    from costs
    group by
        cost_date,
        billing_currency

),

product_costs as (

    select
        cost_date,
        billing_currency,
        product,
        sum(cost) as cost,
        sum(tagged_cost) as tagged_cost
    from costs
    where product is not null
    group by
        cost_date,
        billing_currency,
        product

),

component_costs as (

    select
        cost_date,
        billing_currency,
        product,
        component,
        sum(cost) as cost,
        sum(tagged_cost) as tagged_cost
    from costs
    where product is not null
    group by
        cost_date,
        billing_currency,
        product,
        component

),

scope_costs as (

    select
        cost_date,
        billing_currency,
        'all' as scope_type,
        'all' as scope,
        cast(null as {{ dbt.type_string() }}) as product,
        cast(null as {{ dbt.type_string() }}) as component,
        cost,
        tagged_cost
    from day_costs

    union all

    select
        cost_date,
        billing_currency,
        'product' as scope_type,
        product as scope,
        product,
        cast(null as {{ dbt.type_string() }}) as component,
        cost,
        tagged_cost
    from product_costs

    union all

    select
        cost_date,
        billing_currency,
        'component' as scope_type,
        product || '/' || component as scope,
        product,
        component,
        cost,
        tagged_cost
    from component_costs

),

{#
    A scope's series restarts after more than 31 days without cost (a bill loaded for a far
    earlier period, a product paused): the rules' windows never reach across such a gap.
#}
scope_days as (

    select
        billing_currency,
        scope_type,
        scope,
        product,
        component,
        cost_date,
        case
            when
                lag(cost_date) over (
                    partition by billing_currency, scope_type, scope order by cost_date
                ) is null
                or {{ dbt.datediff(
                    'lag(cost_date) over (partition by billing_currency, scope_type, scope '
                    ~ 'order by cost_date)',
                    'cost_date',
                    'day',
                ) }} > 31
                then cost_date
        end as restart_date
    from scope_costs

),

series_days as (

    select
        *,
        max(restart_date) over (
            partition by billing_currency, scope_type, scope
            order by cost_date
            rows between unbounded preceding and current row
        ) as series_start
    from scope_days

),

scopes as (

    select
        billing_currency,
        scope_type,
        scope,
        product,
        component,
        series_start,
        max(cost_date) as series_last_date
    from series_days
    group by
        billing_currency,
        scope_type,
        scope,
        product,
        component,
        series_start

),

currency_ends as (

    select
        billing_currency,
        max(cost_date) as last_date
    from day_costs
    group by billing_currency

),

{# the latest series runs on to the currency's last day, so a product that stops costing
   anything shows as zeros, not as silence #}
series as (

    select
        scopes.*,
        case
            when {{ dbt.datediff(
                'scopes.series_last_date', 'currency_ends.last_date', 'day'
            ) }} > 31
                then scopes.series_last_date
            else currency_ends.last_date
        end as series_end
    from scopes
    inner join currency_ends
        on scopes.billing_currency = currency_ends.billing_currency

),

spine as (

    select
        calendar.date_day as cost_date,
        series.billing_currency,
        series.scope_type,
        series.scope,
        series.product,
        series.component,
        series.series_start,
        coalesce(day_costs.cost, 0) as total_day_cost
    from series
    inner join {{ ref('metricflow_time_spine') }} as calendar
        on
            series.series_start <= calendar.date_day
            and series.series_end >= calendar.date_day
    left join day_costs
        on
            calendar.date_day = day_costs.cost_date
            and series.billing_currency = day_costs.billing_currency

),

filled as (

    select
        spine.cost_date,
        spine.billing_currency,
        spine.scope_type,
        spine.scope,
        spine.product,
        spine.component,
        spine.series_start,
        cast(coalesce(scope_costs.cost, 0) as decimal(38, 12)) as cost,
        cast(coalesce(scope_costs.tagged_cost, 0) as decimal(38, 12)) as tagged_cost,
        cast(spine.total_day_cost as decimal(38, 12)) as total_day_cost
    from spine
    left join scope_costs
        on
            spine.cost_date = scope_costs.cost_date
            and spine.billing_currency = scope_costs.billing_currency
            and spine.scope_type = scope_costs.scope_type
            and spine.scope = scope_costs.scope

),

final as (

    select
        filled.cost_date,
        filled.billing_currency,
        filled.scope_type,
        filled.scope,
        filled.product,
        filled.component,
        filled.series_start,
        filled.cost,
        filled.tagged_cost,
        filled.total_day_cost,
        case
            when filled.scope_type = 'all' and day_costs.tagged_cost + day_costs.untagged_cost <> 0
                then
                    cast(day_costs.tagged_cost as double)
                    / cast(day_costs.tagged_cost + day_costs.untagged_cost as double)
        end as tag_coverage
    from filled
    left join day_costs
        on
            filled.cost_date = day_costs.cost_date
            and filled.billing_currency = day_costs.billing_currency

)

select * from final
