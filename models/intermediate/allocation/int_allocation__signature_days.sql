{#-
    Allocatable bill cost per resource signature × charge day × currency, within each delivered
    partition (export × billing period). Rules depend only on a line's signature
    (var allocation_signature_columns), so every later step works on these ~35 k rows per
    million lines instead of on the lines; the lines stay one join away (int_allocation__lines).
    The signature columns are grouped on too, not only their hash: two signatures sharing a hash
    would surface as a duplicate signature_id in int_allocation__signatures, never merge.
    Split-cost pod lines are not allocatable.

    Incremental like fct_cost_line_items, by delivered partition: a run rewrites only the
    partitions holding a load this table has not seen. Nothing here depends on the rule seeds,
    so a rule change never needs a full refresh; a change to allocation_signature_columns does
    (the columns change, and on_schema_change fails the run).
-#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ replace_changed_partitions(ref('int_cost__load_partitions')) }}",
    on_schema_change='fail',
) }}
{%- set signature_columns = var('allocation_signature_columns') -%}
{%- set group_columns = [
    'export_name', 'charge_billing_period', 'load_id', 'charge_date', 'billing_currency',
] + signature_columns -%}
with

allocatable_lines as (

    select * from {{ ref('fct_cost_line_items') }}
    where not is_split_cost_line

),

cost_lines as (

    {# qualified: it is a join when incremental #}
    select allocatable_lines.*  -- noqa: RF03
    from allocatable_lines
    {# in an incremental run: only the partitions the pre-hook just deleted #}
    {{ join_changed_partitions('allocatable_lines', ref('int_cost__load_partitions')) }}

),

final as (

    select
        {{ signature_hash(signature_columns) }} as signature_id,
        {{ group_columns | join(',\n        ') }},
        count(*) as n_lines,
        sum(effective_cost) as effective_cost,
        sum(billed_cost) as billed_cost
    from cost_lines
    group by
        {{ group_columns | join(',\n        ') }}

)

select * from final
-- depends_on: {{ ref('int_cost__load_partitions') }}
