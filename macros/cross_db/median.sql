{#- The median of a numeric expression, as an aggregate (portable: percentile_cont is the SQL
    standard's ordered-set aggregate; Spark spells it percentile). -#}
{% macro median(expr) -%}
    {{ return(adapter.dispatch('median', 'cost_to_serve')(expr)) }}
{%- endmacro %}

{% macro default__median(expr) -%}
    percentile_cont(0.5) within group (order by {{ expr }})
{%- endmacro %}

{% macro spark__median(expr) -%}
    percentile({{ expr }}, 0.5)
{%- endmacro %}
