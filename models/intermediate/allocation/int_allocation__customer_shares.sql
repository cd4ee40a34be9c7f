{#- Per product and period, each customer's share of that product's customer driver
    (seeds/customer_drivers.csv, e.g. replay → recordings), at day and month grain. -#}
with

usage_metrics as (

    select * from {{ ref('stg_usage__metrics') }}

),

customer_drivers as (

    select * from {{ ref('customer_drivers') }}

),

daily as (

    select
        usage_metrics.product,
        customer_drivers.metric as customer_driver_name,
        usage_metrics.usage_date,
        usage_metrics.customer_id,
        sum(usage_metrics.quantity) as quantity
    from usage_metrics
    inner join customer_drivers
        on
            usage_metrics.product = customer_drivers.product
            and usage_metrics.metric = customer_drivers.metric
    where usage_metrics.customer_id is not null and usage_metrics.quantity > 0
    group by
        usage_metrics.product,
        customer_drivers.metric,
        usage_metrics.usage_date,
        usage_metrics.customer_id

),

by_grain as (

    select
        product,
        customer_driver_name,
        'day' as period_grain,
        usage_date as period_start,
        customer_id,
        quantity
    from daily

    union all

    select
        product,
        customer_driver_name,
        'month' as period_grain,
        {{ month_start('usage_date') }} as period_start,
        customer_id,
        sum(quantity) as quantity
    from daily
    group by product, customer_driver_name, {{ month_start('usage_date') }}, customer_id

),

final as (

    select
        *,
        quantity / sum(quantity) over (
            partition by product, period_grain, period_start
        ) as customer_share
    from by_grain

)

select * from final
