{#- The cloud of a bill line, normalised the way the loaders compare bills (ingest/core.py
    provider_sql): FOCUS writes 'AWS', 'Amazon Web Services', 'Microsoft', 'Google Cloud',
    'Oracle' …, the native loaders 'AWS', 'Microsoft', 'Oracle'. -#}
{% macro normalized_provider(column) -%}
    case
        when lower(trim({{ column }})) in ('aws', 'amazon', 'amazon web services') then 'aws'
        when
            lower(trim({{ column }})) like 'microsoft%'
            or lower(trim({{ column }})) like 'azure%'
            then 'azure'
        when
            lower(trim({{ column }})) like 'google%'
            or lower(trim({{ column }})) = 'gcp'
            then 'gcp'
        when
            lower(trim({{ column }})) like 'oracle%'
            or lower(trim({{ column }})) = 'oci'
            then 'oci'
        else lower(trim({{ column }}))
    end
{%- endmacro %}
