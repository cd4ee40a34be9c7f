{#- A double-precision float. dbt.type_float() is single precision (FLOAT4) on DuckDB, too
    coarse for ratios such as cost per request ($0.001). -#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'cost_to_serve')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    double
{%- endmacro %}

{% macro postgres__type_double() -%}
    double precision
{%- endmacro %}
