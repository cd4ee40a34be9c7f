{#-
    Volume per product and month, counted the way seeds/rules/products.csv says: unit_volume = Σ of
    the product's unit metric (recordings, events, ...), requests = Σ of its request metric,
    active_tenants = customers with any usage quantity > 0 in the month. Usage rows carry no
    currency, so this is joined to cost per currency downstream.
-#}
with

usage as (

    select * from {{ ref('stg_usage__metrics') }}

),

products as (

    select * from {{ ref('products') }}

),

monthly as (

    select
        {{ month_start('usage.usage_date') }} as usage_month,
        usage.product,
        sum(case when usage.metric = products.unit_metric then usage.quantity end) as unit_volume,
        sum(case when usage.metric = products.request_metric then usage.quantity end) as requests,
        count(
            distinct case when usage.quantity > 0 then usage.customer_id end
        ) as active_tenants
    from usage
    inner join products
        on usage.product = products.product
    group by
        {{ month_start('usage.usage_date') }},
        usage.product

),

final as (

    select
        usage_month,
        product,
        coalesce(unit_volume, 0) as unit_volume,
        coalesce(requests, 0) as requests,
        active_tenants
    from monthly

)

select * from final
