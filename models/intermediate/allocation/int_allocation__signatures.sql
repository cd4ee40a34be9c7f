{#- The distinct resource signatures of all allocatable lines: tag rules and pool rules are
    evaluated once per signature, not once per bill line. -#}
{%- set signature_columns = var('allocation_signature_columns') -%}
with

lines as (

    select * from {{ ref('int_allocation__line_signatures') }}

),

final as (

    select distinct
        signature_id,
        {{ signature_columns | join(', ') }}
    from lines

)

select * from final
