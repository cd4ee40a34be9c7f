{#-
    Allocatable bill cost per resource signature × charge day × currency, within each delivered
    partition (export × billing period) and the bill (billing period = invoice month, billing
    account) its lines belong to: a refund for July on the November bill stays a November-bill
    row, so the allocation ties to each invoice as well as to each usage day. Rules depend only on a line's signature
    (var allocation_signature_columns), so every later step works on these ~35 k rows per
    million lines instead of on the lines; the lines stay one join away (int_allocation__lines).
    The signature columns are grouped on too, not only their hash: two signatures sharing a hash
    would surface as a duplicate signature_id in int_allocation__signatures, never merge.
    Split-cost pod lines are not allocatable. The provider rides along (one per billing account)
    for drivers scoped to a provider (int_allocation__drivers).

    Incremental like fct_cost_line_items, by delivered partition: a run rewrites only the
    partitions holding a load this table has not seen. Nothing here depends on the rule seeds,
    so a rule change never needs a full refresh; a change to allocation_signature_columns does
    (the columns change, and on_schema_change fails the run).
-#}
{{ config(
    materialized='incremental',
    incremental_strategy=partition_strategy(),
    partition_by=partition_columns(['export_name', 'charge_billing_period']),
    pre_hook="{{ replace_changed_partitions(ref('int_cost__load_partitions')) }}",
    on_schema_change='fail',
) }}
{%- set signature_columns = var('allocation_signature_columns') -%}
{%- set group_columns = [
    'export_name', 'charge_billing_period', 'load_id', 'billing_period', 'billing_account_id',
    'charge_date', 'billing_currency', 'provider',
] + signature_columns -%}
{#- tag maps are grouped by their key (macros/cross_db/map_grouping.sql) -#}
{%- set selected, grouped = [], [] -%}
{%- for column in group_columns -%}
    {%- set picked = map_of_group(column) ~ ' as ' ~ column if column == 'tags' else column -%}
    {%- do selected.append(picked) -%}
    {%- do grouped.append(map_group_key(column) if column == 'tags' else column) -%}
{%- endfor -%}
{%- set hashed = [] -%}
{%- for column in signature_columns -%}
    {%- do hashed.append(map_of_group(column) if column == 'tags' else column) -%}
{%- endfor -%}
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
        {{ signature_hash(hashed) }} as signature_id,
        {{ selected | join(',\n        ') }},
        count(*) as n_lines,
        sum(effective_cost) as effective_cost,
        sum(billed_cost) as billed_cost
    from cost_lines
    group by
        {{ grouped | join(',\n        ') }}

)

select * from final
-- depends_on: {{ ref('int_cost__load_partitions') }}
