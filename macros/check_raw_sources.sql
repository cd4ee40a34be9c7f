{#-
    on-run-start: stop the build with one line when the raw tables the selected models read
    are missing (the warehouse was never set up: no `python -m ingest init`, nothing loaded),
    instead of one catalog error per staging model and source test. The loaders create every
    raw table on their first load and `init` creates them without data, so a missing table
    means the warehouse is new, or older than a source this version reads.
    DuckDB only: on Spark the raw tables are registered from Parquet by register_raw_sources.
-#}
{% macro check_raw_sources() -%}
    {{ return(adapter.dispatch('check_raw_sources', 'cost_to_serve')()) }}
{%- endmacro %}

{% macro default__check_raw_sources() -%}
    select 1
{%- endmacro %}

{% macro duckdb__check_raw_sources() -%}
    {%- if execute -%}
        {%- set needed = [] -%}
        {%- for node in graph.nodes.values() if node.unique_id in selected_resources -%}
            {%- for dep in node.depends_on.nodes if dep.startswith('source.') -%}
                {%- if dep not in needed -%}{%- do needed.append(dep) -%}{%- endif -%}
            {%- endfor -%}
        {%- endfor -%}
        {%- set raw = graph.sources.values() | selectattr('source_name', 'equalto', 'raw') | list -%}
        {%- set missing = [] -%}
        {%- for source in raw if source.unique_id in needed -%}
            {%- set found = adapter.get_relation(
                database=source.database, schema=source.schema, identifier=source.identifier) -%}
            {%- if found is none -%}
                {%- do missing.append(source.schema ~ '.' ~ source.identifier) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if missing -%}
            {%- set where = 'the warehouse ' ~ target.path -%}
            {%- if missing | length == raw | length -%}
                {%- set message = where ~ ' has no raw tables yet: run `python -m ingest init`'
                    ~ ' (or load a bill, e.g. `python -m ingest cur PATH`), then dbt build again' -%}
            {%- else -%}
                {%- set message = where ~ ' lacks the raw tables ' ~ missing | join(', ')
                    ~ ' (made by an older version?): run `python -m ingest init` to add them,'
                    ~ ' then dbt build again' -%}
            {%- endif -%}
            {{ exceptions.raise_compiler_error(message) }}
        {%- endif -%}
    {%- endif %}
    select 1
{%- endmacro %}
