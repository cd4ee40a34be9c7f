{#-
    Which pool of seeds/rules/allocation_pools.csv matches which resource signature, ranked: per
    signature the pool with the lowest priority, then pool_id, is rank 1 (the one
    int_allocation__signature_paths gives a line without a product). Pools match with the same
    vocabulary as tag rules (macros/allocation/rule_match.sql, docs/rules.md). Two pools at the
    same priority on one unowned signature are an error of int_allocation__rule_checks, so the
    pool_id tie-break never decides silently.
-#}
{{ config(materialized='table') }}
with

pools as (

    select * from {{ ref('allocation_pools') }}

),

signatures as (

    select * from {{ ref('int_allocation__signatures') }}

),

final as (

    select
        signatures.signature_id,
        pools.pool_id,
        pools.priority,
        row_number() over (
            partition by signatures.signature_id
            order by pools.priority, pools.pool_id
        ) as pool_rank
    from signatures
    inner join pools
        on {{ rule_matches_signature('pools.match_source', 'pools.match_value') }}

)

select * from final
