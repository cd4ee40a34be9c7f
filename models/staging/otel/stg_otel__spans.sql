{#- OpenTelemetry spans, one row per span. A collector delivers at least once: a span exported
    twice (same trace and span id, another file or load) is kept once, from the newest load. -#}
with

source as (

    select * from {{ source('raw', 'otel_spans') }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by trace_id, span_id
            order by _loaded_at desc, _source_file desc, _source_row desc
        ) as delivery_rank
    from source

),

renamed as (

    select
        trace_id || ':' || span_id as span_key,
        trace_id,
        span_id,
        parent_span_id,
        service_name,
        span_name,
        span_kind,
        start_at as started_at,
        end_at as ended_at,
        cast(start_at as date) as span_date,
        duration_ns,
        cast(duration_ns as decimal(38, 0)) * cast(0.000001 as decimal(38, 6)) as duration_ms,
        nullif(trim(feature_id), '') as feature_id,
        nullif(trim(tenant_id), '') as tenant_id,
        feature_flag_enabled,
        coalesce(uses_gpu, false) as uses_gpu,
        db_query_count,
        _export_name as export_name,
        _load_id as load_id,
        _source_file as source_file,
        _source_row as source_row,
        span_path,
        _loaded_at as loaded_at
    from ranked
    where delivery_rank = 1

)

select * from renamed
