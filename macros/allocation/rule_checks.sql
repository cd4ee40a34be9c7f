{#- One error row per row of `relation` whose `column` is outside the vocabulary `allowed`:
    "<column> '<value>' is not a <noun><consequence>" and "use one of ...". `allow_when` is a
    condition under which a value outside the list is still right (e.g. tag:<key>). Used by
    int_allocation__rule_checks, so every vocabulary check reads and words alike. -#}
{% macro rule_vocabulary_problems(
    relation, seed_file, kind, id_column, column, allowed, noun,
    consequence='', fix=none, allow_when=none
) -%}
    select
        'error' as severity,
        '{{ seed_file }}' as seed_file,
        '{{ kind }} ' || {{ id_column }} as subject,
        {{ id_column }} as rule_id,
        '{{ column }}' as column_name,
        {{ column }} as bad_value,
        '{{ column }} ''' || coalesce({{ column }}, '')
        || ''' is not a {{ noun }}{{ consequence }}' as problem,
        cast(null as {{ dbt.type_string() }}) as example,
        '{{ fix or ("use one of " ~ allowed | join(", ")) }}' as fix
    from {{ relation }}
    where
        coalesce({{ column }}, '') not in ('{{ allowed | join("', '") }}')
        {%- if allow_when %}
            and not ({{ allow_when }})
        {%- endif %}
{%- endmacro %}
