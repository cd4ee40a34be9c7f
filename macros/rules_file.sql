{#-
    The folder of the company's rule seeds: seeds/rules, or the folder COST_MODEL_RULES names
    (dbt_project.yml seed-paths reads the same variable), so every message points at the file
    that was actually built.
-#}
{% macro rules_folder() -%}
    {{- env_var('COST_MODEL_RULES', 'seeds/rules').rstrip('/') -}}
{%- endmacro %}

{#- The path of one rule seed, as the user edits it: <rules folder>/<name>.csv -#}
{% macro rules_file(name) -%}
    {{- rules_folder() ~ '/' ~ name ~ '.csv' -}}
{%- endmacro %}
