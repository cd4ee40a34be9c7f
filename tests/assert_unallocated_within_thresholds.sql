{#-
    Guardrail on unallocated money, per reason and currency (var unallocated_thresholds in
    dbt_project.yml; a reason not listed uses `default`). Above error_pct the build fails with
    a message naming the reason, currency, amount and percent; above warn_pct it warns with the
    same message (and this test returns those rows, so the build counts a warning). Evaluated
    when the test runs (dbt build / test), after fct_cost_allocation is built.
-#}
{{ config(severity='warn') }}
{%- set relation = ref('fct_cost_allocation') -%}
{%- set warned = [] -%}
{%- if execute and flags.WHICH in ('build', 'test') and load_relation(relation) is not none -%}
    {%- set rows = unallocated_status(relation) -%}
    {%- set failed = rows | selectattr('status', 'equalto', 'FAIL') | list -%}
    {%- if failed -%}
        {%- set messages = [] -%}
        {%- for row in failed -%}{%- do messages.append(unallocated_message(row)) -%}{%- endfor -%}
        {{ exceptions.raise_compiler_error(
            'Unallocated cost above its error threshold:\n  ' ~ messages | join('\n  ')
        ) }}
    {%- endif -%}
    {%- for row in rows | selectattr('status', 'equalto', 'WARN') -%}
        {%- do exceptions.warn('Unallocated cost above its warning threshold: ' ~ unallocated_message(row)) -%}
        {%- do warned.append(row) -%}
    {%- endfor -%}
{%- endif -%}
with

allocation as (

    select * from {{ relation }}

),

final as (

    {%- for row in warned %}
        select
            '{{ row.currency | replace("'", "''") }}' as billing_currency,
            '{{ row.reason | replace("'", "''") }}' as unallocated_reason,
            {{ '%.2f' | format(row.amount) }} as effective_cost,
            {{ '%.2f' | format(row.pct) }} as pct_of_cost
        {% if not loop.last %}union all{% endif %}
    {%- else %}
        select
            billing_currency,
            unallocated_reason,
            allocated_effective_cost as effective_cost,
            0 as pct_of_cost
        from allocation
        where 1 = 0
    {%- endfor %}

)

select * from final
