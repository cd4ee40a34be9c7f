{#-
    on-run-end: print how much cost stayed unallocated, by reason, so every `dbt build` shows
    it. Silent when the allocation fact was not built in this run.
-#}
{% macro report_unallocated(results) %}
    {%- set built = results | selectattr('node.name', 'equalto', 'fct_cost_allocation')
        | selectattr('status', 'equalto', 'success') | list -%}
    {%- if execute and built | length > 0 -%}
        {%- set query -%}
            select
                billing_currency,
                coalesce(unallocated_reason, '(allocated)') as reason,
                cast(sum(allocated_effective_cost) as double) as effective_cost,
                cast(
                    sum(sum(allocated_effective_cost)) over (partition by billing_currency)
                    as double
                ) as total
            from {{ built[0].node.relation_name }}
            group by 1, 2
            order by 1, 3 desc
        {%- endset -%}
        {%- set rows = run_query(query) -%}
        {{ log("Cost allocation (effective cost):", info=True) }}
        {%- for row in rows -%}
            {%- set amount = row[2] | float -%}
            {%- set total = row[3] | float -%}
            {%- set pct = (100.0 * amount / total) if total != 0 else 0 -%}
            {{ log("  %s %-22s %14.2f  %5.1f %%" | format(row[0], row[1], amount, pct), info=True) }}
        {%- endfor -%}
    {%- endif -%}
{% endmacro %}
