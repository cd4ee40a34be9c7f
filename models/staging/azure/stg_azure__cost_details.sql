{#- Azure cost-details export rows (actual or amortized cost) in the unified vocabulary.

    Cost basis and pairing (macros/azure/azure_cost_basis.sql), per billing account × period:
      actual only     billed = effective = the row's cost, as the invoice states it (a
                      reservation purchase is a Purchase row with its cost in both columns);
      actual + amort. every row is kept once: actual rows carry billed cost (effective 0),
                      amortized rows carry effective cost (billed 0), usage quantity and list
                      cost; so Σ billed = the invoice and Σ effective = the amortized total;
      amortized only  billed = effective = the row's amortized cost: the only money the export
                      states. It equals the invoice except for when commitment purchases were
                      paid (an upfront reservation is billed once, amortized monthly); load the
                      actual export of the period to get the invoice.
    Usage a reservation or savings plan covered is commitment status Used, its UnusedReservation
    / UnusedSavingsPlan rows Unused (FOCUS: Usage rows of the commitment), with the reservation
    or benefit id as commitment id. -#}
with

source as (

    {#- Only a cost-0 line may have a blank currency (the loader refuses any other). It holds
        no money and belongs to no currency, so it stops here rather than become a currency
        bucket of its own. -#}
    select * from (
        {{ azure_cost_basis(source('raw', 'azure_cost_details')) }}
    ) as based
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
            when charge_type in ('Usage', 'UnusedReservation', 'UnusedSavingsPlan') then 'Usage'
            when charge_type = 'Purchase' then 'Purchase'
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
        case
            when carries_effective then quantity * _correction_sign else 0
        end as consumed_quantity,
        unit_of_measure as consumed_unit,
        upper(trim(billing_currency_code)) as billing_currency,
        invoice_id,
        coalesce(nullif(benefit_id, ''), nullif(reservation_id, '')) as commitment_discount_id,
        case
            when charge_type in ('UnusedReservation', 'UnusedSavingsPlan') then 'Unused'
            when
                charge_type = 'Usage'
                and coalesce(nullif(benefit_id, ''), nullif(reservation_id, '')) is not null
                then 'Used'
        end as commitment_discount_status,
        case
            when coalesce(nullif(benefit_id, ''), nullif(reservation_id, '')) is null then null
            when
                charge_type = 'UnusedSavingsPlan'
                or lower(pricing_model) in ('savingsplan', 'savings plan')
                then 'Savings Plan'
            else 'Reservation'
        end as commitment_discount_type,
        case
            when lower(pricing_model) = 'ondemand' then 'Standard'
            when lower(pricing_model) in ('reservation', 'savingsplan', 'savings plan')
                then 'Committed'
            when lower(pricing_model) = 'spot' then 'Dynamic'
            when pricing_model is not null then 'Other'
        end as pricing_category,
        cost_basis,
        tags as source_tags,
        case
            when bills_invoice then cost_in_billing_currency * _correction_sign else 0
        end as billed_cost,
        case
            when carries_effective then cost_in_billing_currency * _correction_sign else 0
        end as effective_cost,
        case
            when carries_effective
                then
                    cast(pay_g_price * quantity as {{ dbt.type_numeric() }}) * _correction_sign
            else 0
        end as list_cost,
        _export_name as export_name,
        _load_id as load_id,
        _source_file as source_file,
        _source_row as source_row,
        _loaded_at as loaded_at

    from source

)

select * from renamed
