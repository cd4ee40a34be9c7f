{#-
    on-run-end: print how much cost stayed unallocated, by reason, so every `dbt build` shows
    it: every reason present and every reason named in var('unallocated_thresholds') (at 0),
    each with its threshold status (ok / WARN / FAIL, as tests/assert_unallocated_within_thresholds.sql
    decides). Silent when the allocation fact was not built in this run.
-#}
{% macro report_unallocated(results) %}
    {%- set built = results | selectattr('node.name', 'equalto', 'fct_cost_allocation')
        | selectattr('status', 'equalto', 'success') | list -%}
    {%- if execute and built | length > 0 -%}
        {%- set rows = unallocated_status(built[0].node.relation_name) -%}
        {{ log("Cost allocation (effective cost):", info=True) }}
        {%- for row in rows | sort(attribute='amount', reverse=true) | sort(attribute='currency') -%}
            {%- set status = '' if row.reason == '(allocated)'
                else row.status ~ ' (' ~ unallocated_limits_text(row) ~ ')' -%}
            {%- set line = "  %s %-22s %14.2f  %5.1f %%  %s" | format(
                row.currency, row.reason, row.amount, row.pct, status) -%}
            {{ log(line.rstrip(), info=True) }}
        {%- endfor -%}
        {#- which rules made these figures: the demo's example company or the user's own -#}
        {{ log("  rules: " ~ rules_folder() ~ "/ (COST_MODEL_RULES names the folder)", info=True) }}
    {%- endif -%}
{% endmacro %}
