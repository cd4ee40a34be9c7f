{#-
    Allocated cost per product, month and currency, split by how it got there (direct lines vs
    shared pools) and by cost component. Read from the allocation fact only, so every dollar
    here is a dollar of fct_cost_allocation; unallocated rows (no product) are left out and stay
    visible in the fact. Cost = effective (amortized) cost.
-#}
with

allocation as (

    select * from {{ ref('fct_cost_allocation') }}
    where product is not null

),

final as (

    select
        cost_month,
        product,
        billing_currency,
        sum(allocated_effective_cost) as total_cost,
        sum(case when source_kind = 'line_group' then allocated_effective_cost else 0 end)
            as direct_cost,
        sum(case when source_kind = 'pool_group' then allocated_effective_cost else 0 end)
            as shared_cost,
        {%- for component in var('cost_components') %}
            sum(case when component = '{{ component }}' then allocated_effective_cost else 0 end)
                as {{ component }}_cost,
        {%- endfor %}
        sum(allocated_billed_cost) as total_billed_cost
    from allocation
    group by
        cost_month,
        product,
        billing_currency

)

select * from final
