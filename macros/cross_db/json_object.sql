{#- A JSON object serialized as a string, from (key, sql expression, kind) triples; kind is
    'string' or 'number'. A null value leaves its key out (a FOCUS Key-Value or JSON object
    column lists what applies, never "key": null). A field may carry its number of decimals as
    a fourth item (default 12); numbers are written with trailing zeros trimmed (0.25, 1, 12.5):
    one text on every engine, so a JSON column compares equal across DuckDB and Spark, where
    each engine's own double formatting would differ. -#}
{% macro json_object(fields) -%}
    {{ return(adapter.dispatch('json_object', 'cost_to_serve')(fields)) }}
{%- endmacro %}

{% macro default__json_object(fields) -%}
    concat('{', concat_ws(',',
    {%- for field in fields %}
        {%- set key, expr, kind = field[0], field[1], field[2] %}
        case when ({{ expr }}) is not null then concat('"{{ key }}":',
            {%- if kind == 'number' %} {{ json_number(expr, field[3] if field | length > 3 else 12) }}
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

{#- A JSON number of a numeric expression: rounded to `decimals` places, trailing zeros trimmed.
    Built from the integer round(x × 10^decimals) with string functions, because the engines'
    own double → decimal casts differ: DuckDB scales in double arithmetic (5857887240 came out
    as 5857887240.00000049152 at 12 places), Spark rounds the exact binary value. The product
    and round() of a double are IEEE-exact and the same on both, and so is the text of an
    integer decimal. -#}
{% macro json_number(expr, decimals=12) -%}
    {%- set scaled = "cast(round((" ~ expr ~ ") * 1e" ~ decimals ~ ") as decimal(38, 0))" -%}
    {%- set text = "cast(abs(" ~ scaled ~ ") as " ~ dbt.type_string() ~ ")" -%}
    {#- lpad cuts a longer string: pad to at least decimals + 1 digits, never less than it has #}
    {%- set digits = "lpad(" ~ text ~ ", cast(greatest(length(" ~ text ~ "), " ~ (decimals + 1)
        ~ ") as integer), '0')" -%}
    concat(
        case when {{ scaled }} < 0 then '-' else '' end,
        substr({{ digits }}, 1, length({{ digits }}) - {{ decimals }}),
        regexp_replace(
            concat('.', substr({{ digits }}, length({{ digits }}) - {{ decimals - 1 }})),
            '[.]?0+$',
            ''
        )
    )
{%- endmacro %}
