{#- Google Cloud Billing export rows in the unified vocabulary: one line per export row (cost
    before credits) and one per credit (ingest/gcp.py lands each credit as a row of its own),
    so Σ billed_cost per invoice month × account × currency = Σ cost + Σ credits.amount, the
    invoice total. Charge category from cost_type:
      regular         Usage;
      tax             Tax;
      adjustment      Credit when it lowers the bill, else Adjustment (Google's corrections
                      and goodwill credits, adjustment_info says which);
      rounding_error  Adjustment: the difference between the sum of the unrounded lines and
                      the invoice rounded to the cent; no service or resource, kept so the
                      month ties to the invoice.
    A credit line is Credit, its type (COMMITTED_USAGE_DISCOUNT, FREE_TIER, ...) the line item
    type; it carries its export row's project, resource and tags, so it is allocated with
    the usage it discounts. -#}
with

source as (

    {#- Only a cost-0 line may have a blank currency (the loader refuses any other). -#}
    select * from {{ source('raw', 'gcp_billing_export') }}
    where nullif(trim(currency), '') is not null

),

renamed as (

    select
        {{ lineage_key() }} as cost_line_key,
        credit_id as source_line_id,
        'Google Cloud' as provider,
        billing_account_id,
        project_id as sub_account_id,
        coalesce(_correction_period, _billing_period) as billing_period,
        _billing_period as charge_billing_period,
        usage_start_time as charge_period_start,
        usage_end_time as charge_period_end,
        case when line_kind = 'credit' then credit_type else cost_type end as line_item_type,
        case
            when line_kind = 'credit' then 'Credit'
            when cost_type is null or cost_type = 'regular' then 'Usage'
            when cost_type = 'tax' then 'Tax'
            when cost_type = 'adjustment' and cost < 0 then 'Credit'
            else 'Adjustment'
        end as charge_category,
        case when _is_correction then 'Correction' end as charge_class,
        service_id as service_code,
        service_description as service_name,
        location_region as region,
        location_zone as availability_zone,
        resource_name as resource_id,
        sku_id as usage_type,
        cast(null as {{ dbt.type_string() }}) as operation,
        case
            when line_kind = 'credit' then coalesce(credit_full_name, credit_name)
            when cost_type = 'adjustment'
                then coalesce(adjustment_info_description, sku_description)
            else sku_description
        end as charge_description,
        usage_amount * _correction_sign as consumed_quantity,
        usage_unit as consumed_unit,
        upper(trim(currency)) as billing_currency,
        cast(null as {{ dbt.type_string() }}) as invoice_id,
        cast(null as {{ dbt.type_string() }}) as commitment_discount_id,
        cast(null as {{ dbt.type_string() }}) as commitment_discount_status,
        tags as source_tags,
        cost * _correction_sign as billed_cost,
        cost * _correction_sign as effective_cost,
        {#- A credit has no list price; a row without cost_at_list (older exports) lists at
            its cost. -#}
        case
            when line_kind = 'credit' then 0
            else coalesce(cost_at_list, cost)
        end * _correction_sign as list_cost,
        _export_name as export_name,
        _load_id as load_id,
        _source_file as source_file,
        _source_row as source_row,
        _loaded_at as loaded_at

    from source

)

select * from renamed
