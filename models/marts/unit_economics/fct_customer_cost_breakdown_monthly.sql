{#-
    Where each customer's cost comes from: per customer, month and currency, the allocated cost
    by product, cloud service and cost component. Sums to fct_customer_economics_monthly's
    allocated_cost per customer and month.
-#}
with

allocation as (

    select * from {{ ref('fct_cost_allocation') }}
    where customer_id is not null

),

grouped as (

    select
        allocation_month,
        customer_id,
        billing_currency,
        product,
        service_code,
        component,
        sum(allocated_effective_cost) as allocated_cost,
        sum(case when source_kind = 'line_group' then allocated_effective_cost else 0 end)
            as direct_cost
    from allocation
    group by
        allocation_month,
        customer_id,
        billing_currency,
        product,
        service_code,
        component

),

final as (

    select
        allocation_month as economics_month,
        customer_id,
        billing_currency,
        product,
        service_code,
        component,
        cast(allocated_cost as decimal(38, 12)) as allocated_cost,
        cast(direct_cost as decimal(38, 12)) as direct_cost,
        cast(allocated_cost - direct_cost as decimal(38, 12)) as shared_cost,
        {{ safe_ratio(
            'allocated_cost',
            'sum(allocated_cost) over '
            ~ '(partition by allocation_month, customer_id, billing_currency)',
        ) }} as share_of_customer_cost
    from grouped

)

select * from final
