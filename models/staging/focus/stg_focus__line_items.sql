{#- FOCUS rows from any provider: FOCUS already is our vocabulary, so this mostly passes
    through. FOCUS exports keep their own BilledCost / EffectiveCost / ListCost. -#}
with

source as (

    select * from {{ source('raw', 'focus_line_items') }}
    {#- Only a cost-0 line may have a blank currency (the loader refuses any other). It holds
        no money and belongs to no currency, so it stops here rather than become a currency
        bucket of its own. #}
    where nullif(trim(billing_currency), '') is not null

),

renamed as (

    select
        {{ lineage_key() }} as cost_line_key,
        cast(null as {{ dbt.type_string() }}) as source_line_id,
        provider_name as provider,
        billing_account_id,
        sub_account_id,
        coalesce(_correction_period, _billing_period) as billing_period,
        _billing_period as charge_billing_period,
        charge_period_start,
        charge_period_end,
        charge_category as line_item_type,
        charge_category,
        case when _is_correction then 'Correction' else charge_class end as charge_class,
        service_name as service_code,
        service_name,
        region_id as region,
        availability_zone,
        resource_id,
        sku_id as usage_type,
        cast(null as {{ dbt.type_string() }}) as operation,
        charge_description,
        consumed_quantity * _correction_sign as consumed_quantity,
        consumed_unit,
        upper(trim(billing_currency)) as billing_currency,
        invoice_id,
        commitment_discount_id,
        commitment_discount_status,
        commitment_discount_type,
        pricing_category,
        contract_applied,
        _correction_sign as correction_sign,
        tags as source_tags,
        billed_cost * _correction_sign as billed_cost,
        effective_cost * _correction_sign as effective_cost,
        list_cost * _correction_sign as list_cost,
        _export_name as export_name,
        _load_id as load_id,
        _source_file as source_file,
        _source_row as source_row,
        _loaded_at as loaded_at

    from source

)

select * from renamed
