{#-
    Ranges, not false precision. For every pool with more than one plausible driver
    (seeds/rules/allocation_pool_alternatives.csv), the product's and customer's cost is recomputed
    under each driver. Per pool and month the cheapest and the dearest driver for the target
    are taken, and the differences to the rule's answer are added up over pools:
        low_cost  = total_cost + Σ_pools min(0, min over alternatives of (alternative − rule))
        high_cost = total_cost + Σ_pools max(0, max over alternatives of (alternative − rule))
    so the range covers every combination of declared drivers. Customers get their product's
    alternative amounts by the same customer shares the rule used
    (int_cost_ranges__scope_alternative_deltas: a pool with its own OpenCost tenant shares uses
    them, never also the product's customer driver). Rounded to the cent.
-#}
with

alternatives as (

    select * from {{ ref('int_cost_ranges__pool_alternatives') }}

),

customer_deltas as (

    select * from {{ ref('int_cost_ranges__scope_alternative_deltas') }}
    where scope_type = 'customer'

),

product_months as (

    select * from {{ ref('fct_product_economics_monthly') }}

),

customer_months as (

    select * from {{ ref('fct_customer_economics_monthly') }}

),

target_deltas as (

    select
        {{ month_start('period_start') }} as cost_month,
        billing_currency,
        'product' as scope_type,
        product as scope,
        pool_id,
        alternative_id,
        sum(alternative_delta) as delta
    from alternatives
    group by
        {{ month_start('period_start') }},
        billing_currency,
        product,
        pool_id,
        alternative_id

    union all

    {#- customers: the product's deltas by the customer shares the rule used (one set per
        pool: its own OpenCost tenant shares, else the product's customer driver) #}
    select
        cost_month,
        billing_currency,
        scope_type,
        scope,
        pool_id,
        alternative_id,
        cost_delta as delta
    from customer_deltas

),

pool_extremes as (

    select
        cost_month,
        billing_currency,
        scope_type,
        scope,
        pool_id,
        least(min(delta), 0) as low_delta,
        greatest(max(delta), 0) as high_delta
    from target_deltas
    group by
        cost_month,
        billing_currency,
        scope_type,
        scope,
        pool_id

),

extremes as (

    select
        cost_month,
        billing_currency,
        scope_type,
        scope,
        count(*) as pools_with_alternatives,
        sum(low_delta) as low_delta,
        sum(high_delta) as high_delta
    from pool_extremes
    group by
        cost_month,
        billing_currency,
        scope_type,
        scope

),

base_costs as (

    select
        cost_month,
        billing_currency,
        'product' as scope_type,
        product as scope,
        total_cost
    from product_months

    union all

    select
        cost_month,
        billing_currency,
        'customer' as scope_type,
        customer_id as scope,
        total_cost
    from customer_months

),

final as (

    select
        base_costs.cost_month,
        base_costs.scope_type,
        base_costs.scope,
        base_costs.billing_currency,
        cast(base_costs.total_cost as decimal(38, 12)) as total_cost,
        {{ money('round(base_costs.total_cost + coalesce(extremes.low_delta, 0), 2)') }}
            as low_cost,
        {{ money('round(base_costs.total_cost + coalesce(extremes.high_delta, 0), 2)') }}
            as high_cost,
        cast(coalesce(extremes.pools_with_alternatives, 0) as integer) as pools_with_alternatives
    from base_costs
    left join extremes
        on
            base_costs.cost_month = extremes.cost_month
            and base_costs.billing_currency = extremes.billing_currency
            and base_costs.scope_type = extremes.scope_type
            and base_costs.scope = extremes.scope

)

select * from final
