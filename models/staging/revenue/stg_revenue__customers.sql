{#- The customer list (latest snapshot). -#}
with

source as (

    select * from {{ source('raw', 'customers') }}

),

renamed as (

    select
        customer_id,
        name as customer_name,
        plan,
        status,
        _loaded_at as loaded_at

    from source

)

select * from renamed
