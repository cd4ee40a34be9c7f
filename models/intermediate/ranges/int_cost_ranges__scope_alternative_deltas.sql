{#-
    How much each customer's and each feature's monthly cost moves when one pool is split by one
    of its alternative drivers instead of the rule's (int_cost_ranges__pool_alternatives), one
    row per scope × month × currency × pool alternative that touches it.
    * Customer: the product's alternative − rule amount × the customer's share of that product in
      the same period, the share the rule itself used (int_allocation__customers: the pool's own
      OpenCost tenant shares where it has them, else the product's customer driver '*'). A
      product no customer driver reached keeps its delta on the '(unallocated)' customer, which
      has no margin: no row here.
    * Feature: pool rows never carry a feature_id (int_allocation__product_level), so a pool's
      cost reaches a product's features only through its '(no feature)' row
      (fct_feature_economics_monthly). That row takes the product's whole delta; named features
      carry tagged direct cost only and their cost never moves.
    Each row's delta is a decimal to 12 places (the driver shares are doubles); the mart rounds
    only what it shows, to the cent.
-#}
with

alternatives as (

    select * from {{ ref('int_cost_ranges__pool_alternatives') }}

),

pools as (

    select * from {{ ref('allocation_pools') }}

),

customer_shares as (

    select * from {{ ref('int_allocation__customer_shares') }}

),

own_share_drivers as (

    select distinct
        pool_driver,
        product,
        period_grain,
        period_start
    from customer_shares
    where pool_driver <> '*'

),

product_deltas as (

    select
        alternatives.pool_id,
        alternatives.alternative_id,
        alternatives.share_grain,
        alternatives.period_start,
        {{ month_start('alternatives.period_start') }} as cost_month,
        alternatives.billing_currency,
        alternatives.product,
        coalesce(own_share_drivers.pool_driver, '*') as customer_share_driver,
        alternatives.alternative_delta
    from alternatives
    inner join pools
        on alternatives.pool_id = pools.pool_id
    left join own_share_drivers
        on
            pools.driver = own_share_drivers.pool_driver
            and alternatives.product = own_share_drivers.product
            and alternatives.share_grain = own_share_drivers.period_grain
            and alternatives.period_start = own_share_drivers.period_start

),

customer_deltas as (

    select
        product_deltas.cost_month,
        product_deltas.billing_currency,
        'customer' as scope_type,
        cast(null as {{ dbt.type_string() }}) as product,
        customer_shares.customer_id as scope,
        product_deltas.pool_id,
        product_deltas.alternative_id,
        sum(
            cast(
                product_deltas.alternative_delta * customer_shares.customer_share
                as decimal(38, 12)
            )
        ) as cost_delta
    from product_deltas
    inner join customer_shares
        on
            product_deltas.product = customer_shares.product
            and product_deltas.customer_share_driver = customer_shares.pool_driver
            and product_deltas.share_grain = customer_shares.period_grain
            and product_deltas.period_start = customer_shares.period_start
    group by
        product_deltas.cost_month,
        product_deltas.billing_currency,
        customer_shares.customer_id,
        product_deltas.pool_id,
        product_deltas.alternative_id

),

feature_deltas as (

    select
        cost_month,
        billing_currency,
        'feature' as scope_type,
        product,
        '(no feature)' as scope,
        pool_id,
        alternative_id,
        sum(cast(alternative_delta as decimal(38, 12))) as cost_delta
    from product_deltas
    group by
        cost_month,
        billing_currency,
        product,
        pool_id,
        alternative_id

),

final as (

    select * from customer_deltas
    union all
    select * from feature_deltas

)

select * from final
