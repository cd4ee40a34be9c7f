{#-
    Normalise a MAP(VARCHAR, VARCHAR) of tags so one key has one spelling:
    lower case, the `user:` / `user_` prefix of AWS cost-allocation tags dropped, any run of
    other characters folded to `_`. `Product`, `user:product` and `user_product` all become
    `product`. When two source keys collide, the first one (source order) wins, and empty values
    are dropped.
-#}
{% macro normalize_tag_keys(tags) -%}
    {{ return(adapter.dispatch('normalize_tag_keys', 'cost_to_serve')(tags)) }}
{%- endmacro %}

{% macro default__normalize_tag_keys(tags) -%}
    {{ exceptions.raise_compiler_error("normalize_tag_keys has no implementation for " ~ target.type) }}
{%- endmacro %}

{% macro duckdb__normalize_tag_keys(tags) -%}
    {%- set normalized -%}
        list_transform(
            list_filter(map_entries({{ tags }}), lambda e: coalesce(e.value, '') <> ''),
            lambda e: {
                'key': trim(
                    regexp_replace(
                        regexp_replace(lower(e.key), '^user[:_]', ''), '[^a-z0-9]+', '_', 'g'
                    ),
                    '_'
                ),
                'value': e.value
            }
        )
    {%- endset -%}
    map_from_entries(
        list_filter(
            {{ normalized }},
            lambda e, i: list_position(list_transform({{ normalized }}, lambda x: x.key), e.key) = i
        )
    )
{%- endmacro %}
