{#- Monthly revenue lines per customer and product, in their own currency. -#}
with

source as (

    select * from {{ source('raw', 'revenue') }}
    {#- Only a cost-0 line may have a blank currency (the loader refuses any other). It holds
        no money and belongs to no currency, so it stops here rather than become a currency
        bucket of its own. #}
    where nullif(trim(currency), '') is not null

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
