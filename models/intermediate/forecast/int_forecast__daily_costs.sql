{#-
    The daily cost series the month-end forecast reads: one row per day × billing currency ×
    level × level value, zero-filled. Levels: 'total' (the whole currency, unallocated
    included), 'product', 'customer' and 'team' (the showback mart's team: the team tag, else
    the product's owner team). Money no rule placed is the level value '(unallocated)', so the
    values of every level sum to the total.

    day_cost is day-grain allocation cost, the part a run rate can extrapolate. month_cost is
    the month-grain pools (tax, credits, support) booked on the month's first day: they are
    counted in the month to date as booked, never extrapolated.

    Zero-fill: a series has a row on every calendar day from its first day with cost to the
    currency's last day with cost, so a trailing window counts calendar days and a series that
    stops costing anything shows zeros, not silence.
-#}
{%- set levels = [
    ('total', "'total'"),
    ('product', "coalesce(product, '(unallocated)')"),
    ('customer', 'customer_id'),
    ('team', 'team'),
] -%}
with

allocation as (

    select * from {{ ref('fct_cost_allocation') }}

),

products as (

    select * from {{ ref('products') }}

),

calendar as (

    select * from {{ ref('metricflow_time_spine') }}

),

costs as (

    select
        allocation.period_start as cost_date,
        allocation.billing_currency,
        case when allocation.is_unallocated then '(unallocated)' else allocation.product end
            as product,
        case
            when allocation.is_unallocated then '(unallocated)'
            else coalesce(allocation.customer_id, '(unallocated)')
        end as customer_id,
        case
            when allocation.is_unallocated then '(unallocated)'
            else coalesce(allocation.team, products.owner_team, '(no owner)')
        end as team,
        case
            when allocation.period_grain = 'day' then allocation.allocated_effective_cost
            else 0
        end as day_cost,
        case
            when allocation.period_grain = 'day' then 0
            else allocation.allocated_effective_cost
        end as month_cost
    from allocation
    left join products
        on allocation.product = products.product

),

level_costs as (

    {% for level, expr in levels %}
        select
            cost_date,
            billing_currency,
            '{{ level }}' as level,
            {{ expr }} as level_value,
            sum(day_cost) as day_cost,
            sum(month_cost) as month_cost
        from costs
        group by
            cost_date,
            billing_currency,
            {{ expr }}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

currency_ends as (

    select
        billing_currency,
        max(cost_date) as last_date
    from costs
    group by billing_currency

),

series as (

    select
        level_costs.billing_currency,
        level_costs.level,
        level_costs.level_value,
        min(level_costs.cost_date) as series_start,
        max(currency_ends.last_date) as series_end
    from level_costs
    inner join currency_ends
        on level_costs.billing_currency = currency_ends.billing_currency
    group by
        level_costs.billing_currency,
        level_costs.level,
        level_costs.level_value

),

final as (

    select
        calendar.date_day as cost_date,
        series.billing_currency,
        series.level,
        series.level_value,
        cast(coalesce(level_costs.day_cost, 0) as decimal(38, 12)) as day_cost,
        cast(coalesce(level_costs.month_cost, 0) as decimal(38, 12)) as month_cost
    from series
    inner join calendar
        on
            series.series_start <= calendar.date_day
            and series.series_end >= calendar.date_day
    left join level_costs
        on
            calendar.date_day = level_costs.cost_date
            and series.billing_currency = level_costs.billing_currency
            and series.level = level_costs.level
            and series.level_value = level_costs.level_value

)

select * from final
