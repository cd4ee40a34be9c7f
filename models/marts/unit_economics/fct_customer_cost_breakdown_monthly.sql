{#-
    Where each customer's cost comes from: per customer, month and currency, the allocated cost
    by product, cloud service and cost component. Sums to fct_customer_economics_monthly's
    total_cost per customer and month. Product cost no customer driver reached
    (unallocated_reason no_customer) is the '(unallocated)' customer, per product, so the
    rows of a product sum to its fct_product_economics_monthly.total_cost.
-#}
with

allocation as (

    select
        *,
        coalesce(customer_id, '(unallocated)') as cost_customer_id
    from {{ ref('fct_cost_allocation') }}
    where customer_id is not null or unallocated_reason = 'no_customer'

),

grouped as (

    select
        cost_month,
        cost_customer_id as customer_id,
        billing_currency,
        product,
        service_code,
        component,
        sum(allocated_effective_cost) as total_cost,
        sum(case when source_kind = 'line_group' then allocated_effective_cost else 0 end)
            as direct_cost
    from allocation
    group by
        cost_month,
        cost_customer_id,
        billing_currency,
        product,
        service_code,
        component

),

final as (

    select
        cost_month,
        customer_id,
        billing_currency,
        product,
        service_code,
        component,
        cast(total_cost as decimal(38, 12)) as total_cost,
        cast(direct_cost as decimal(38, 12)) as direct_cost,
        cast(total_cost - direct_cost as decimal(38, 12)) as shared_cost,
        {{ safe_ratio(
            'total_cost',
            'sum(total_cost) over '
            ~ '(partition by cost_month, customer_id, billing_currency)',
        ) }} as share_of_customer_cost
    from grouped

)

select * from final
