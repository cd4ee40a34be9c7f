{#-
    Every resource signature with its dimensions and its allocation path.

    Dimensions (product, team, customer_id, environment, feature_id, component) come from the
    ordered rules in seeds/rules/allocation_tag_rules.csv: per signature and dimension, the matching
    rule with the lowest priority wins; a signature no component rule matches is `other`.
    Path: a signature with a product is `direct`; otherwise it joins the first pool of
    seeds/rules/allocation_pools.csv it matches (`pool`, int_allocation__pool_matches); otherwise
    it is `untagged`. Exactly one path per signature, and every bill line has one signature,
    so no line can be allocated twice.
-#}
{#- The rule checks run first: a failing check (tests/assert_rules_are_valid.sql) skips every
    model from here on instead of building numbers from a broken rule. -#}
-- depends_on: {{ ref('int_allocation__rule_checks') }}
with

signatures as (

    select * from {{ ref('int_allocation__signatures') }}

),

dimensions as (

    select * from {{ ref('int_allocation__signature_dimensions') }}

),

pool_matches as (

    select * from {{ ref('int_allocation__pool_matches') }}

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
