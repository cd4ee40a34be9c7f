{#-
    The path of one of the company's rule seeds, as the user edits it: seeds/rules/<name>.csv, or
    the folder COST_MODEL_RULES names (dbt_project.yml seed-paths reads the same variable), so
    every message points at the file that was actually built.
-#}
{% macro rules_file(name) -%}
    {{- env_var('COST_MODEL_RULES', 'seeds/rules').rstrip('/') ~ '/' ~ name ~ '.csv' -}}
{%- endmacro %}
