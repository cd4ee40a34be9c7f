{#-
    Conservation: sum(`column`) of the model equals sum(`compare_column`) of `compare_model`
    for every group of `group_by` (present on either side), within `tolerance` (default half a
    cent). Returns the groups that differ.
-#}
{% test sums_match(model, column, compare_model, compare_column, group_by, tolerance=0.005) %}
    {{ return(adapter.dispatch('test_sums_match', 'cost_to_serve')(
        model, column, compare_model, compare_column, group_by, tolerance)) }}
{% endtest %}

{% macro default__test_sums_match(model, column, compare_model, compare_column, group_by, tolerance) %}
with

model_totals as (
    select {{ group_by | join(', ') }}, sum({{ column }}) as model_total
    from {{ model }}
    group by {{ group_by | join(', ') }}
),

compare_totals as (
    select {{ group_by | join(', ') }}, sum({{ compare_column }}) as compare_total
    from {{ compare_model }}
    group by {{ group_by | join(', ') }}
),

joined as (
    select
        {% for key in group_by %}coalesce(m.{{ key }}, c.{{ key }}) as {{ key }},{% endfor %}
        coalesce(m.model_total, 0) as model_total,
        coalesce(c.compare_total, 0) as compare_total
    from model_totals as m
    full outer join compare_totals as c
        on {% for key in group_by %}m.{{ key }} is not distinct from c.{{ key }}{% if not loop.last %} and {% endif %}{% endfor %}
)

select *
from joined
where abs(model_total - compare_total) > {{ tolerance }}
{% endmacro %}
