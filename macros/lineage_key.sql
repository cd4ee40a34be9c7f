{#- The unique key of a landed row: load id : source file : 1-based data row (raw lineage). -#}
{% macro lineage_key() -%}
    {{ dbt.concat(["_load_id", "':'", "_source_file", "':'", "cast(_source_row as " ~ dbt.type_string() ~ ")"]) }}
{%- endmacro %}
