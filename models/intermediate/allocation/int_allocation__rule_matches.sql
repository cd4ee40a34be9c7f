{#-
    Which rule of seeds/rules/allocation_tag_rules.csv matches which resource signature, with the
    value it gives. Sources are the vocabulary pools use too (macros/allocation/rule_match.sql,
    docs/rules.md): tag, tag:<key>, tag_equals key=value, account, service, usage_type,
    resource_id, charge_category, unused_commitment. Evaluated once per distinct signature
    (tags, account, service, usage type, resource, charge category), not per bill line.
-#}
with

tag_rules as (

    select * from {{ ref('allocation_tag_rules') }}

),

signatures as (

    select * from {{ ref('int_allocation__signatures') }}

),

rule_matches as (

    select
        signatures.signature_id,
        tag_rules.dimension,
        tag_rules.priority,
        tag_rules.rule_id,
        case
            when tag_rules.source = 'tag' and coalesce(tag_rules.output_value, '') = ''
                then {{ tag_value('signatures.tags', 'tag_rules.match') }}
            when {{ rule_matches_signature('tag_rules.source', 'tag_rules.match') }}
                then tag_rules.output_value
        end as matched_value
    from signatures
    cross join tag_rules

),

final as (

    select * from rule_matches
    where matched_value is not null

)

select * from final
