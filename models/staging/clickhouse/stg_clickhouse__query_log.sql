{#-
    ClickHouse query_log rows with the fields cost allocation reads. Nothing is filtered here:
    which rows are work (finished or failed initial queries) is decided in the driver model.
    product and customer come from log_comment JSON when it parses; a malformed comment gives
    null, never an error.
-#}
with

source as (

    select * from {{ source('raw', 'clickhouse_query_log') }}

),

renamed as (

    select
        {{ lineage_key() }} as query_log_key,
        hostname,
        type as event_type,
        coalesce(event_date, cast(event_time as date)) as event_date,
        event_time,
        query_id,
        initial_query_id,
        is_initial_query = 1 as is_initial_query,
        user as clickhouse_user,
        query_kind,
        log_comment,
        {{ json_string_field('log_comment', 'product') }} as comment_product,
        {{ json_string_field('log_comment', 'customer_id') }} as comment_customer_id,
        coalesce(read_bytes, 0) as read_bytes,
        coalesce(read_rows, 0) as read_rows,
        coalesce(query_duration_ms, 0) as duration_ms,
        coalesce(
            cast({{ map_value(
                adapter.quote('ProfileEvents'), "'OSCPUVirtualTimeMicroseconds'"
            ) }} as bigint),
            0
        ) as cpu_time_us,
        _load_id as load_id,
        _loaded_at as loaded_at

    from source

)

select * from renamed
