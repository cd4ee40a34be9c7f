{#-
    Pool groups → products. allocated = group cost × share, split by largest remainder so the
    cents tie exactly (macros/allocation/largest_remainder.sql). Groups with no shares (driver
    zero and fallback `unallocated`, or a `residual` pool) become one explicit row with the
    whole amount and a reason; so do ClickHouse work no product could be found for, and a
    Kubernetes cluster's idle capacity and unlabelled workloads (OpenCost driver). Pools that
    serve other pools are split by their solved shares (int_allocation__service_shares): the
    cost that passes through other pools lands on products in one step, with its hop path in
    service_path; what the service graph cannot place is a residual row with its reason.
-#}
with

pool_costs as (

    select * from {{ ref('int_allocation__pool_costs') }}

),

pools as (

    select * from {{ ref('allocation_pools') }}

),

shares as (

    select
        *,
        product || ':' || coalesce(service_path, '') as target_key
    from {{ ref('int_allocation__service_shares') }}

),

to_split as (

    select
        pool_costs.pool_group_key,
        pool_costs.pool_id,
        pool_costs.share_grain,
        pool_costs.period_start,
        pool_costs.billing_currency,
        pool_costs.billing_period,
        pool_costs.billing_account_id,
        pool_costs.service_code,
        pool_costs.component,
        pools.method,
        shares.share_basis,
        shares.driver_name,
        shares.driver_quantity,
        shares.product,
        shares.share,
        shares.service_path,
        shares.target_key,
        pool_costs.pool_effective_cost as source_effective_cost,
        pool_costs.pool_billed_cost as source_billed_cost
    from pool_costs
    inner join pools
        on pool_costs.pool_id = pools.pool_id
    inner join shares
        on pool_costs.pool_group_key = shares.pool_group_key

),

split as (

    {{ largest_remainder(
        'to_split',
        ['source_effective_cost', 'source_billed_cost'],
        'share',
        ['pool_group_key'],
        'target_key',
    ) }}

),

allocated as (

    select
        pool_group_key,
        pool_id,
        share_grain,
        period_start,
        billing_currency,
        billing_period,
        billing_account_id,
        service_code,
        component,
        case
            when share_basis = 'even' then 'even'
            when method = 'cost_proportional' then 'cost_proportional'
            else 'driver'
        end as method,
        share_basis,
        driver_name,
        driver_quantity,
        case
            when product in (
                '(unattributed)', '(idle)', '(no_service_driver)', '(self_service_only)',
                '(no_path_to_product)', '(not_converged)'
            ) then null
            else product
        end as product,
        case
            when product = '(idle)' then 'idle_capacity'
            when product in (
                '(no_service_driver)', '(self_service_only)', '(no_path_to_product)',
                '(not_converged)'
            ) then substring(product, 2, length(product) - 2)
            when product = '(unattributed)' and driver_name like 'opencost:%'
                then 'unattributed_workloads'
            when product = '(unattributed)' then 'unattributed_queries'
        end as unallocated_reason,
        share,
        service_path,
        source_effective_cost,
        source_billed_cost,
        allocated_source_effective_cost as allocated_effective_cost,
        allocated_source_billed_cost as allocated_billed_cost
    from split

),

unsplit as (

    select
        pool_costs.pool_group_key,
        pool_costs.pool_id,
        pool_costs.share_grain,
        pool_costs.period_start,
        pool_costs.billing_currency,
        pool_costs.billing_period,
        pool_costs.billing_account_id,
        pool_costs.service_code,
        pool_costs.component,
        'residual' as method,
        'unallocated' as share_basis,
        pools.driver as driver_name,
        cast(null as double) as driver_quantity,
        cast(null as {{ dbt.type_string() }}) as product,
        case
            when pools.method = 'residual' then pools.pool_id else 'no_driver'
        end as unallocated_reason,
        1.0 as share,
        cast(null as {{ dbt.type_string() }}) as service_path,
        pool_costs.pool_effective_cost as source_effective_cost,
        pool_costs.pool_billed_cost as source_billed_cost,
        pool_costs.pool_effective_cost as allocated_effective_cost,
        pool_costs.pool_billed_cost as allocated_billed_cost
    from pool_costs
    inner join pools
        on pool_costs.pool_id = pools.pool_id
    where not exists (
        select 1 from shares
        where shares.pool_group_key = pool_costs.pool_group_key
    )

),

final as (

    select * from allocated
    union all
    select * from unsplit

)

select * from final
