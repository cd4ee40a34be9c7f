{#- One row per element of the JSON array at `path` in a JSON text column, each element as JSON
    text (a set-returning expression for a select list). Text that is not valid JSON, or has no
    array there, gives no row: callers that must not lose a row anti-join to find those. -#}
{% macro json_array_elements(text, path) -%}
    {{ return(adapter.dispatch('json_array_elements', 'cost_to_serve')(text, path)) }}
{%- endmacro %}

{% macro default__json_array_elements(text, path) -%}
    {#- Spark parses an object into a string field as its JSON text -#}
    explode(from_json(get_json_object({{ text }}, '{{ path }}'), 'array<string>'))
{%- endmacro %}

{% macro duckdb__json_array_elements(text, path) -%}
    unnest(
        case
            when json_valid({{ text }})
                then cast(json_extract({{ text }}, '{{ path }}') as json [])
        end
    )
{%- endmacro %}
