{#- Every error of int_allocation__rule_checks fails `dbt build` with its message (seed file,
    rule or pool id, bad value, what to do) in the end-of-run summary; the allocation models
    depend on the check model, so they are skipped instead of built from a broken rule. -#}
{{ config(severity='error') }}
{%- set checks = load_relation(ref('int_allocation__rule_checks')) if execute else none -%}
{%- if checks is not none -%}
    {%- set found = run_query(
        "select message from " ~ checks
        ~ " where severity = 'error' order by seed_file, message"
    ) -%}
    {%- if found.rows | length > 0 -%}
        {{ exceptions.raise_compiler_error(
            found.rows | length ~ " error(s) in the rule seeds; nothing was allocated:\n  "
            ~ found.columns[0].values() | join("\n  ")
        ) }}
    {%- endif -%}
{%- endif %}
select * from {{ ref('int_allocation__rule_checks') }}
where severity = 'error'
