{#- OCI cost report rows in the unified vocabulary. OCI reports carry no charge type; a row is
    usage unless OCI marks it as its own correction. -#}
with

source as (

    select * from {{ source('raw', 'oci_cost_reports') }}
    {#- Only a cost-0 line may have a blank currency (the loader refuses any other). It holds
        no money and belongs to no currency, so it stops here rather than become a currency
        bucket of its own. #}
    where nullif(trim(cost_currency_code), '') is not null

),

renamed as (

    select
        {{ lineage_key() }} as cost_line_key,
        line_item_reference_no as source_line_id,
        'Oracle' as provider,
        line_item_tenant_id as billing_account_id,
        product_compartment_id as sub_account_id,
        coalesce(_correction_period, _billing_period) as billing_period,
        _billing_period as charge_billing_period,
        line_item_interval_usage_start as charge_period_start,
        line_item_interval_usage_end as charge_period_end,
        'Usage' as line_item_type,
        'Usage' as charge_category,
        case
            when _is_correction or coalesce(line_item_is_correction, false) then 'Correction'
        end as charge_class,
        product_service as service_code,
        product_service as service_name,
        product_region as region,
        product_availability_domain as availability_zone,
        product_resource_id as resource_id,
        cost_product_sku as usage_type,
        cast(null as {{ dbt.type_string() }}) as operation,
        product_description as charge_description,
        usage_billed_quantity * _correction_sign as consumed_quantity,
        cost_sku_unit_description as consumed_unit,
        upper(trim(cost_currency_code)) as billing_currency,
        cast(null as {{ dbt.type_string() }}) as invoice_id,
        cast(null as {{ dbt.type_string() }}) as commitment_discount_id,
        cast(null as {{ dbt.type_string() }}) as commitment_discount_status,
        tags as source_tags,
        cost_my_cost * _correction_sign as billed_cost,
        cost_my_cost * _correction_sign as effective_cost,
        cost_my_cost * _correction_sign as list_cost,
        _export_name as export_name,
        _load_id as load_id,
        _source_file as source_file,
        _source_row as source_row,
        _loaded_at as loaded_at

    from source

)

select * from renamed
