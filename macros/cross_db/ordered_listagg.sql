{#- The values of a string expression joined with a delimiter, in the order of sort_keys
    (a list of expressions, each ascending: negate a number for descending). Portable where
    dbt.listagg is not: Spark's listagg takes no order, so there the values are sorted as
    structs (keys first, the value last) and joined. -#}
{% macro ordered_listagg(measure, delimiter, sort_keys) -%}
    {{ return(adapter.dispatch('ordered_listagg', 'cost_to_serve')(measure, delimiter, sort_keys)) }}
{%- endmacro %}

{% macro default__ordered_listagg(measure, delimiter, sort_keys) -%}
    {{ dbt.listagg(measure, delimiter, 'order by ' ~ (sort_keys | join(', '))) }}
{%- endmacro %}

{% macro spark__ordered_listagg(measure, delimiter, sort_keys) -%}
    array_join(
        transform(
            sort_array(collect_list(named_struct(
                {%- for key in sort_keys %}
                'k{{ loop.index }}', {{ key }},
                {%- endfor %}
                'v', {{ measure }}
            ))),
            element -> element.v
        ),
        {{ delimiter }}
    )
{%- endmacro %}
