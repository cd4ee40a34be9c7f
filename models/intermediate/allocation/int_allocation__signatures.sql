{#- The distinct resource signatures of all allocatable lines: tag rules and pool rules are
    evaluated once per signature, not once per bill line. -#}
{%- set signature_columns = var('allocation_signature_columns') -%}
with

signature_days as (

    select * from {{ ref('int_allocation__signature_days') }}

),

final as (

    select distinct
        signature_id,
        {{ signature_columns | join(', ') }}
    from signature_days

)

select * from final
