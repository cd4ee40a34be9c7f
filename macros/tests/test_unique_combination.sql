{#- Rows whose combination of `columns` appears more than once (composite-grain uniqueness). -#}
{% test unique_combination(model, columns) %}
    {{ return(adapter.dispatch('test_unique_combination', 'cost_to_serve')(model, columns)) }}
{% endtest %}

{% macro default__test_unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as n_rows
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endmacro %}
