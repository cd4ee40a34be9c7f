{#- A JSON object serialized as a string, from (key, sql expression, kind) triples; kind is
    'string' or 'number'. A null value leaves its key out (a FOCUS Key-Value or JSON object
    column lists what applies, never "key": null). Numbers are written as decimal(38, 12) with
    trailing zeros trimmed (0.25, 1, 12.5): one text on every engine, so a JSON column compares
    equal across DuckDB and Spark, where each engine's own double formatting would differ. -#}
{% macro json_object(fields) -%}
    {{ return(adapter.dispatch('json_object', 'cost_to_serve')(fields)) }}
{%- endmacro %}

{% macro default__json_object(fields) -%}
    concat('{', concat_ws(',',
    {%- for key, expr, kind in fields %}
        case when ({{ expr }}) is not null then concat('"{{ key }}":',
            {%- if kind == 'number' %} {{ json_number(expr) }}
            {%- else %} {{ json_string(expr) }}
            {%- endif %}) end{% if not loop.last %},{% endif %}
    {%- endfor %}
    ), '}')
{%- endmacro %}

{#- A JSON string literal (quoted, escaped) of a text expression. -#}
{% macro json_string(expr) -%}
    {{ return(adapter.dispatch('json_string', 'cost_to_serve')(expr)) }}
{%- endmacro %}

{#- Spark: to_json escapes like Jackson; take the value back out of {"v":...}. -#}
{% macro default__json_string(expr) -%}
    substr(
        to_json(named_struct('v', cast({{ expr }} as {{ dbt.type_string() }}))),
        6,
        length(to_json(named_struct('v', cast({{ expr }} as {{ dbt.type_string() }})))) - 6
    )
{%- endmacro %}

{% macro duckdb__json_string(expr) -%}
    cast(to_json(cast({{ expr }} as varchar)) as varchar)
{%- endmacro %}

{#- A JSON number of a numeric expression, at most 12 decimals, trailing zeros trimmed. -#}
{% macro json_number(expr) -%}
    {{ return(adapter.dispatch('json_number', 'cost_to_serve')(expr)) }}
{%- endmacro %}

{#- Spark: format_number writes the decimal plainly (with thousands separators, removed); a
    cast to string would write 0E-12 outside ANSI mode. -#}
{% macro default__json_number(expr) -%}
    regexp_replace(
        replace(format_number(cast({{ expr }} as decimal(38, 12)), 12), ',', ''), '[.]?0+$', ''
    )
{%- endmacro %}

{% macro duckdb__json_number(expr) -%}
    regexp_replace(cast(cast({{ expr }} as decimal(38, 12)) as varchar), '[.]?0+$', '')
{%- endmacro %}
