{#-
    Normalise a MAP(VARCHAR, VARCHAR) of tags so one key has one spelling:
    lower case, the `user:` / `user_` prefix of AWS cost-allocation tags dropped, any run of
    other characters folded to `_`. `Product`, `user:product` and `user_product` all become
    `product`. When two source keys collide, the first (source order) wins; empty values are
    dropped.

    On DuckDB the logic lives in a SQL macro created by `create_normalize_tags_function`
    (an on-run-start hook), so models and BI views call one named function.
-#}
{% macro normalize_tag_keys(tags) -%}
    {{ return(adapter.dispatch('normalize_tag_keys', 'cost_to_serve')(tags)) }}
{%- endmacro %}

{% macro default__normalize_tag_keys(tags) -%}
    {{ exceptions.raise_compiler_error("normalize_tag_keys has no implementation for " ~ target.type) }}
{%- endmacro %}

{% macro duckdb__normalize_tag_keys(tags) -%}
    main.normalize_tags({{ tags }})
{%- endmacro %}

{% macro create_normalize_tags_function() -%}
    {{ return(adapter.dispatch('create_normalize_tags_function', 'cost_to_serve')()) }}
{%- endmacro %}

{% macro default__create_normalize_tags_function() -%}
    select 1
{%- endmacro %}

{% macro duckdb__create_normalize_tags_function() -%}
    create or replace macro main.normalize_tags(tags) as (
        with entries as (
            select list_transform(
                list_filter(map_entries(tags), lambda e: coalesce(e.value, '') <> ''),
                lambda e: {
                    'key': trim(
                        regexp_replace(
                            regexp_replace(lower(e.key), '^user[:_]', ''), '[^a-z0-9]+', '_', 'g'
                        ),
                        '_'
                    ),
                    'value': e.value
                }
            ) as l
        )
        select map_from_entries(
            list_filter(
                l, lambda e, i: list_position(list_transform(l, lambda x: x.key), e.key) = i
            )
        )
        from entries
    )
{%- endmacro %}

{#- Spark: the same rules inline (no SQL macros); the first source key wins a collision. -#}
{% macro spark__normalize_tag_keys(tags) -%}
    aggregate(
        transform(
            filter(map_entries({{ tags }}), e -> coalesce(e.value, '') <> ''),
            e -> named_struct(
                'key', regexp_replace(
                    regexp_replace(regexp_replace(lower(e.key), '^user[:_]', ''), '[^a-z0-9]+', '_'),
                    '^_+|_+$', ''
                ),
                'value', e.value
            )
        ),
        cast(map() as map<string, string>),
        (acc, e) -> case
            when map_contains_key(acc, e.key) then acc
            else map_concat(acc, map(e.key, e.value))
        end
    )
{%- endmacro %}
