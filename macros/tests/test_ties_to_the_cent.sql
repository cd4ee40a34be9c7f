{#-
    A rounded copy of a monthly mart (the bi views) against the exact mart: the same rows, each
    once (joined on cost_month, `key` and billing_currency), and per month and currency each of
    `columns` sums to the exact mart's sum rounded to the cent. Returns the month, currency and
    column that break it ('rows' for a lost, extra or repeated row).
-#}
{% test ties_to_the_cent(model, compare_model, key, columns) %}
    {{ return(adapter.dispatch('test_ties_to_the_cent', 'cost_to_serve')(
        model, compare_model, key, columns)) }}
{% endtest %}

{% macro default__test_ties_to_the_cent(model, compare_model, key, columns) %}
with

pairs as (
    select
        exact.cost_month,
        exact.billing_currency,
        count(*) as exact_rows,
        count(rounded.cost_month) as rounded_rows
        {%- for column in columns %},
        round(sum(exact.{{ column }}), 2) as exact_{{ column }},
        sum(rounded.{{ column }}) as rounded_{{ column }}
        {%- endfor %}
    from {{ compare_model }} as exact
    left join {{ model }} as rounded
        on
            exact.cost_month = rounded.cost_month
            and exact.{{ key }} = rounded.{{ key }}
            and exact.billing_currency = rounded.billing_currency
    group by exact.cost_month, exact.billing_currency
),

counts as (
    select
        (select count(*) from {{ model }}) as n_rounded,
        (select count(*) from {{ compare_model }}) as n_exact
)

select cost_month, billing_currency, 'rows' as broken
from pairs
where exact_rows <> rounded_rows
union all
select null as cost_month, null as billing_currency, 'rows' as broken
from counts
where n_rounded <> n_exact
{%- for column in columns %}
union all
select cost_month, billing_currency, '{{ column }}' as broken
from pairs
where coalesce(exact_{{ column }}, 0) <> coalesce(rounded_{{ column }}, 0)
{%- endfor %}
{% endmacro %}
