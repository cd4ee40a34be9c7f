{#- Warnings of int_allocation__rule_checks (rules and pools that match nothing, or are
    shadowed on every line they match): printed with their messages, the build goes on. -#}
{{ config(severity='warn') }}
{%- set checks = load_relation(ref('int_allocation__rule_checks')) if execute else none -%}
{%- if checks is not none -%}
    {%- set found = run_query(
        "select message from " ~ checks
        ~ " where severity = 'warn' order by seed_file, message"
    ) -%}
    {%- if found.rows | length > 0 -%}
        {%- do exceptions.warn(
            found.rows | length ~ " warning(s) in the rule seeds:\n  "
            ~ found.columns[0].values() | join("\n  ")
        ) -%}
    {%- endif -%}
{%- endif %}
select * from {{ ref('int_allocation__rule_checks') }}
where severity = 'warn'
