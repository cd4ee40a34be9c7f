{#-
    Tag maps as grouping and join keys. DuckDB groups, compares and hashes MAP values directly.
    Spark cannot (no MAP in GROUP BY, DISTINCT, set operations or `=`), so there a map is keyed
    by its canonical text (entries sorted by key, as JSON) and carried through a GROUP BY with
    any_value; on DuckDB these macros are the map itself, so its plans do not change.
-#}
{% macro map_group_key(map_column) -%}
    {{ return(adapter.dispatch('map_group_key', 'cost_to_serve')(map_column)) }}
{%- endmacro %}

{% macro default__map_group_key(map_column) -%}
    to_json(array_sort(map_entries({{ map_column }})))
{%- endmacro %}

{% macro duckdb__map_group_key(map_column) -%}
    {{ map_column }}
{%- endmacro %}

{#- The map of a group that map_group_key() grouped on. -#}
{% macro map_of_group(map_column) -%}
    {{ return(adapter.dispatch('map_of_group', 'cost_to_serve')(map_column)) }}
{%- endmacro %}

{% macro default__map_of_group(map_column) -%}
    {{ dbt.any_value(map_column) }}
{%- endmacro %}

{% macro duckdb__map_of_group(map_column) -%}
    {{ map_column }}
{%- endmacro %}

{% macro maps_equal(left, right) -%}
    {{ return(adapter.dispatch('maps_equal', 'cost_to_serve')(left, right)) }}
{%- endmacro %}

{% macro default__maps_equal(left, right) -%}
    {{ map_group_key(left) }} = {{ map_group_key(right) }}
{%- endmacro %}

{% macro duckdb__maps_equal(left, right) -%}
    {{ left }} = {{ right }}
{%- endmacro %}
