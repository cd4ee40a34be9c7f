{#- A top-level string field of a JSON text column; null when the text is not valid JSON,
    so a malformed log_comment never fails the build (it becomes unattributed instead). -#}
{% macro json_string_field(text, field) -%}
    {{ return(adapter.dispatch('json_string_field', 'cost_to_serve')(text, field)) }}
{%- endmacro %}

{% macro default__json_string_field(text, field) -%}
    get_json_object({{ text }}, '$.{{ field }}')
{%- endmacro %}

{% macro duckdb__json_string_field(text, field) -%}
    case
        when json_valid({{ text }})
            then nullif(json_extract_string({{ text }}, '$.{{ field }}'), '')
    end
{%- endmacro %}
