{#-
    Every distinct tag map delivered by any cost source, normalised once per delivered partition
    (export × billing period × load; macros/cross_db/normalize_tag_keys.sql: one spelling per
    key). A bill repeats the same few thousand tag maps over millions of lines, so normalising
    per distinct map instead of per line takes the regex work off the hot path (1.8 s → 0.2 s
    per million CUR lines). fct_cost_line_items joins back on the partition, the map's hash and
    the map itself, so a hash collision can never swap two lines' tags. A partition without tags
    keeps one row with a null map, so it counts as seen.

    Incremental like fct_cost_line_items: a run reads only the partitions holding a load this
    table has not seen, instead of every line's tags.
-#}
{{ config(
    materialized='incremental',
    incremental_strategy=partition_strategy(),
    partition_by=partition_columns(['export_name', 'charge_billing_period']),
    pre_hook="{{ replace_changed_partitions(ref('int_cost__load_partitions')) }}",
    on_schema_change='fail',
) }}
{%- set sources = cost_staging_models() -%}
with

{% for model in sources %}
    {{ model }} as (

        select
            export_name,
            charge_billing_period,
            load_id,
            source_tags
        from {{ ref(model) }}

    ),

{% endfor %}
tag_maps as (

    {% for model in sources %}
        select
            {{ model }}.export_name,
            {{ model }}.charge_billing_period,
            {{ model }}.load_id,
            {{ map_of_group(model ~ '.source_tags') }} as source_tags
        from {{ model }}
        {{ join_changed_partitions(model, ref('int_cost__load_partitions')) }}
        group by
            {{ model }}.export_name,
            {{ model }}.charge_billing_period,
            {{ model }}.load_id,
            {{ map_group_key(model ~ '.source_tags') }}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

final as (

    select
        export_name,
        charge_billing_period,
        load_id,
        {{ signature_hash(['source_tags']) }} as tag_set_id,
        source_tags,
        {{ normalize_tag_keys('source_tags') }} as tags
    from tag_maps

)

select * from final
-- depends_on: {{ ref('int_cost__load_partitions') }}
