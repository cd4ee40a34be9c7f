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
