{#-
    The allocated cost each OTel service is calibrated against: the fct_cost_allocation rows of
    the product (and components) var feature_cost_model.shared_resources names for it, one row
    per (service, allocation row). An allocation row claimed by two services would be
    re-expressed twice; the unique test on allocation_key stops that.
-#}
with

allocation as (

    select * from {{ ref('fct_cost_allocation') }}
    where product is not null

),

shared_resources as (

    {{ feature_cost_rows('shared_resources') }}

),

final as (

    select
        shared_resources.service_name,
        allocation.allocation_key,
        allocation.cost_month,
        allocation.billing_currency,
        allocation.product,
        allocation.component,
        allocation.customer_id,
        allocation.allocated_effective_cost
    from allocation
    inner join shared_resources
        on
            allocation.product = shared_resources.product
            and (
                shared_resources.component is null
                or allocation.component = shared_resources.component
            )

)

select * from final
