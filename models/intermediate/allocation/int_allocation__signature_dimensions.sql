{#-
    The winning value per resource signature and dimension: among the tag rules that matched
    (int_allocation__rule_matches), the one with the lowest priority, then rule id. One row per
    signature with product, team, customer_id, environment, feature_id and component.
-#}
with

rule_matches as (

    select * from {{ ref('int_allocation__rule_matches') }}

),

first_rule as (

    select
        signature_id,
        dimension,
        rule_id,
        matched_value,
        row_number() over (
            partition by signature_id, dimension
            order by priority, rule_id
        ) as rule_rank
    from rule_matches
    where matched_value is not null

),

final as (

    select
        signature_id,
        max(case when dimension = 'product' then matched_value end) as product,
        max(case when dimension = 'product' then rule_id end) as product_rule_id,
        max(case when dimension = 'team' then matched_value end) as team,
        max(case when dimension = 'customer_id' then matched_value end) as customer_id,
        max(case when dimension = 'environment' then matched_value end) as environment,
        max(case when dimension = 'feature_id' then matched_value end) as feature_id,
        max(case when dimension = 'component' then matched_value end) as component
    from first_rule
    where rule_rank = 1
    group by signature_id

)

select * from final
