{#-
    AWS CUR lines renamed to the unified (FOCUS-aligned) vocabulary and categorised.
    Amortization happens downstream in int_aws_cur__line_items_amortized; this model only
    renames, casts and maps CUR's line_item_type onto FOCUS charge categories.
    Correction rows of closed periods carry their sign into every money column here, once.
-#}
with

source as (

    select * from {{ source('raw', 'aws_cur_line_items') }}
    {#- Only a cost-0 line may have a blank currency (the loader refuses any other). It holds
        no money and belongs to no currency, so it stops here rather than become a currency
        bucket of its own. #}
    where nullif(trim(line_item_currency_code), '') is not null

),

renamed as (

    select
        {{ lineage_key() }} as cost_line_key,
        identity_line_item_id as source_line_id,
        'AWS' as provider,
        coalesce(bill_payer_account_id, _billing_account_id) as billing_account_id,
        line_item_usage_account_id as sub_account_id,
        coalesce(_correction_period, _billing_period) as billing_period,
        _billing_period as charge_billing_period,
        line_item_usage_start_date as charge_period_start,
        line_item_usage_end_date as charge_period_end,
        line_item_line_item_type as line_item_type,
        case
            when line_item_line_item_type in (
                'Usage', 'DiscountedUsage', 'SavingsPlanCoveredUsage', 'SavingsPlanNegation'
            ) then 'Usage'
            when line_item_line_item_type in (
                'Fee', 'RIFee', 'SavingsPlanRecurringFee', 'SavingsPlanUpfrontFee'
            ) then 'Purchase'
            when line_item_line_item_type = 'Tax' then 'Tax'
            when
                line_item_line_item_type in ('Credit', 'Refund')
                or line_item_line_item_type like '%Discount' then 'Credit'
            else 'Adjustment'
        end as charge_category,
        case when _is_correction then 'Correction' end as charge_class,
        line_item_product_code as service_code,
        coalesce(product_product_name, line_item_product_code) as service_name,
        coalesce(product_region_code, product_region) as region,
        line_item_availability_zone as availability_zone,
        nullif(line_item_resource_id, '') as resource_id,
        line_item_usage_type as usage_type,
        line_item_operation as operation,
        line_item_line_item_description as charge_description,
        line_item_usage_amount * _correction_sign as consumed_quantity,
        pricing_unit as consumed_unit,
        upper(trim(line_item_currency_code)) as billing_currency,
        nullif(bill_invoice_id, '') as invoice_id,
        coalesce(
            nullif(savings_plan_savings_plan_a_r_n, ''), nullif(reservation_reservation_a_r_n, '')
        ) as commitment_discount_id,
        nullif(reservation_reservation_a_r_n, '') as reservation_arn,
        nullif(split_line_item_parent_resource_id, '') as split_parent_resource_id,
        coalesce(
            line_item_operation in ({{ "'" ~ var('split_cost_operations') | join("', '") ~ "'" }}),
            false
        ) as is_split_cost_line,
        resource_tags as source_tags,

        -- money, signed once for correction removals
        line_item_unblended_cost * _correction_sign as unblended_cost,
        line_item_net_unblended_cost * _correction_sign as net_unblended_cost,
        pricing_public_on_demand_cost * _correction_sign as public_on_demand_cost,
        savings_plan_savings_plan_effective_cost * _correction_sign as sp_effective_cost,
        savings_plan_net_savings_plan_effective_cost * _correction_sign as sp_net_effective_cost,
        savings_plan_total_commitment_to_date * _correction_sign as sp_total_commitment_to_date,
        savings_plan_used_commitment * _correction_sign as sp_used_commitment,
        reservation_effective_cost * _correction_sign as ri_effective_cost,
        reservation_net_effective_cost * _correction_sign as ri_net_effective_cost,
        reservation_amortized_upfront_fee_for_billing_period
        * _correction_sign as ri_amortized_upfront_fee,
        reservation_unused_amortized_upfront_fee_for_billing_period
        * _correction_sign as ri_unused_amortized_upfront_fee,
        reservation_net_unused_amortized_upfront_fee_for_billing_period
        * _correction_sign as ri_net_unused_amortized_upfront_fee,
        reservation_unused_recurring_fee * _correction_sign as ri_unused_recurring_fee,
        reservation_net_unused_recurring_fee * _correction_sign as ri_net_unused_recurring_fee,
        split_line_item_split_cost * _correction_sign as split_cost,
        split_line_item_unused_cost * _correction_sign as split_unused_cost,

        _export_name as export_name,
        _load_id as load_id,
        _source_file as source_file,
        _source_row as source_row,
        _loaded_at as loaded_at

    from source

)

select * from renamed
