{#- AI / LLM requests, one row per logged request, with the day it is priced and charged on. -#}
with

source as (

    select * from {{ source('raw', 'ai_requests') }}

),

renamed as (

    select
        {{ lineage_key() }} as ai_request_key,
        request_id,
        timestamp as requested_at,
        cast(timestamp as date) as request_date,
        nullif(trim(customer_id), '') as customer_id,
        nullif(trim(feature_id), '') as feature_id,
        nullif(trim(product), '') as product,
        lower(trim(provider)) as provider,
        trim(model) as model,
        input_tokens,
        output_tokens,
        coalesce(cached_input_tokens, 0) as cached_input_tokens,
        coalesce(is_batch, false) as is_batch,
        _export_name as export_name,
        _load_id as load_id,
        _source_file as source_file,
        _source_row as source_row,
        _loaded_at as loaded_at
    from source

)

select * from renamed
