{#- Per product and period, each customer's share of that product's customer driver
    (seeds/rules/customer_drivers.csv, e.g. replay → recordings), at day and month grain; these apply
    to every pool (pool_driver '*').

    A Kubernetes cluster split by OpenCost (pool driver opencost:<cluster>) splits each product's
    part on to customers by the pods' tenant label instead, so a tenant's pods carry their own
    node cost; the product's pods without a tenant label follow the labelled ones. -#}
with

usage_metrics as (

    select * from {{ ref('stg_usage__metrics') }}

),

customer_drivers as (

    select * from {{ ref('customer_drivers') }}

),

kubernetes_days as (

    select * from {{ ref('int_kubernetes__allocation_days') }}

),

daily as (

    select
        usage_metrics.product,
        '*' as pool_driver,
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

    union all

    select
        product,
        'opencost:' || cluster as pool_driver,
        'opencost_tenant_cost' as customer_driver_name,
        allocation_date as usage_date,
        customer_id,
        sum(opencost_cost) as quantity
    from kubernetes_days
    where
        not is_idle
        and product is not null
        and customer_id is not null
        and opencost_cost > 0
    group by product, cluster, allocation_date, customer_id

),

by_grain as (

    select
        product,
        pool_driver,
        customer_driver_name,
        'day' as period_grain,
        usage_date as period_start,
        customer_id,
        quantity
    from daily

    union all

    select
        product,
        pool_driver,
        customer_driver_name,
        'month' as period_grain,
        {{ month_start('usage_date') }} as period_start,
        customer_id,
        sum(quantity) as quantity
    from daily
    group by
        product, pool_driver, customer_driver_name, {{ month_start('usage_date') }}, customer_id

),

final as (

    select
        *,
        quantity / sum(quantity) over (
            partition by product, pool_driver, period_grain, period_start
        ) as customer_share
    from by_grain

)

select * from final
