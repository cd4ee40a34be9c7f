{#- A tag map built from (key, value expression) pairs, leaving out the null values: how a
    source without a native tag column (AI request logs) hands its dimensions to the tag rules. -#}
{% macro tag_map(pairs) -%}
    {{ return(adapter.dispatch('tag_map', 'cost_to_serve')(pairs)) }}
{%- endmacro %}

{% macro default__tag_map(pairs) -%}
    map_filter(
        map({% for key, value in pairs %}'{{ key }}', {{ value }}{% if not loop.last %}, {% endif %}{% endfor %}),
        (k, v) -> v is not null
    )
{%- endmacro %}

{% macro duckdb__tag_map(pairs) -%}
    map_from_entries(list_filter([
        {%- for key, value in pairs %}
            {'key': '{{ key }}', 'value': {{ value }}}{% if not loop.last %},{% endif %}
        {%- endfor %}
    ], lambda e: e.value is not null))
{%- endmacro %}
