{#-
    The service graph's nodes, materialized once: one row per share of each pool's split per
    graph (share_grain × period_start × billing_currency), the target pool it names
    (`pool:<pool_id>`), whether that target has shares of its own in the graph, and for a pool
    that serves pools (a service node) the share it gives itself. int_allocation__service_shares
    walks the graph over this table: a table, not a CTE, so each of its unrolled hops reads
    a scan rather than this whole derivation again (Spark's planner runs out of memory
    otherwise).
-#}
with

pool_shares as (

    select * from {{ ref('int_allocation__pool_shares') }}

),

pool_costs as (

    select * from {{ ref('int_allocation__pool_costs') }}

),

group_nodes as (

    select distinct
        pool_group_key,
        pool_id,
        share_grain || ':' || cast(period_start as {{ dbt.type_string() }})
        || ':' || billing_currency as graph_key
    from pool_costs

),

{#- one group stands for its node: every group of a node has the same shares #}

node_groups as (

    select
        graph_key,
        pool_id,
        min(pool_group_key) as pool_group_key
    from group_nodes
    group by graph_key, pool_id

),

node_shares as (

    select
        node_groups.graph_key,
        node_groups.pool_id,
        pool_shares.share_basis,
        pool_shares.driver_name,
        pool_shares.driver_quantity,
        pool_shares.product,
        pool_shares.share,
        case
            when pool_shares.product like 'pool:%'
                then substring(pool_shares.product, 6, 200)
        end as target_pool_id
    from node_groups
    inner join pool_shares
        on node_groups.pool_group_key = pool_shares.pool_group_key

),

service_nodes as (

    select
        graph_key,
        pool_id,
        sum(
            case when target_pool_id = pool_id then share else 0 end
        ) as self_share,
        max(share_basis) as share_basis,
        max(driver_name) as driver_name
    from node_shares
    group by graph_key, pool_id
    having max(case when target_pool_id is not null then 1 else 0 end) = 1

),

nodes_with_shares as (

    select distinct
        graph_key,
        pool_id
    from node_shares

),

final as (

    select
        node_shares.graph_key,
        node_shares.pool_id,
        node_shares.share_basis,
        node_shares.driver_name,
        node_shares.driver_quantity,
        node_shares.product,
        node_shares.share,
        node_shares.target_pool_id,
        service_nodes.pool_id is not null as is_service_node,
        service_nodes.self_share,
        targets.pool_id is not null as target_has_shares
    from node_shares
    left join service_nodes
        on
            node_shares.graph_key = service_nodes.graph_key
            and node_shares.pool_id = service_nodes.pool_id
    left join nodes_with_shares as targets
        on
            node_shares.graph_key = targets.graph_key
            and node_shares.target_pool_id = targets.pool_id

)

select * from final
