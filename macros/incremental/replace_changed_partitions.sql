{#-
    Pre-hook of an incremental model kept per delivered partition (by default a cost export ×
    billing period; query_log tables use hostname × event date): delete the partitions holding a
    load the model has not seen yet (a new delivery, a restated month, a correction of a closed
    one), so the model's run inserts them again whole.

    dbt's own delete+insert joins the new rows to the target on the key; with a partition key
    that is many rows × many rows (100 k new lines × 100 k old = 10^10 pairs, 137 s at 10 M
    lines). Deleting by the distinct changed partitions is one semi-join. Runs in the model's
    transaction: a failed insert leaves the table as it was.
-#}
{% macro replace_changed_partitions(
    partitions_relation, partition_by=['export_name', 'charge_billing_period']
) -%}
    {#- engines that overwrite partitions (insert_overwrite, see partition_strategy) skip it -#}
    {%- if is_incremental() and partition_strategy() == 'append' -%}
        delete from {{ this }} as target
        where exists (
            select 1
            from {{ changed_partitions(partitions_relation, partition_by) }} as changed
            where
                {%- for column in partition_by %}
                    changed.{{ column }} = target.{{ column }}
                    {%- if not loop.last %} and{% endif %}
                {%- endfor %}
        )
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- The partitions (`partition_by` columns) of `partitions_relation` (those columns + load_id)
    with a load that the model's table does not hold, and the partitions the table holds from a
    load that no longer holds them (a bill taken over by another export with `--replace`). -#}
{% macro changed_partitions(
    partitions_relation, partition_by=['export_name', 'charge_billing_period']
) -%}
    (
        select distinct
            {{ partition_by | join(', ') }}
        from {{ partitions_relation }} as partitions
        where not exists (
            select 1
            from (select distinct load_id from {{ this }}) as held
            where held.load_id = partitions.load_id
        )
        union
        select distinct
            {{ partition_by | join(', ') }}
        from {{ this }} as gone
        where not exists (
            select 1
            from {{ partitions_relation }} as current_loads
            where
                current_loads.load_id = gone.load_id
                {%- for column in partition_by %}
                    and current_loads.{{ column }} = gone.{{ column }}
                {%- endfor %}
        )
    )
{%- endmacro %}

{#- In an incremental run, keep only the rows of `alias` in the partitions the pre-hook just
    deleted (an inner join on `partition_by`); in a full build, nothing. -#}
{% macro join_changed_partitions(
    alias, partitions_relation, partition_by=['export_name', 'charge_billing_period']
) -%}
    {%- if is_incremental() %}
        inner join {{ changed_partitions(partitions_relation, partition_by) }} as changed_partitions
            on
                {%- for column in partition_by %}
                    {{ alias }}.{{ column }} = changed_partitions.{{ column }}
                    {%- if not loop.last %} and{% endif %}
                {%- endfor %}
    {%- endif %}
{%- endmacro %}

{#- How an incremental model replaces its changed partitions on this engine: DuckDB (and any
    engine with DELETE) deletes them in the pre-hook and appends; Spark's Parquet tables have no
    DELETE, so they are partitioned by `partition_by` and overwritten (insert_overwrite). Use as
    config(incremental_strategy=partition_strategy(), partition_by=partition_columns([...])). -#}
{% macro partition_strategy() -%}
    {{ return(adapter.dispatch('partition_strategy', 'cost_to_serve')()) }}
{%- endmacro %}

{% macro default__partition_strategy() -%}
    {{ return('append') }}
{%- endmacro %}

{#- dbt-databricks falls back to spark__ macros, so it overwrites partitions too -#}
{% macro spark__partition_strategy() -%}
    {{ return('insert_overwrite') }}
{%- endmacro %}

{% macro partition_columns(columns) -%}
    {{ return(columns if partition_strategy() == 'insert_overwrite' else none) }}
{%- endmacro %}
