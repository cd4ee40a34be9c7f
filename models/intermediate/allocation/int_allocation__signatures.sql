{#- The distinct resource signatures of all allocatable lines: tag rules and pool rules are
    evaluated once per signature, not once per bill line. -#}
{%- set signature_columns = var('allocation_signature_columns') -%}
{#- tag maps are grouped by their key (macros/cross_db/map_grouping.sql) -#}
{%- set selected, grouped = [], [] -%}
{%- for column in signature_columns -%}
    {%- set picked = map_of_group(column) ~ ' as ' ~ column if column == 'tags' else column -%}
    {%- do selected.append(picked) -%}
    {%- do grouped.append(map_group_key(column) if column == 'tags' else column) -%}
{%- endfor -%}
with

signature_days as (

    select * from {{ ref('int_allocation__signature_days') }}

),

final as (

    select
        signature_id,
        {{ selected | join(',\n        ') }}
    from signature_days
    group by
        signature_id,
        {{ grouped | join(',\n        ') }}

)

select * from final
