{#-
    Every driver a pool can be split by, as (driver, grain, period, product, quantity):

    * usage metrics (requests, events, ...) from the usage export;
    * ClickHouse work (int_allocation__query_work_daily: finished or failed initial queries);
    * split_cost: EKS/ECS pods' split cost by product, for their parent nodes' pool;
    * opencost:<cluster>: each product's share of OpenCost's allocation of that cluster, for
      the cluster's node pool; OpenCost's idle capacity is the target `(idle)` and workloads
      without a product label `(unattributed)`, both kept as unallocated rows downstream;
    * direct_effective_cost: each product's direct spend (for cost-proportional pools).
    Tax, credits and unused commitment are never drivers.
    Each driver is given at day and at month grain.
-#}
with

usage_metrics as (

    select * from {{ ref('stg_usage__metrics') }}

),

query_work as (

    select * from {{ ref('int_allocation__query_work_daily') }}

),

cost_lines as (

    select * from {{ ref('fct_cost_line_items') }}

),

signature_costs as (

    select * from {{ ref('int_allocation__signature_costs') }}

),

kubernetes_days as (

    select * from {{ ref('int_kubernetes__allocation_days') }}

),

daily as (

    select
        metric as driver,
        usage_date as driver_date,
        product,
        sum(quantity) as quantity
    from usage_metrics
    where product is not null
    group by metric, usage_date, product

    union all

    select
        'read_bytes' as driver,
        event_date as driver_date,
        product,
        sum(read_bytes) as quantity
    from query_work
    group by event_date, product

    union all

    select
        'cpu_time_us' as driver,
        event_date as driver_date,
        product,
        sum(cpu_time_us) as quantity
    from query_work
    group by event_date, product

    union all

    select
        'duration_ms' as driver,
        event_date as driver_date,
        product,
        sum(duration_ms) as quantity
    from query_work
    group by event_date, product

    union all

    select
        'split_cost' as driver,
        charge_date as driver_date,
        {{ tag_value('tags', "'product'") }} as product,
        sum(split_cost + coalesce(split_unused_cost, 0)) as quantity
    from cost_lines
    where is_split_cost_line and {{ tag_value('tags', "'product'") }} is not null
    group by charge_date, {{ tag_value('tags', "'product'") }}

    union all

    select
        'opencost:' || cluster as driver,
        allocation_date as driver_date,
        case
            when is_idle then '(idle)' else coalesce(product, '(unattributed)')
        end as product,
        sum(opencost_cost) as quantity
    from kubernetes_days
    group by
        cluster,
        allocation_date,
        case
            when is_idle then '(idle)' else coalesce(product, '(unattributed)')
        end

    union all

    select
        'direct_effective_cost' as driver,
        charge_date as driver_date,
        product,
        sum(effective_cost) as quantity
    from signature_costs
    where allocation_path = 'direct'
    group by charge_date, product

),

final as (

    select
        driver,
        'day' as share_grain,
        driver_date as period_start,
        product,
        cast(quantity as double) as quantity
    from daily

    union all

    select
        driver,
        'month' as share_grain,
        {{ month_start('driver_date') }} as period_start,
        product,
        cast(sum(quantity) as double) as quantity
    from daily
    group by driver, {{ month_start('driver_date') }}, product

)

select * from final
