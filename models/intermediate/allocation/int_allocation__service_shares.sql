{#-
    Pool shares with the service graph solved: a pool's driver may name another pool as a
    target (`pool:<pool_id>` in the driver's product column, e.g. a usage row of monitoring's
    metric whose product is `pool:clickhouse`). Such a share is not final: the target pool
    passes it on by its own shares, possibly back to the first pool (a cycle). This model
    replaces every pool's shares by the fractions of its cost that end at each final target
    (product, or an explicit residual), the reciprocal method: total_i = own_i + Σ a_ji total_j.

    Per graph (share_grain × period_start × billing_currency) each service pool is a node with
    the shares int_allocation__pool_shares gives its groups (the same for every group of one
    pool, period and currency). A unit of cost starts at each node that has service links and
    is walked hop by hop: at each hop the mass at a node goes to its final targets (absorbed)
    and to the pools it serves (carried on). Mass per (origin, first hop, current node, depth)
    is summed at each hop, so a hop costs at most n³ rows. The walk is unrolled
    var('service_max_hops') times, no recursive CTE: its step aggregates, which a recursive
    term may not do, and an unrolled chain of CTEs runs on every engine (dbt-spark too).
    Mass below 1e-18 is dropped. Where every node keeps a path to a final target, the mass
    still travelling shrinks geometrically (at 50 % passed on per hop, 64 hops leave 5e-20);
    more than 1e-9 of a unit left at a node that has an exit becomes `(not_converged)`, which
    tests/assert_service_walk_converged.sql fails on (raise var service_max_hops).

    Defined results (every unit ends somewhere):
      * self-service (`pool:<itself>`): the own share is removed and the rest scaled up; a
        pool whose only target is itself → `(self_service_only)`;
      * a link to a pool without shares that period (no cost, zero driver with fallback
        `unallocated`, a residual pool, another share_grain) → `(no_service_driver)`;
      * mass still travelling after the last hop with > 1e-9 of a unit: it is caught in a
        cycle with no way out to a product → `(no_path_to_product)`.
    Each final row keeps its hop paths in service_path: "monitoring → clickhouse → search
    38.12%" (origin first; a walk of more than two hops shows its first and last pool, "…"
    between), the percentages being of the pool's cost. Groups of pools without service links
    keep their pool shares row for row (service_path null). Cents are split downstream
    (int_allocation__shared) by largest remainder per pool group, so every hop ties exactly.
-#}
{%- set max_hops = var('service_max_hops', 64) -%}
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

node_shares as (

    select * from {{ ref('int_allocation__service_nodes') }}

),

service_nodes as (

    select
        graph_key,
        pool_id,
        max(self_share) as self_share,
        max(share_basis) as share_basis,
        max(driver_name) as driver_name
    from node_shares
    where is_service_node
    group by graph_key, pool_id

),

{#- what one unit at a node does in one hop, self-service taken out #}

hop_shares as (

    select
        graph_key,
        pool_id,
        case
            when target_pool_id is null then product
            when not target_has_shares then '(no_service_driver)'
        end as product,
        case when target_has_shares then target_pool_id end as next_pool_id,
        share / (1 - coalesce(self_share, 0)) as share
    from node_shares
    where
        coalesce(target_pool_id, '') <> pool_id
        and coalesce(self_share, 0) < 1 - 1e-12

    union all

    select
        graph_key,
        pool_id,
        '(self_service_only)' as product,
        cast(null as {{ dbt.type_string() }}) as next_pool_id,
        1.0 as share
    from service_nodes
    where self_share >= 1 - 1e-12

),

{#- The walk carries every unit's state, one row per (origin, first hop, last pool, final
    target, depth): at a pool (final target null) the mass moves on by the pool's hop shares,
    to a final target (absorbed, keeping the pool it left from) or to the next pool; absorbed
    mass is carried unchanged. Each hop reads the previous hop once, so the unrolled chain stays
    linear for every engine's planner (a union of every hop's absorbed mass would read each hop
    many times over). #}

walk_0 as (

    select
        graph_key,
        pool_id as origin_pool_id,
        cast(null as {{ dbt.type_string() }}) as first_pool_id,
        pool_id as last_pool_id,
        cast(null as {{ dbt.type_string() }}) as product,
        0 as depth,
        cast(1.0 as double) as mass
    from service_nodes

),

{#- sqlfluff cannot map the unrolled loops' indent back to this file #}
-- noqa: disable=LT02
{%- for hop in range(1, max_hops + 1) %}

walk_{{ hop }} as (

    select
        walk.graph_key,
        walk.origin_pool_id,
        coalesce(walk.first_pool_id, hop.next_pool_id) as first_pool_id,
        coalesce(hop.next_pool_id, walk.last_pool_id) as last_pool_id,
        coalesce(walk.product, hop.product) as product,
        case
            when hop.next_pool_id is null then walk.depth
            when walk.depth >= 3 then 3
            else walk.depth + 1
        end as depth,
        sum(walk.mass * coalesce(hop.share, 1.0)) as mass
    from walk_{{ hop - 1 }} as walk
    left join hop_shares as hop
        on
            walk.product is null
            and walk.graph_key = hop.graph_key
            and walk.last_pool_id = hop.pool_id
    group by
        walk.graph_key,
        walk.origin_pool_id,
        coalesce(walk.first_pool_id, hop.next_pool_id),
        coalesce(hop.next_pool_id, walk.last_pool_id),
        coalesce(walk.product, hop.product),
        case
            when hop.next_pool_id is null then walk.depth
            when walk.depth >= 3 then 3
            else walk.depth + 1
        end
    having sum(walk.mass * coalesce(hop.share, 1.0)) > 1e-18

),
{%- endfor %}
-- noqa: enable=LT02

walked as (

    select * from walk_{{ max_hops }}

),

{#- a node has an exit when some of its own unit reached a final target #}

exits as (

    select distinct
        origin_pool_id as pool_id,
        graph_key
    from walked
    where product is not null and mass > 1e-9

),

absorbed as (

    select
        graph_key,
        origin_pool_id,
        first_pool_id,
        last_pool_id as current_pool_id,
        depth,
        product,
        mass
    from walked
    where product is not null

    union all

    select
        walked.graph_key,
        walked.origin_pool_id,
        walked.first_pool_id,
        walked.last_pool_id as current_pool_id,
        walked.depth,
        case
            when exits.pool_id is null then '(no_path_to_product)' else '(not_converged)'
        end as product,
        walked.mass
    from walked
    left join exits
        on
            walked.graph_key = exits.graph_key
            and walked.last_pool_id = exits.pool_id
    where walked.product is null and walked.mass > 1e-9

),

paths as (

    select
        graph_key,
        origin_pool_id,
        product,
        case
            when depth = 0 then origin_pool_id
            when depth = 1 then origin_pool_id || ' → ' || current_pool_id
            when depth = 2
                then origin_pool_id || ' → ' || first_pool_id || ' → ' || current_pool_id
            else origin_pool_id || ' → ' || first_pool_id || ' → … → ' || current_pool_id
        end || ' → ' || product as hop_path,
        sum(mass) as portion
    from absorbed
    group by
        graph_key,
        origin_pool_id,
        product,
        case
            when depth = 0 then origin_pool_id
            when depth = 1 then origin_pool_id || ' → ' || current_pool_id
            when depth = 2
                then origin_pool_id || ' → ' || first_pool_id || ' → ' || current_pool_id
            else origin_pool_id || ' → ' || first_pool_id || ' → … → ' || current_pool_id
        end || ' → ' || product

),

{#- the mass dropped below 1e-18 per hop (and a converged tail ≤ 1e-9) is scaled back in,
    so the final shares of a pool sum to 1 #}

origin_totals as (

    select
        graph_key,
        origin_pool_id,
        sum(portion) as total_portion
    from paths
    group by graph_key, origin_pool_id

),

resolved as (

    select
        paths.graph_key,
        paths.origin_pool_id,
        paths.product,
        sum(paths.portion) / max(origin_totals.total_portion) as share,
        {#- largest first; portions equal to 12 places (the same share computed in another
            order) fall back to the path, so every engine lists them alike #}
        {{ ordered_listagg(
            "paths.hop_path || ' ' || case when paths.portion < 0.00005 then '<0.01'"
            ~ " else cast(round(paths.portion * 100, 2) as " ~ dbt.type_string()
            ~ ") end || '%'",
            "'; '",
            ['-round(paths.portion, 12)', 'paths.hop_path'],
        ) }} as service_path
    from paths
    inner join origin_totals
        on
            paths.graph_key = origin_totals.graph_key
            and paths.origin_pool_id = origin_totals.origin_pool_id
    group by paths.graph_key, paths.origin_pool_id, paths.product

),

{#- the origin's own driver quantity for a product it reaches directly #}

own_quantities as (

    select
        graph_key,
        pool_id,
        product,
        driver_quantity
    from node_shares
    where target_pool_id is null

),

service_group_shares as (

    select
        group_nodes.pool_group_key,
        service_nodes.share_basis,
        service_nodes.driver_name,
        own_quantities.driver_quantity,
        resolved.product,
        resolved.share,
        resolved.service_path
    from group_nodes
    inner join service_nodes
        on
            group_nodes.graph_key = service_nodes.graph_key
            and group_nodes.pool_id = service_nodes.pool_id
    inner join resolved
        on
            group_nodes.graph_key = resolved.graph_key
            and group_nodes.pool_id = resolved.origin_pool_id
    left join own_quantities
        on
            resolved.graph_key = own_quantities.graph_key
            and resolved.origin_pool_id = own_quantities.pool_id
            and resolved.product = own_quantities.product

),

plain_group_shares as (

    select
        pool_shares.pool_group_key,
        pool_shares.share_basis,
        pool_shares.driver_name,
        pool_shares.driver_quantity,
        pool_shares.product,
        pool_shares.share,
        cast(null as {{ dbt.type_string() }}) as service_path
    from pool_shares
    inner join group_nodes
        on pool_shares.pool_group_key = group_nodes.pool_group_key
    where not exists (
        select 1 from service_nodes
        where
            service_nodes.graph_key = group_nodes.graph_key
            and service_nodes.pool_id = group_nodes.pool_id
    )

),

final as (

    select * from plain_group_shares
    union all
    select * from service_group_shares

)

select * from final
