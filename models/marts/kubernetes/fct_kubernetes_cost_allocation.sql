{#-
    Each Kubernetes cluster's node cost from the bill, split by OpenCost down to the workload's
    labels: one row per (pool group, namespace, product, tenant, feature, team, environment),
    plus the cluster's idle capacity as its own row. The money is the cluster pool's bill cost
    (int_allocation__pool_costs of a pool whose driver is opencost:<cluster>); OpenCost's own
    dollars only set the shares, so a node is never counted twice. Per pool group the rows sum
    back to the pool's cost exactly (largest remainder). A pool group on a day without OpenCost
    data stays whole, with the reason no_opencost_data. The same money is in fct_cost_allocation
    at product and customer grain; this mart adds the namespace, feature, team and environment.
-#}
with

pool_costs as (

    select * from {{ ref('int_allocation__pool_costs') }}

),

pools as (

    select * from {{ ref('allocation_pools') }}

),

allocation_days as (

    select * from {{ ref('int_kubernetes__allocation_days') }}

),

cluster_pools as (

    select
        pool_costs.*,
        {{ dbt.replace('pools.driver', "'opencost:'", "''") }} as cluster
    from pool_costs
    inner join pools
        on pool_costs.pool_id = pools.pool_id
    where pools.driver like 'opencost:%'

),

workloads_by_day as (

    select
        cluster,
        allocation_date,
        namespace,
        product,
        customer_id,
        feature_id,
        team,
        environment,
        is_idle,
        sum(opencost_cost) as opencost_cost
    from allocation_days
    group by
        cluster,
        allocation_date,
        namespace,
        product,
        customer_id,
        feature_id,
        team,
        environment,
        is_idle

),

workloads as (

    select
        'day' as share_grain,
        allocation_date as period_start,
        *
    from workloads_by_day

    union all

    select
        'month' as share_grain,
        {{ month_start('allocation_date') }} as period_start,
        cluster,
        min(allocation_date) as allocation_date,
        namespace,
        product,
        customer_id,
        feature_id,
        team,
        environment,
        is_idle,
        sum(opencost_cost) as opencost_cost
    from workloads_by_day
    group by
        {{ month_start('allocation_date') }},
        cluster,
        namespace,
        product,
        customer_id,
        feature_id,
        team,
        environment,
        is_idle

),

to_split as (

    select
        cluster_pools.pool_group_key,
        cluster_pools.pool_id,
        cluster_pools.cluster,
        cluster_pools.share_grain,
        cluster_pools.period_start,
        cluster_pools.billing_currency,
        cluster_pools.service_code,
        cluster_pools.component,
        workloads.namespace,
        workloads.product,
        workloads.customer_id,
        workloads.feature_id,
        workloads.team,
        workloads.environment,
        workloads.is_idle,
        workloads.opencost_cost,
        workloads.opencost_cost / sum(workloads.opencost_cost) over (
            partition by cluster_pools.pool_group_key
        ) as share,
        {{ dbt.concat([
            "coalesce(workloads.namespace, '-')", "':'", "coalesce(workloads.product, '-')",
            "':'", "coalesce(workloads.customer_id, '-')", "':'",
            "coalesce(workloads.feature_id, '-')", "':'", "coalesce(workloads.team, '-')",
            "':'", "coalesce(workloads.environment, '-')", "':'",
            "case when workloads.is_idle then 'idle' else 'workload' end",
        ]) }} as workload_key,
        cluster_pools.pool_effective_cost,
        cluster_pools.pool_billed_cost
    from cluster_pools
    inner join workloads
        on
            cluster_pools.cluster = workloads.cluster
            and cluster_pools.share_grain = workloads.share_grain
            and cluster_pools.period_start = workloads.period_start
    where workloads.opencost_cost > 0

),

split as (

    {{ largest_remainder(
        'to_split',
        ['pool_effective_cost', 'pool_billed_cost'],
        'share',
        ['pool_group_key'],
        'workload_key',
    ) }}

),

unsplit as (

    select
        pool_group_key,
        pool_id,
        cluster,
        share_grain,
        period_start,
        billing_currency,
        service_code,
        component,
        cast(null as {{ dbt.type_string() }}) as namespace,
        cast(null as {{ dbt.type_string() }}) as product,
        cast(null as {{ dbt.type_string() }}) as customer_id,
        cast(null as {{ dbt.type_string() }}) as feature_id,
        cast(null as {{ dbt.type_string() }}) as team,
        cast(null as {{ dbt.type_string() }}) as environment,
        false as is_idle,
        cast(null as {{ type_double() }}) as opencost_cost,
        1.0 as share,
        'no_opencost_data' as workload_key,
        pool_effective_cost as allocated_effective_cost,
        pool_billed_cost as allocated_billed_cost
    from cluster_pools
    where not exists (
        select 1 from to_split
        where to_split.pool_group_key = cluster_pools.pool_group_key
    )

),

unioned as (

    select
        pool_group_key,
        pool_id,
        cluster,
        share_grain,
        period_start,
        billing_currency,
        service_code,
        component,
        namespace,
        product,
        customer_id,
        feature_id,
        team,
        environment,
        is_idle,
        opencost_cost,
        share,
        workload_key,
        allocated_pool_effective_cost as allocated_effective_cost,
        allocated_pool_billed_cost as allocated_billed_cost
    from split

    union all

    select * from unsplit

),

final as (

    select
        pool_group_key || ':' || workload_key as kubernetes_allocation_key,
        pool_group_key,
        pool_id,
        cluster,
        share_grain,
        period_start,
        {{ month_start('period_start') }} as cost_month,
        billing_currency,
        service_code,
        component,
        namespace,
        product,
        customer_id,
        feature_id,
        team,
        environment,
        is_idle,
        case
            when is_idle then 'idle_capacity'
            when workload_key = 'no_opencost_data' then 'no_opencost_data'
            when product is null then 'unattributed_workloads'
        end as unallocated_reason,
        opencost_cost,
        share,
        allocated_effective_cost,
        allocated_billed_cost
    from unioned

)

select * from final
