{#- A money column that is exact to the cent by construction (a decimal(38,2) seed, an amount
    rounded to the cent on purpose), typed so a BI tool shows 21.51 and 0.00 instead of
    21.510000000000 and 0E-12. Never for an amount that can carry sub-cent digits (bill lines,
    allocations and everything summed from them, loaded revenue): the cast would round money
    silently. decimal(38, 2) is the same type on DuckDB, Spark and Postgres. -#}
{% macro money(expr) -%}
    {{ return(adapter.dispatch('money', 'cost_to_serve')(expr)) }}
{%- endmacro %}

{% macro default__money(expr) -%}
    cast({{ expr }} as decimal(38, 2))
{%- endmacro %}
