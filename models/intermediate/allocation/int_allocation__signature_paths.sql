{#-
    Every resource signature with its dimensions and its allocation path.

    Dimensions (product, team, customer_id, environment, feature_id, component) come from the
    ordered rules in seeds/allocation_tag_rules.csv: per signature and dimension, the matching
    rule with the lowest priority wins; a signature no component rule matches is `other`.
    Path: a signature with a product is `direct`; otherwise it joins the first pool of
    seeds/allocation_pools.csv it matches (`pool`); otherwise it is `untagged`. Exactly one path
    per signature, and every bill line has one signature, so no line can be allocated twice.
-#}
with

pools as (

    select * from {{ ref('allocation_pools') }}

),

signatures as (

    select * from {{ ref('int_allocation__signatures') }}

),

dimensions as (

    select * from {{ ref('int_allocation__signature_dimensions') }}

),

pool_matches as (

    select
        signatures.signature_id,
        pools.pool_id,
        row_number() over (
            partition by signatures.signature_id
            order by pools.priority, pools.pool_id
        ) as pool_rank
    from signatures
    inner join pools
        on
            (
                pools.match_source like 'tag:%'
                and {{ tag_value('signatures.tags', "substr(pools.match_source, 5)") }}
                = pools.match_value
            )
            or (
                pools.match_source = 'service_code'
                and signatures.service_code = pools.match_value
            )
            or (
                pools.match_source = 'usage_type'
                and signatures.usage_type like pools.match_value
            )
            or (
                pools.match_source = 'charge_category'
                and signatures.charge_category = pools.match_value
            )
            or (
                pools.match_source = 'unused_commitment'
                and signatures.is_unused_commitment
            )

),

final as (

    select
        signatures.signature_id,
        dimensions.product,
        dimensions.product_rule_id,
        dimensions.team,
        dimensions.customer_id,
        dimensions.environment,
        dimensions.feature_id,
        signatures.service_code,
        coalesce(dimensions.component, 'other') as component,
        case
            when dimensions.product is not null then 'direct'
            when pool_matches.pool_id is not null then 'pool'
            else 'untagged'
        end as allocation_path,
        case when dimensions.product is null then pool_matches.pool_id end as pool_id
    from signatures
    left join dimensions
        on signatures.signature_id = dimensions.signature_id
    left join pool_matches
        on
            signatures.signature_id = pool_matches.signature_id
            and pool_matches.pool_rank = 1

)

select * from final
