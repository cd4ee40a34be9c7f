{#- Daily usage driver metrics, one row per delivered line. -#}
with

source as (

    select * from {{ source('raw', 'usage_metrics') }}

),

renamed as (

    select
        {{ lineage_key() }} as usage_line_key,
        date as usage_date,
        metric,
        nullif(trim(product), '') as product,
        nullif(trim(customer_id), '') as customer_id,
        nullif(trim(feature_id), '') as feature_id,
        quantity,
        _load_id as load_id,
        _loaded_at as loaded_at

    from source

)

select * from renamed
