{#- The value of tag `key` in a MAP(VARCHAR, VARCHAR) column, or null when absent or empty. -#}
{% macro tag_value(tags, key) -%}
    {{ return(adapter.dispatch('tag_value', 'cost_to_serve')(tags, key)) }}
{%- endmacro %}

{% macro default__tag_value(tags, key) -%}
    nullif(element_at({{ tags }}, {{ key }}), '')
{%- endmacro %}

{% macro duckdb__tag_value(tags, key) -%}
    nullif(map_extract_value({{ tags }}, {{ key }}), '')
{%- endmacro %}

{#- The value under `key` in any MAP column (null when absent), typed as the map's values:
    for numeric maps such as ClickHouse's ProfileEvents. -#}
{% macro map_value(map_column, key) -%}
    {{ return(adapter.dispatch('map_value', 'cost_to_serve')(map_column, key)) }}
{%- endmacro %}

{% macro default__map_value(map_column, key) -%}
    element_at({{ map_column }}, {{ key }})
{%- endmacro %}

{% macro duckdb__map_value(map_column, key) -%}
    map_extract_value({{ map_column }}, {{ key }})
{%- endmacro %}
