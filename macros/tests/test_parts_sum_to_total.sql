{#-
    Row-level arithmetic invariant: on every row, Σ `parts` = `total` exactly (money columns are
    exact decimals, so no tolerance). Returns the rows that break it.
-#}
{% test parts_sum_to_total(model, parts, total) %}
    {{ return(adapter.dispatch('test_parts_sum_to_total', 'cost_to_serve')(model, parts, total)) }}
{% endtest %}

{% macro default__test_parts_sum_to_total(model, parts, total) %}
select *
from {{ model }}
where
    {{ total }} is null
    or {% for part in parts %}coalesce({{ part }}, 0){% if not loop.last %} + {% endif %}{% endfor %}
    <> {{ total }}
{% endmacro %}
