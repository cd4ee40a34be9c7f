{#- Warnings of int_allocation__rule_checks (a metric with no usage, no usage loaded at all):
    printed with their messages, status warn, the build goes on. Notes (rules and pools that
    match nothing in this bill, or that another rule beats on every line) are printed too but
    leave the status pass: generic rules for data a bill lacks are normal. -#}
{{ config(severity='warn') }}
{%- set checks = load_relation(ref('int_allocation__rule_checks')) if execute else none -%}
{%- if checks is not none -%}
    {%- set found = run_query(
        "select severity, message from " ~ checks
        ~ " where severity in ('warn', 'note') order by severity desc, seed_file, message"
    ) -%}
    {%- set warnings = [] -%}
    {%- set notes = [] -%}
    {%- for row in found.rows -%}
        {%- do (warnings if row[0] == 'warn' else notes).append(row[1]) -%}
    {%- endfor -%}
    {%- if warnings -%}
        {%- do exceptions.warn(
            warnings | length ~ " warning(s) in the rule seeds:\n  " ~ warnings | join("\n  ")
        ) -%}
    {%- endif -%}
    {%- if notes -%}
        {%- do log(
            notes | length ~ " note(s) on the rule seeds (they change nothing on this bill;"
            ~ " `python -m ingest check-rules` shows every rule's coverage):\n  "
            ~ notes | join("\n  "), info=true
        ) -%}
    {%- endif -%}
{%- endif %}
select * from {{ ref('int_allocation__rule_checks') }}
where severity = 'warn'
