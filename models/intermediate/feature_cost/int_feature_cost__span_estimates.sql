{#-
    Estimated cost of every span, from the rate card of its feature's taxonomy
    (var feature_cost_model):

        estimated_cost = duration_ms × (cpu_per_ms + memory_per_ms + gpu_per_ms if uses_gpu)
                         + db_query_count × db_query_base

    A feature missing from the taxonomy (or a span without feature.id) is priced on the
    `unmapped` rate card and reported as feature 'unmapped'. A span whose feature flag is off
    (the taxonomy says enabled: false, or the span's feature_flag.enabled is false) is kept
    but not charged: estimated_cost 0 and an uncharged_reason; full_rate_cost shows what it
    would have cost. Every duration is charged in full, nested spans included: the exporter
    decides the grain (see the README).
-#}
with

spans as (

    select * from {{ ref('stg_otel__spans') }}

),

taxonomy as (

    {{ feature_cost_rows('feature_taxonomy') }}

),

rate_cards as (

    {{ feature_cost_rows('rate_cards') }}

),

classified as (

    select
        spans.span_key,
        spans.trace_id,
        spans.span_id,
        spans.service_name,
        spans.span_name,
        spans.span_date,
        {{ month_start('spans.span_date') }} as span_month,
        spans.feature_id as span_feature_id,
        coalesce(taxonomy.feature_id, 'unmapped') as feature_id,
        coalesce(taxonomy.taxonomy, 'unmapped') as taxonomy,
        taxonomy.product as feature_product,
        taxonomy.feature_id is not null as is_mapped_feature,
        coalesce(spans.tenant_id, '(no tenant)') as tenant_id,
        spans.duration_ms,
        spans.db_query_count,
        spans.uses_gpu,
        case
            when taxonomy.is_enabled = false then 'feature_flag_off'
            when spans.feature_flag_enabled = false then 'span_flag_off'
        end as uncharged_reason
    from spans
    left join taxonomy
        on spans.feature_id = taxonomy.feature_id

),

priced as (

    select
        classified.*,
        rate_cards.currency,
        rate_cards.cpu_per_ms,
        rate_cards.memory_per_ms,
        rate_cards.gpu_per_ms,
        rate_cards.db_query_base,
        cast(
            classified.duration_ms * (
                rate_cards.cpu_per_ms
                + rate_cards.memory_per_ms
                + case when classified.uses_gpu then rate_cards.gpu_per_ms else 0 end
            )
            + classified.db_query_count * rate_cards.db_query_base
            as decimal(38, 12)
        ) as full_rate_cost
    from classified
    inner join rate_cards
        on classified.taxonomy = rate_cards.taxonomy

),

final as (

    select
        span_key,
        trace_id,
        span_id,
        service_name,
        span_name,
        span_date,
        span_month,
        span_feature_id,
        feature_id,
        taxonomy,
        feature_product,
        is_mapped_feature,
        tenant_id,
        duration_ms,
        db_query_count,
        uses_gpu,
        currency,
        cpu_per_ms,
        memory_per_ms,
        gpu_per_ms,
        db_query_base,
        full_rate_cost,
        uncharged_reason is null as is_charged,
        uncharged_reason,
        case
            when uncharged_reason is null then full_rate_cost
            else cast(0 as decimal(38, 12))
        end as estimated_cost
    from priced

)

select * from final
