{#-
    Every bill line that matters to a commitment analysis, in exactly one role:

      covered_usage    usage a Savings Plan or reservation paid for: CUR SavingsPlanCoveredUsage
                       and DiscountedUsage, FOCUS Usage rows with CommitmentDiscountStatus Used
      commitment_fee   the commitment's own accounting line: CUR SavingsPlanRecurringFee and
                       RIFee (their effective cost is the unused part), FOCUS Unused rows
      on_demand_usage  usage billed at the on-demand rate that a commitment could have covered
                       (seeds/commitment_eligibility.csv; Spot and data transfer never are)

    Grain: cost_line_key (one bill line), so no line can sit in two roles. Commitment money is
    spread over columns so that each dollar is on one line only:
      total/used/unused_commitment_cost   CUR: on the fee line (SP total commitment to date and
                                          used commitment; RI amortized upfront + recurring fee,
                                          unused from its unused columns). FOCUS: used on the
                                          Used rows, unused on the Unused rows (FOCUS has no
                                          fee line carrying the total).
    SavingsPlanNegation and commitment purchases (upfront fees, FOCUS Purchase rows) are not
    here: their effective cost is 0 and covered usage already carries the amortized price.
    Months are charge months (the month of the charge day), as in the allocation.
    A table: the three commitment marts read it, the bill is scanned once.
-#}
{{ config(materialized='table') }}
with

cur_lines as (

    select * from {{ ref('int_aws_cur__line_items_amortized') }}
    where not is_split_cost_line

),

focus_lines as (

    select * from {{ ref('stg_focus__line_items') }}

),

eligibility as (

    select * from {{ ref('commitment_eligibility') }}

),

cur_classified as (

    select
        cost_line_key,
        'aws_cur' as source_system,
        billing_account_id,
        cast(charge_period_start as date) as charge_date,
        billing_currency,
        service_code,
        usage_type,
        operation,
        charge_description,
        commitment_discount_id,
        case
            when line_item_type in ('SavingsPlanCoveredUsage', 'DiscountedUsage')
                then 'covered_usage'
            when line_item_type in ('SavingsPlanRecurringFee', 'RIFee') then 'commitment_fee'
            when line_item_type = 'Usage' then 'on_demand_usage'
        end as commitment_role,
        case
            when line_item_type in ('SavingsPlanCoveredUsage', 'SavingsPlanRecurringFee')
                then 'savings_plan'
            when line_item_type in ('DiscountedUsage', 'RIFee') then 'reserved_instance'
        end as commitment_type,
        list_cost,
        effective_cost,
        case
            when line_item_type = 'SavingsPlanRecurringFee'
                then coalesce(sp_total_commitment_to_date, 0)
            when line_item_type = 'RIFee'
                then coalesce(ri_amortized_upfront_fee, 0) + coalesce(unblended_cost, 0)
        end as total_commitment_cost,
        case
            when line_item_type = 'SavingsPlanRecurringFee' then coalesce(sp_used_commitment, 0)
            when line_item_type = 'RIFee'
                then
                    coalesce(ri_amortized_upfront_fee, 0) + coalesce(unblended_cost, 0)
                    - effective_cost
        end as used_commitment_cost,
        case
            when line_item_type in ('SavingsPlanRecurringFee', 'RIFee') then effective_cost
        end as unused_commitment_cost
    from cur_lines

),

focus_classified as (

    select
        cost_line_key,
        'focus' as source_system,
        billing_account_id,
        cast(charge_period_start as date) as charge_date,
        billing_currency,
        service_code,
        usage_type,
        cast(null as varchar) as operation,
        charge_description,
        nullif(commitment_discount_id, '') as commitment_discount_id,
        case
            when charge_category <> 'Usage' then null
            when commitment_discount_status = 'Used' then 'covered_usage'
            when commitment_discount_status = 'Unused' then 'commitment_fee'
            -- FOCUS 1.0 says Standard, later versions On-Demand; Dynamic is spot
            when
                nullif(commitment_discount_id, '') is null
                and coalesce(pricing_category, 'Standard') in ('Standard', 'On-Demand')
                then 'on_demand_usage'
        end as commitment_role,
        case
            when nullif(commitment_discount_status, '') is null then null
            when lower(commitment_discount_type) like '%savings plan%' then 'savings_plan'
            when lower(commitment_discount_type) like '%reserv%' then 'reserved_instance'
            else 'other'
        end as commitment_type,
        list_cost,
        effective_cost,
        case when commitment_discount_status in ('Used', 'Unused') then effective_cost end
            as total_commitment_cost,
        case
            when commitment_discount_status = 'Used' then effective_cost
            when commitment_discount_status = 'Unused' then 0
        end as used_commitment_cost,
        case
            when commitment_discount_status = 'Unused' then effective_cost
            when commitment_discount_status = 'Used' then 0
        end as unused_commitment_cost
    from focus_lines

),

classified as (

    select * from cur_classified
    union all
    select * from focus_classified

),

on_demand_eligibility as (

    select
        classified.cost_line_key,
        max(case when eligibility.commitment_type = 'savings_plan' then 1 else 0 end)
            as sp_eligible,
        max(case when eligibility.commitment_type = 'reserved_instance' then 1 else 0 end)
            as ri_eligible
    from classified
    inner join eligibility
        on
            classified.source_system = eligibility.source_system
            and coalesce(classified.service_code, '') like eligibility.service_pattern
            and coalesce(classified.usage_type, '') like eligibility.usage_type_pattern
            and coalesce(classified.operation, '') like eligibility.operation_pattern
            and coalesce(classified.charge_description, '')
            like eligibility.description_pattern
    where
        classified.commitment_role = 'on_demand_usage'
        and coalesce(classified.usage_type, '') not like '%Spot%'
        and coalesce(classified.usage_type, '') not like '%DataXfer%'
        -- EC2 bills instance data transfer under operation RunInstances (CID drops it by its
        -- product service code AWSDataTransfer)
        and coalesce(classified.usage_type, '') not like '%DataTransfer%'
    group by classified.cost_line_key

),

final as (

    select
        classified.cost_line_key,
        classified.source_system,
        classified.billing_account_id,
        classified.charge_date,
        {{ month_start('classified.charge_date') }} as charge_month,
        classified.billing_currency,
        classified.service_code,
        classified.commitment_discount_id,
        classified.commitment_role,
        classified.commitment_type,
        coalesce(on_demand_eligibility.sp_eligible = 1, false) as is_savings_plan_eligible,
        coalesce(on_demand_eligibility.ri_eligible = 1, false) as is_reservation_eligible,
        cast(classified.list_cost as decimal(38, 12)) as list_cost,
        cast(classified.effective_cost as decimal(38, 12)) as effective_cost,
        cast(classified.total_commitment_cost as decimal(38, 12)) as total_commitment_cost,
        cast(classified.used_commitment_cost as decimal(38, 12)) as used_commitment_cost,
        cast(classified.unused_commitment_cost as decimal(38, 12)) as unused_commitment_cost
    from classified
    left join on_demand_eligibility
        on classified.cost_line_key = on_demand_eligibility.cost_line_key
    where
        classified.commitment_role in ('covered_usage', 'commitment_fee')
        or on_demand_eligibility.cost_line_key is not null

)

select * from final
