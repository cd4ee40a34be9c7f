{#- The staging model of every cost source (one per loader of bills; AI requests come priced
    from the rate card). -#}
{% macro cost_staging_models() -%}
    {{ return([
        'stg_aws_cur__line_items',
        'stg_focus__line_items',
        'stg_azure__cost_details',
        'stg_oci__cost_reports',
        'stg_gcp__billing_export',
        'int_ai__cost_lines',
        'int_aws_ce__cost_lines',
    ]) }}
{%- endmacro %}
