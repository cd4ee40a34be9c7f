{#- Azure actual-cost export rows in the unified vocabulary. An actual-cost export has no
    amortization, so effective cost equals billed cost; reservation purchases are Purchase rows. -#}
with

source as (

    select * from {{ source('raw', 'azure_cost_details') }}
    {#- Only a cost-0 line may have a blank currency (the loader refuses any other). It holds
        no money and belongs to no currency, so it stops here rather than become a currency
        bucket of its own. -#}
    where nullif(trim(billing_currency_code), '') is not null

),

renamed as (

    select
        {{ lineage_key() }} as cost_line_key,
        cast(null as {{ dbt.type_string() }}) as source_line_id,
        'Microsoft' as provider,
        billing_account_id,
        subscription_id as sub_account_id,
        coalesce(_correction_period, _billing_period) as billing_period,
        _billing_period as charge_billing_period,
        date as charge_period_start,
        {{ dbt.dateadd('day', 1, adapter.quote('date')) }} as charge_period_end,
        charge_type as line_item_type,
        case
            when charge_type = 'Usage' then 'Usage'
            when charge_type in ('Purchase', 'UnusedReservation', 'UnusedSavingsPlan')
                then 'Purchase'
            when charge_type = 'Tax' then 'Tax'
            when charge_type in ('Refund', 'Credit') then 'Credit'
            else 'Adjustment'
        end as charge_category,
        case when _is_correction then 'Correction' end as charge_class,
        consumed_service as service_code,
        meter_category as service_name,
        resource_location as region,
        availability_zone,
        resource_id,
        meter_id as usage_type,
        meter_name as operation,
        product_name as charge_description,
        quantity * _correction_sign as consumed_quantity,
        unit_of_measure as consumed_unit,
        upper(trim(billing_currency_code)) as billing_currency,
        invoice_id,
        reservation_id as commitment_discount_id,
        cast(null as {{ dbt.type_string() }}) as commitment_discount_status,
        tags as source_tags,
        cost_in_billing_currency * _correction_sign as billed_cost,
        cost_in_billing_currency * _correction_sign as effective_cost,
        cast(pay_g_price * quantity as {{ dbt.type_numeric() }}) * _correction_sign as list_cost,
        _export_name as export_name,
        _load_id as load_id,
        _source_file as source_file,
        _source_row as source_row,
        _loaded_at as loaded_at

    from source

)

select * from renamed
