{#-
    No node dollar lost or counted twice: per pool group of every OpenCost-split cluster pool,
    the Kubernetes mart's rows sum to the pool's bill cost exactly (effective and billed), and
    the mart has no money from anywhere else.
-#}
with

pool_costs as (

    select * from {{ ref('int_allocation__pool_costs') }}

),

pools as (

    select * from {{ ref('allocation_pools') }}

),

kubernetes as (

    select * from {{ ref('fct_kubernetes_cost_allocation') }}

),

expected as (

    select
        pool_costs.pool_group_key,
        pool_costs.pool_effective_cost,
        pool_costs.pool_billed_cost
    from pool_costs
    inner join pools
        on pool_costs.pool_id = pools.pool_id
    where pools.driver like 'opencost:%'

),

allocated as (

    select
        pool_group_key,
        sum(allocated_effective_cost) as allocated_effective_cost,
        sum(allocated_billed_cost) as allocated_billed_cost
    from kubernetes
    group by pool_group_key

),

final as (

    select
        coalesce(expected.pool_group_key, allocated.pool_group_key) as pool_group_key,
        expected.pool_effective_cost,
        allocated.allocated_effective_cost,
        expected.pool_billed_cost,
        allocated.allocated_billed_cost
    from expected
    full outer join allocated
        on expected.pool_group_key = allocated.pool_group_key
    where
        expected.pool_group_key is null
        or allocated.pool_group_key is null
        or expected.pool_effective_cost <> allocated.allocated_effective_cost
        or expected.pool_billed_cost <> allocated.allocated_billed_cost

)

select * from final
