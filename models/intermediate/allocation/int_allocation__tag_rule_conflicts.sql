{#- Resource signatures where two rules at the same (winning) priority give different values
    for one dimension. First-match would silently pick one; a test fails on any row here so a
    reviewer fixes the rules instead. -#}
with

rule_matches as (

    select * from {{ ref('int_allocation__rule_matches') }}

),

best as (

    select
        signature_id,
        dimension,
        min(priority) as best_priority
    from rule_matches
    group by signature_id, dimension

),

final as (

    select
        rule_matches.signature_id,
        rule_matches.dimension,
        rule_matches.priority,
        count(distinct rule_matches.matched_value) as n_values,
        string_agg(rule_matches.rule_id, ', ') as rule_ids
    from rule_matches
    inner join best
        on
            rule_matches.signature_id = best.signature_id
            and rule_matches.dimension = best.dimension
            and rule_matches.priority = best.best_priority
    group by rule_matches.signature_id, rule_matches.dimension, rule_matches.priority
    having count(distinct rule_matches.matched_value) > 1

)

select * from final
