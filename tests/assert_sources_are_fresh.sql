{#-
    A stale bill fails the build loudly: every source that has been loaded at least once must
    have a load newer than its limit in var('source_max_age_hours') (per table, else
    `default`). Sources never loaded are not checked (a company may not use Azure). Returns the
    stale sources.
-#}
{%- set loaded_sources = [
    'aws_cur_line_items', 'focus_line_items', 'azure_cost_details', 'oci_cost_reports',
    'gcp_billing_export',
    'clickhouse_query_log', 'usage_metrics', 'revenue', 'customers',
] -%}
with

latest as (

    {% for name in loaded_sources %}
        select
            '{{ name }}' as source_table,
            max(_loaded_at) as last_loaded_at,
            {{ dbt.dateadd(
                'hour',
                -1 * var('source_max_age_hours').get(name, var('source_max_age_hours').default),
                dbt.current_timestamp(),
            ) }} as stale_before
        from {{ source('raw', name) }}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

final as (

    select
        source_table,
        last_loaded_at,
        stale_before
    from latest
    where
        last_loaded_at is not null
        and last_loaded_at < stale_before

)

select * from final
