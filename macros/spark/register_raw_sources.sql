{#-
    On engines that read files (Spark), the raw sources are the loaders' tables exported to
    Parquet (`python -m ingest export-parquet DIR`, one folder per table): on run start each
    source of `raw` is (re)registered as an external table over its folder, so a new export is
    picked up with its schema. On DuckDB the loaders write the raw tables directly: nothing to do.
-#}
{% macro register_raw_sources() -%}
    {{ return(adapter.dispatch('register_raw_sources', 'cost_to_serve')()) }}
{%- endmacro %}

{% macro default__register_raw_sources() -%}
    select 1
{%- endmacro %}

{% macro spark__register_raw_sources() -%}
    {%- set root = env_var('COST_MODEL_RAW_PARQUET', '') -%}
    {%- if execute and root -%}
        {%- do run_query('create database if not exists raw') -%}
        {%- for node in graph.sources.values() if node.source_name == 'raw' -%}
            {%- do run_query('drop table if exists raw.' ~ node.name) -%}
            {%- do run_query(
                'create table raw.' ~ node.name ~ " using parquet location '"
                ~ root ~ '/' ~ node.name ~ "'"
            ) -%}
        {%- endfor -%}
    {%- endif %}
    select 1
{%- endmacro %}
