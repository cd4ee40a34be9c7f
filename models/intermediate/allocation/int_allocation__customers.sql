{#-
    Products → customers. A product-level row without a customer is split across customers by
    the product's customer driver in the same period (largest remainder, so cents tie). Rows
    already tagged with a customer and unallocated rows keep their single row. A product row no
    customer driver reached (the product has no customer_drivers row, its metric has no
    customer quantity that period, or the usage rows carry no customer_id) keeps its product
    and gets unallocated_reason 'no_customer': the customer marts show it as the
    '(unallocated)' customer, so customer totals tie to product totals.
-#}
{%- set passthrough = [
    'source_kind', 'source_key', 'period_grain', 'period_start', 'billing_currency',
    'billing_period', 'billing_account_id', 'rule_id',
    'method', 'share_basis', 'driver_name', 'driver_quantity', 'service_path',
    'product_share', 'product', 'team',
    'feature_id', 'environment', 'service_code', 'component', 'source_effective_cost',
    'source_billed_cost',
] -%}
with

product_level as (

    select * from {{ ref('int_allocation__product_level') }}

),

customer_shares as (

    select * from {{ ref('int_allocation__customer_shares') }}

),

{#- a pool with customer shares of its own (OpenCost tenants) uses them, the rest '*' #}

own_share_drivers as (

    select distinct
        pool_driver,
        product,
        period_grain,
        period_start
    from customer_shares
    where pool_driver <> '*'

),

with_share_driver as (

    select
        product_level.*,
        coalesce(own_share_drivers.pool_driver, '*') as customer_share_driver
    from product_level
    left join own_share_drivers
        on
            product_level.driver_name = own_share_drivers.pool_driver
            and product_level.product = own_share_drivers.product
            and product_level.period_grain = own_share_drivers.period_grain
            and product_level.period_start = own_share_drivers.period_start

),

to_split as (

    select
        product_level.*,
        product_level.source_key || ':' || product_level.product as product_row_key,
        customer_shares.customer_driver_name,
        customer_shares.customer_id as split_customer_id,
        customer_shares.customer_share,
        product_level.allocated_effective_cost as product_effective_cost,
        product_level.allocated_billed_cost as product_billed_cost
    from with_share_driver as product_level
    inner join customer_shares
        on
            product_level.product = customer_shares.product
            and product_level.customer_share_driver = customer_shares.pool_driver
            and product_level.period_grain = customer_shares.period_grain
            and product_level.period_start = customer_shares.period_start
    where product_level.customer_id is null and product_level.unallocated_reason is null

),

split as (

    {{ largest_remainder(
        'to_split',
        ['product_effective_cost', 'product_billed_cost'],
        'customer_share',
        ['product_row_key'],
        'split_customer_id',
    ) }}

),

kept as (

    select
        *,
        cast(null as {{ dbt.type_string() }}) as customer_driver_name,
        1.0 as customer_share
    from product_level
    where not exists (
        select 1 from to_split
        where
            to_split.source_key = product_level.source_key
            and to_split.product = product_level.product
    )

),

final as (

    select
        {{ passthrough | join(',\n        ') }},
        unallocated_reason,
        split_customer_id as customer_id,
        allocated_product_effective_cost as allocated_effective_cost,
        allocated_product_billed_cost as allocated_billed_cost,
        customer_driver_name,
        customer_share
    from split

    union all

    select
        {{ passthrough | join(',\n        ') }},
        case
            when unallocated_reason is null and customer_id is null and product is not null
                then 'no_customer'
            else unallocated_reason
        end as unallocated_reason,
        customer_id,
        allocated_effective_cost,
        allocated_billed_cost,
        customer_driver_name,
        customer_share
    from kept

)

select * from final
