{#-
    Every assumption behind the numbers, written from the rules themselves so it cannot drift
    from them: what is direct (tag rules), how each line gets its component, which proxy each
    shared pool uses and why, how product cost is split to customers, how volume is counted,
    which other drivers the ranges consider, and the conventions and exclusions of the model
    (seeds/common/model_conventions.csv). `python -m ingest assumptions` prints it as Markdown.
-#}
{%- set text = dbt.type_string() -%}
with

tag_rules as (

    select * from {{ ref('allocation_tag_rules') }}

),

pools as (

    select * from {{ ref('allocation_pools') }}

),

customer_drivers as (

    select * from {{ ref('customer_drivers') }}

),

products as (

    select * from {{ ref('products') }}

),

alternatives as (

    select * from {{ ref('allocation_pool_alternatives') }}

),

storage_parameters as (

    select * from {{ ref('storage_cost_parameters') }}

),

conventions as (

    select * from {{ ref('model_conventions') }}

),

rule_conditions as (

    select
        *,
        case source
            when 'tag' then 'the tag ' || match || ' is set'
            when 'tag_equals' then 'the tag ' || match
            when 'account' then 'the line is in account ' || match
            when 'service' then 'the service is ' || match
            when 'usage_type' then 'the usage type is like ' || match
            when 'resource_id' then 'the resource id is like ' || match
            when 'charge_category' then 'the charge category is ' || match
            else source || ' ' || match
        end as condition_text,
        coalesce(nullif(output_value, ''), 'the tag''s value') as value_text
    from tag_rules

),

assumptions as (

    select
        1 as topic_order,
        'direct' as topic,
        rule_id as subject,
        '{{ rules_file("allocation_tag_rules") }}' as rule_source,
        priority as rule_order,
        'When ' || condition_text || ', the line is 100 % ' || value_text
        || ' (direct; priority ' || cast(priority as {{ text }}) || ')' as statement,
        description as rationale
    from rule_conditions
    where dimension = 'product'

    union all

    select
        2 as topic_order,
        'dimension' as topic,
        rule_id as subject,
        '{{ rules_file("allocation_tag_rules") }}' as rule_source,
        priority as rule_order,
        'When ' || condition_text || ', ' || dimension || ' is ' || value_text
        || ' (priority ' || cast(priority as {{ text }}) || ')' as statement,
        description as rationale
    from rule_conditions
    where dimension not in ('product', 'component')

    union all

    select
        3 as topic_order,
        'component' as topic,
        rule_id as subject,
        '{{ rules_file("allocation_tag_rules") }}' as rule_source,
        priority as rule_order,
        'When ' || condition_text || ', the cost is ' || value_text
        || ' (priority ' || cast(priority as {{ text }}) || '; no match = other)' as statement,
        description as rationale
    from rule_conditions
    where dimension = 'component'

    union all

    select
        4 as topic_order,
        'shared_pool' as topic,
        pool_id as subject,
        '{{ rules_file("allocation_pools") }}' as rule_source,
        priority as rule_order,
        'Untagged lines where ' || match_source || ' matches ' || match_value
        || ' form the pool ' || pool_id || ', '
        || case method
            when 'residual' then 'kept unallocated as its own bucket'
            when 'even' then 'split evenly across the products with direct cost'
            else
                'split by each product''s share of ' || coalesce(driver, method)
                || coalesce(' (counting only ' || nullif(trim(driver_scope), '') || ')', '')
                || ' per ' || share_grain
                || '; with no driver in a period: ' || zero_driver_fallback
        end as statement,
        description as rationale
    from pools

    union all

    select
        5 as topic_order,
        'customer_split' as topic,
        product as subject,
        '{{ rules_file("customer_drivers") }}' as rule_source,
        0 as rule_order,
        product || ' cost without a customer tag is split to customers by their share of '
        || metric || ' in the same period' as statement,
        description as rationale
    from customer_drivers

    union all

    select
        6 as topic_order,
        'volume' as topic,
        product as subject,
        '{{ rules_file("products") }}' as rule_source,
        0 as rule_order,
        {#- unit_name and request_metric are optional: a blank one leaves its clause out
            (never the whole statement) -#}
        product || ' volume = Σ ' || unit_metric
        || coalesce(' (one ' || nullif(unit_name, '') || ' each)', '')
        || coalesce('; requests = Σ ' || nullif(request_metric, ''), '')
        || '; shared cost shows back to '
        || coalesce(owner_team, '(no owner)') as statement,
        description as rationale
    from products

    union all

    select
        7 as topic_order,
        'range' as topic,
        alternative_id as subject,
        '{{ rules_file("allocation_pool_alternatives") }}' as rule_source,
        0 as rule_order,
        'The range for pool ' || pool_id || ' also splits it by ' || driver as statement,
        description as rationale
    from alternatives

    union all

    select
        8 as topic_order,
        'storage_model' as topic,
        product as subject,
        '{{ rules_file("storage_cost_parameters") }}' as rule_source,
        0 as rule_order,
        product || ' stores '
        || case
            when avg_size_gb >= 1
                then cast(cast(avg_size_gb as decimal(18, 2)) as {{ text }}) || ' GB'
            when avg_size_gb >= 0.001
                then cast(cast(avg_size_gb * 1000 as decimal(18, 2)) as {{ text }}) || ' MB'
            else cast(cast(avg_size_gb * 1000000 as decimal(18, 2)) as {{ text }}) || ' KB'
        end
        || ' per unit for ' || cast(cast(retention_months as decimal(10, 1)) as {{ text }})
        || ' months at ' || cast(cast(storage_rate_per_gb_month as decimal(18, 4)) as {{ text }})
        || ' per GB-month (billing currency)' as statement,
        description as rationale
    from storage_parameters

    union all

    select
        case when topic = 'exclusion' then 10 else 9 end as topic_order,
        topic,
        convention_id as subject,
        'seeds/common/model_conventions.csv' as rule_source,
        0 as rule_order,
        statement,
        rationale
    from conventions

),

final as (

    select
        topic || ':' || subject as assumption_id,
        cast(topic_order as integer) as topic_order,
        topic,
        subject,
        rule_source,
        cast(rule_order as integer) as rule_order,
        statement,
        rationale
    from assumptions

)

select * from final
