{#- Every allocatable bill line with the hash of its resource signature
    (var allocation_signature_columns), computed once: rule matching works per distinct
    signature, and lines join back by it. Split-cost pod lines are not allocatable. -#}
{%- set signature_columns = var('allocation_signature_columns') -%}
with

cost_lines as (

    select * from {{ ref('fct_cost_line_items') }}
    where not is_split_cost_line

),

final as (

    {#- only what later steps read: this table has one row per bill line #}
    select
        cost_line_key,
        charge_date,
        billing_currency,
        effective_cost,
        billed_cost,
        {{ signature_columns | join(',\n        ') }},
        {{ signature_hash(signature_columns) }} as signature_id
    from cost_lines

)

select * from final
