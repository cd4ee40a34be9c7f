{#- A 64-bit hash of several columns (maps included): rules are evaluated once per distinct
    resource signature instead of once per bill line. -#}
{% macro signature_hash(columns) -%}
    {{ return(adapter.dispatch('signature_hash', 'cost_to_serve')(columns)) }}
{%- endmacro %}

{% macro default__signature_hash(columns) -%}
    xxhash64({{ columns | join(', ') }})
{%- endmacro %}

{% macro duckdb__signature_hash(columns) -%}
    hash({{ columns | join(', ') }})
{%- endmacro %}
