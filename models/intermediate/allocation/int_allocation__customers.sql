{#-
    Products → customers. A product-level row without a customer is split across customers by
    the product's customer driver in the same period (largest remainder, so cents tie). Rows
    already tagged with a customer, residual rows, and products with no customer driver that
    period keep their single row (customer null = the product's own, not a customer's).
-#}
{%- set passthrough = [
    'source_kind', 'source_key', 'period_grain', 'period_start', 'billing_currency', 'rule_id',
    'method', 'share_basis', 'driver_name', 'driver_quantity', 'product_share', 'product', 'team',
    'feature_id', 'environment', 'service_code', 'component', 'unallocated_reason', 'source_effective_cost',
    'source_billed_cost',
] -%}
with

product_level as (

    select * from {{ ref('int_allocation__product_level') }}

),

customer_shares as (

    select * from {{ ref('int_allocation__customer_shares') }}

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
    from product_level
    inner join customer_shares
        on
            product_level.product = customer_shares.product
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
        cast(null as varchar) as customer_driver_name,
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
        split_customer_id as customer_id,
        allocated_product_effective_cost as allocated_effective_cost,
        allocated_product_billed_cost as allocated_billed_cost,
        customer_driver_name,
        customer_share
    from split

    union all

    select
        {{ passthrough | join(',\n        ') }},
        customer_id,
        allocated_effective_cost,
        allocated_billed_cost,
        customer_driver_name,
        customer_share
    from kept

)

select * from final
