{#-
    Which rule of seeds/allocation_tag_rules.csv matches which resource signature, with the
    value it gives (rule sources: tag, tag_equals key=value, account, service, usage_type,
    resource_id, charge_category). Evaluated once per distinct signature (tags, account, service, usage type,
    resource, charge category), not per bill line.
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
            when
                tag_rules.source = 'tag'
                and {{ tag_value('signatures.tags', 'tag_rules.match') }} is not null
                then tag_rules.output_value
            when
                tag_rules.source = 'tag_equals'
                and {{ tag_value('signatures.tags', dbt.split_part('tag_rules.match', "'='", 1)) }}
                = {{ dbt.split_part('tag_rules.match', "'='", 2) }}
                then tag_rules.output_value
            when
                tag_rules.source = 'charge_category'
                and signatures.charge_category = tag_rules.match
                then tag_rules.output_value
            when
                tag_rules.source = 'account'
                and signatures.sub_account_id = tag_rules.match
                then tag_rules.output_value
            when
                tag_rules.source = 'service'
                and signatures.service_code = tag_rules.match
                then tag_rules.output_value
            when
                tag_rules.source = 'usage_type'
                and signatures.usage_type like tag_rules.match
                then tag_rules.output_value
            when
                tag_rules.source = 'resource_id'
                and signatures.resource_id like tag_rules.match
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
