{#- First day of the month of a timestamp or date, as a DATE (portable). -#}
{% macro month_start(expr) -%}
    cast({{ dbt.date_trunc('month', expr) }} as date)
{%- endmacro %}
