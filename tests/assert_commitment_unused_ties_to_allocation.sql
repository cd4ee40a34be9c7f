{#-
    The unused commitment the utilization mart shows is the allocation's unused_commitment
    bucket, per month and currency, to the cent: the same money seen twice, never counted
    twice. (Would a product tag on a commitment fee line allocate it directly, this test names
    the month.) The bucket is the residual pool matching unused commitment; with no such pool
    in seeds/rules/allocation_pools.csv there is no bucket to tie to: unused commitment is untagged.
-#}
with

unused_pools as (

    select pool_id
    from {{ ref('allocation_pools') }}
    where match_source = 'unused_commitment' and method = 'residual'

),

utilization as (

    select
        cost_month,
        billing_currency,
        sum(unused_commitment_cost) as unused_cost
    from {{ ref('fct_commitment_utilization_monthly') }}
    where exists (select 1 from unused_pools)
    group by cost_month, billing_currency

),

allocation as (

    select
        cost_month,
        billing_currency,
        sum(allocated_effective_cost) as unused_cost
    from {{ ref('fct_cost_allocation') }}
    where unallocated_reason in (select unused_pools.pool_id from unused_pools)
    group by cost_month, billing_currency

),

compared as (

    select
        coalesce(utilization.cost_month, allocation.cost_month) as cost_month,
        coalesce(utilization.billing_currency, allocation.billing_currency) as billing_currency,
        coalesce(utilization.unused_cost, 0) as mart_unused_cost,
        coalesce(allocation.unused_cost, 0) as allocation_unused_cost
    from utilization
    full outer join allocation
        on
            utilization.cost_month = allocation.cost_month
            and utilization.billing_currency = allocation.billing_currency

),

final as (

    select * from compared
    where abs(mart_unused_cost - allocation_unused_cost) >= 0.005

)

select * from final
