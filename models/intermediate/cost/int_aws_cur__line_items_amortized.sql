{#-
    Effective (amortized) cost of AWS CUR lines, the way AWS's Cloud Intelligence Dashboards
    compute `amortized_cost` (cid summary_view):

      SavingsPlanCoveredUsage  → savings plan effective cost
      SavingsPlanRecurringFee  → total commitment to date − used commitment (the UNUSED part)
      SavingsPlanNegation      → 0   (it only cancels the on-demand price of covered usage)
      SavingsPlanUpfrontFee    → 0   (already spread over covered usage)
      DiscountedUsage          → reservation effective cost
      RIFee                    → unused amortized upfront + unused recurring fee (UNUSED part)
      Fee with a reservation   → 0   (RI upfront payment, already in DiscountedUsage)
      Refund of an SP one-time fee → 0
      anything else            → unblended cost

    The net variant swaps in the `*_net_*` columns where AWS delivers them (months with
    discounts), coalescing each to its gross twin; the SP recurring-fee branch stays gross, as
    in CID. Split-cost lines (EKS/ECS pods) re-express their parent instance, so they carry 0
    here and keep their share in split_cost: the parent line is the cost of record.
-#}
with

line_items as (

    select * from {{ ref('stg_aws_cur__line_items') }}

),

amortized as (

    select
        *,
        case
            when is_split_cost_line then 0
            when line_item_type = 'SavingsPlanCoveredUsage' then coalesce(sp_effective_cost, 0)
            when line_item_type = 'SavingsPlanRecurringFee'
                then coalesce(sp_total_commitment_to_date, 0) - coalesce(sp_used_commitment, 0)
            when line_item_type in ('SavingsPlanNegation', 'SavingsPlanUpfrontFee') then 0
            when line_item_type = 'DiscountedUsage' then coalesce(ri_effective_cost, 0)
            when line_item_type = 'RIFee'
                then
                    coalesce(ri_unused_amortized_upfront_fee, 0)
                    + coalesce(ri_unused_recurring_fee, 0)
            when line_item_type = 'Fee' and reservation_arn is not null then 0
            when
                line_item_type = 'Refund' and service_code = 'ComputeSavingsPlans'
                and charge_description like 'Refund for one-time fee for Savings Plan ID%'
                then 0
            else unblended_cost
        end as effective_cost,
        case
            when is_split_cost_line then 0
            when line_item_type = 'SavingsPlanCoveredUsage'
                then coalesce(sp_net_effective_cost, sp_effective_cost, 0)
            when line_item_type = 'SavingsPlanRecurringFee'
                then coalesce(sp_total_commitment_to_date, 0) - coalesce(sp_used_commitment, 0)
            when line_item_type in ('SavingsPlanNegation', 'SavingsPlanUpfrontFee') then 0
            when line_item_type = 'DiscountedUsage'
                then coalesce(ri_net_effective_cost, ri_effective_cost, 0)
            when line_item_type = 'RIFee'
                then
                    coalesce(
                        ri_net_unused_amortized_upfront_fee, ri_unused_amortized_upfront_fee, 0
                    )
                    + coalesce(ri_net_unused_recurring_fee, ri_unused_recurring_fee, 0)
            when line_item_type = 'Fee' and reservation_arn is not null then 0
            when
                line_item_type = 'Refund' and service_code = 'ComputeSavingsPlans'
                and charge_description like 'Refund for one-time fee for Savings Plan ID%'
                then 0
            else coalesce(net_unblended_cost, unblended_cost)
        end as net_effective_cost,
        case when is_split_cost_line then 0 else unblended_cost end as billed_cost,
        case
            when is_split_cost_line then 0 else coalesce(net_unblended_cost, unblended_cost)
        end as net_billed_cost,
        case
            when is_split_cost_line then 0
            when line_item_type = 'SavingsPlanNegation' then 0
            else coalesce(public_on_demand_cost, unblended_cost)
        end as list_cost,
        line_item_type in ('SavingsPlanRecurringFee', 'RIFee') as is_unused_commitment

    from line_items

)

select * from amortized
