{#-
    The ClickHouse work that cost allocation counts, one row per query:
      * only QueryFinish and ExceptionWhileProcessing rows: failed queries still burned the
        cluster; QueryStart rows carry no work and would double count;
      * only initial queries (is_initial_query): the initiator's row already sums the work of
        its distributed shards, which also log their own rows.
    The product is not decided here but in int_allocation__query_work_daily (log_comment, else
    the user → product seed): nothing before that depends on a seed, so the incremental daily
    sums never hold a stale user map.
-#}
with

query_log as (

    select * from {{ ref('stg_clickhouse__query_log') }}

),

final as (

    select
        query_log_key,
        query_id,
        hostname,
        event_date,
        load_id,
        event_type,
        clickhouse_user,
        comment_product,
        read_bytes,
        cpu_time_us,
        duration_ms
    from query_log
    where
        event_type in ('QueryFinish', 'ExceptionWhileProcessing')
        and is_initial_query

)

select * from final
