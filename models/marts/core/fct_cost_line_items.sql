{#-
    The unified cost table: one row per delivered bill line from every source, in one
    FOCUS-aligned vocabulary, with billed (invoice), effective (amortized) and list cost.
    Grain: cost_line_key (load × file × row). Never aggregates, so every later number can be
    traced to a bill line. Money is never summed across billing_currency.

    Incremental by delivered partition (export × billing period): the loaders replace a whole
    partition when a bill is restated (a new day of a month restates the month), so a run
    rewrites only the partitions holding a load the table has not seen yet
    (macros/incremental/replace_changed_partitions.sql deletes them first); the rest of the
    history is left as it is. `dbt build --full-refresh` rebuilds everything.
-#}
{{ config(
    materialized='incremental',
    incremental_strategy=partition_strategy(),
    partition_by=partition_columns(['export_name', 'charge_billing_period']),
    pre_hook="{{ replace_changed_partitions(ref('int_cost__load_partitions')) }}",
    on_schema_change='fail',
) }}
{#- AWS lines come through their amortization step; the other sources as staged -#}
{%- set sources = ['int_aws_cur__line_items_amortized'] + cost_staging_models()[1:] -%}
{%- set line_columns = [
    'cost_line_key', 'source_system', 'source_line_id', 'provider', 'billing_account_id',
    'sub_account_id', 'billing_period', 'charge_billing_period', 'charge_period_start',
    'charge_period_end', 'charge_date', 'charge_category', 'charge_class', 'line_item_type',
    'service_code', 'service_name', 'region', 'availability_zone', 'resource_id', 'usage_type',
    'operation', 'charge_description', 'consumed_quantity', 'consumed_unit', 'billing_currency',
    'invoice_id', 'commitment_discount_id', 'billed_cost', 'effective_cost', 'list_cost',
] -%}
{%- set aws_only = {
    'net_billed_cost': 'billed_cost',
    'net_effective_cost': 'effective_cost',
    'is_unused_commitment': "coalesce(commitment_discount_status = 'Unused', false)",
    'is_split_cost_line': 'false',
    'split_parent_resource_id': 'cast(null as ' ~ dbt.type_string() ~ ')',
    'split_cost': 'cast(null as decimal(38, 12))',
    'split_unused_cost': 'cast(null as decimal(38, 12))',
} -%}
with

{% for model in sources %}
    {{ model }} as (

        select * from {{ ref(model) }}

    ),

{% endfor %}
unioned as (

    {% for model in sources %}
        select
            cost_line_key,
            '{{ model.split("__")[0].replace("stg_", "").replace("int_", "") }}' as source_system,
            source_line_id,
            provider,
            billing_account_id,
            sub_account_id,
            billing_period,
            charge_billing_period,
            charge_period_start,
            charge_period_end,
            cast(charge_period_start as date) as charge_date,
            charge_category,
            charge_class,
            line_item_type,
            service_code,
            service_name,
            region,
            availability_zone,
            resource_id,
            usage_type,
            operation,
            charge_description,
            consumed_quantity,
            consumed_unit,
            billing_currency,
            invoice_id,
            commitment_discount_id,
            cast(billed_cost as decimal(38, 12)) as billed_cost,
            cast(effective_cost as decimal(38, 12)) as effective_cost,
            cast(list_cost as decimal(38, 12)) as list_cost,
            {%- for column, fallback in aws_only.items() %}
                {{ column if model.startswith('int_aws_cur') else fallback }} as {{ column }},
            {%- endfor %}
            source_tags,
            export_name,
            load_id,
            source_file,
            source_row,
            loaded_at
        from {{ model }}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

tag_sets as (

    select * from {{ ref('int_cost__tag_sets') }}

),

{# tags normalised once per distinct tag map (int_cost__tag_sets), not once per line #}
final as (

    select
        {%- for column in line_columns + aws_only.keys() | list %}
            unioned.{{ column }},
        {%- endfor %}
        tag_sets.tags,
        unioned.export_name,
        unioned.load_id,
        unioned.source_file,
        unioned.source_row,
        unioned.loaded_at
    from unioned
    left join tag_sets
        on
            unioned.export_name = tag_sets.export_name
            and unioned.charge_billing_period = tag_sets.charge_billing_period
            and unioned.load_id = tag_sets.load_id
            and {{ signature_hash(['unioned.source_tags']) }} = tag_sets.tag_set_id
            and {{ maps_equal('unioned.source_tags', 'tag_sets.source_tags') }}
    {# in an incremental run: only the partitions the pre-hook just deleted #}
    {{ join_changed_partitions('unioned', ref('int_cost__load_partitions')) }}

)

select * from final
-- depends_on: {{ ref('int_cost__load_partitions') }}
