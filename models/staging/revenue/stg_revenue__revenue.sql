{#- Monthly revenue lines per customer and product, in their own currency. -#}
with

source as (

    select * from {{ source('raw', 'revenue') }}

),

renamed as (

    select
        {{ lineage_key() }} as revenue_line_key,
        {{ month_start(adapter.quote('month')) }} as revenue_month,
        customer_id,
        nullif(trim(product), '') as product,
        amount as revenue_amount,
        upper(trim(currency)) as currency,
        _load_id as load_id,
        _loaded_at as loaded_at

    from source

)

select * from renamed
