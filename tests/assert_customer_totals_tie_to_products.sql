{#-
    Customer totals tie to product totals: no product cost may vanish between the product and
    the customer marts. Cost no customer driver reached is the '(unallocated)' customer, so,
    per month, currency and product (exact decimal equality):
      Σ fct_customer_cost_breakdown_monthly.total_cost = fct_product_economics_monthly.total_cost
    and per month and currency, the customer mart less the customer-tagged money no product took:
      Σ fct_customer_economics_monthly.total_cost − Σ fact (customer, no product)
        = Σ fct_product_economics_monthly.total_cost
    Returns one row per product (or '(all products)') and month that differs.
-#}
with

product_mart as (

    select * from {{ ref('fct_product_economics_monthly') }}

),

breakdown_mart as (

    select * from {{ ref('fct_customer_cost_breakdown_monthly') }}

),

customer_mart as (

    select * from {{ ref('fct_customer_economics_monthly') }}

),

allocation as (

    select * from {{ ref('fct_cost_allocation') }}

),

product_costs as (

    select
        cost_month,
        billing_currency,
        product,
        sum(total_cost) as amount
    from product_mart
    group by cost_month, billing_currency, product

),

breakdown_costs as (

    select
        cost_month,
        billing_currency,
        product,
        sum(total_cost) as amount
    from breakdown_mart
    where product is not null
    group by cost_month, billing_currency, product

),

by_product as (

    select
        coalesce(product_costs.cost_month, breakdown_costs.cost_month)
            as cost_month,
        coalesce(product_costs.billing_currency, breakdown_costs.billing_currency)
            as billing_currency,
        coalesce(product_costs.product, breakdown_costs.product) as product,
        coalesce(breakdown_costs.amount, 0) as customer_cost,
        coalesce(product_costs.amount, 0) as product_cost
    from product_costs
    full outer join breakdown_costs
        on
            product_costs.cost_month = breakdown_costs.cost_month
            and product_costs.billing_currency = breakdown_costs.billing_currency
            and product_costs.product = breakdown_costs.product

),

customer_totals as (

    select
        cost_month,
        billing_currency,
        sum(total_cost) as amount
    from customer_mart
    group by cost_month, billing_currency

    union all

    select
        cost_month,
        billing_currency,
        -sum(allocated_effective_cost) as amount
    from allocation
    where customer_id is not null and product is null
    group by cost_month, billing_currency

),

product_totals as (

    select
        cost_month,
        billing_currency,
        sum(amount) as amount
    from product_costs
    group by cost_month, billing_currency

),

customer_product_cost as (

    select
        cost_month,
        billing_currency,
        sum(amount) as amount
    from customer_totals
    group by cost_month, billing_currency

),

overall as (

    select
        coalesce(product_totals.cost_month, customer_product_cost.cost_month)
            as cost_month,
        coalesce(product_totals.billing_currency, customer_product_cost.billing_currency)
            as billing_currency,
        '(all products)' as product,
        coalesce(customer_product_cost.amount, 0) as customer_cost,
        coalesce(product_totals.amount, 0) as product_cost
    from product_totals
    full outer join customer_product_cost
        on
            product_totals.cost_month = customer_product_cost.cost_month
            and product_totals.billing_currency = customer_product_cost.billing_currency

),

final as (

    select * from by_product
    where customer_cost <> product_cost

    union all

    select * from overall
    where customer_cost <> product_cost

)

select * from final
