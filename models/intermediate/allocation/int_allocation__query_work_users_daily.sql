{#-
    ClickHouse work per ClickHouse user, log_comment product and day (int_allocation__query_work
    summed), within each delivered query_log partition (hostname × event date). query_log grows
    by day: a run aggregates only the partitions holding a load this table has not seen, so a
    new day costs one day of query_log, not its whole history. Nothing here depends on a seed
    (the user → product map is applied after, in int_allocation__query_work_daily), so a seed
    change never needs a full refresh.
-#}
{%- set partition_by = ['hostname', 'event_date'] -%}
{{ config(
    materialized='incremental',
    incremental_strategy=partition_strategy(),
    partition_by=partition_columns(['hostname', 'event_date']),
    pre_hook="{{ replace_changed_partitions(
        ref('int_allocation__query_log_partitions'), ['hostname', 'event_date']) }}",
    on_schema_change='fail',
) }}
with

all_query_work as (

    select * from {{ ref('int_allocation__query_work') }}

),

query_work as (

    {# qualified: it is a join when incremental #}
    select all_query_work.*  -- noqa: RF03
    from all_query_work
    {# in an incremental run: only the partitions the pre-hook just deleted #}
    {{ join_changed_partitions(
        'all_query_work', ref('int_allocation__query_log_partitions'), partition_by) }}

),

final as (

    select
        hostname,
        event_date,
        load_id,
        clickhouse_user,
        comment_product,
        count(*) as n_queries,
        sum(read_bytes) as read_bytes,
        sum(cpu_time_us) as cpu_time_us,
        sum(duration_ms) as duration_ms
    from query_work
    group by hostname, event_date, load_id, clickhouse_user, comment_product

)

select * from final
-- depends_on: {{ ref('int_allocation__query_log_partitions') }}
