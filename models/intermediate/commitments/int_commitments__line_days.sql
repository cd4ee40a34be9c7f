{#-
    The bill lines a commitment analysis reads, classified into exactly one role and summed
    per delivered partition × account × day × currency × (service, usage type, operation,
    description, commitment) — the columns on-demand eligibility is decided on:

      covered_usage    usage a Savings Plan or reservation paid for: CUR SavingsPlanCoveredUsage
                       and DiscountedUsage, FOCUS Usage rows with CommitmentDiscountStatus Used,
                       Azure usage with a reservation / benefit id (staged as status Used)
      commitment_fee   the commitment's own accounting line: CUR SavingsPlanRecurringFee and
                       RIFee (their effective cost is the unused part), FOCUS Unused rows,
                       Azure UnusedReservation / UnusedSavingsPlan (staged as status Unused)
      on_demand_usage  usage at the on-demand rate; whether a commitment could have covered it
                       is decided later, from seeds/common/commitment_eligibility.csv
                       (int_commitments__lines), so changing that seed needs no full refresh

    A line's role is one CASE, so it lands in one group only. Commitment money is spread over
    columns so that each dollar is on one line only:
      total/used/unused_commitment_cost   CUR: on the fee line (SP total commitment to date and
                                          used commitment; RI amortized upfront + recurring fee,
                                          unused from its unused columns). FOCUS and Azure
                                          (classified alike from staging): used on the
                                          Used rows, unused on the Unused rows (FOCUS has no
                                          fee line carrying the total).
    SavingsPlanNegation and commitment purchases (upfront fees, FOCUS Purchase rows) are not
    here: their effective cost is 0 and covered usage already carries the amortized price.
    Months are charge months (the month of the charge day), as in the allocation.

    Incremental by delivered partition, like fct_cost_line_items: the bill is read once per
    delivery, not on every run (it was 10 s of each incremental run at 10 M lines).
-#}
{{ config(
    materialized='incremental',
    incremental_strategy=partition_strategy(),
    partition_by=partition_columns(['export_name', 'charge_billing_period']),
    pre_hook="{{ replace_changed_partitions(ref('int_cost__load_partitions')) }}",
    on_schema_change='fail',
) }}
{%- set group_columns = [
    'export_name', 'charge_billing_period', 'load_id', 'source_system', 'billing_account_id',
    'charge_date', 'billing_currency', 'service_code', 'usage_type', 'operation',
    'charge_description', 'commitment_discount_id', 'commitment_role', 'commitment_type',
] -%}
with

amortized_cur as (

    select * from {{ ref('int_aws_cur__line_items_amortized') }}
    where not is_split_cost_line

),

staged_focus as (

    select * from {{ ref('stg_focus__line_items') }}

),

staged_azure as (

    select * from {{ ref('stg_azure__cost_details') }}

),

cur_lines as (

    select amortized_cur.*  -- noqa: RF03
    from amortized_cur
    {# in an incremental run: only the partitions the pre-hook just deleted #}
    {{ join_changed_partitions('amortized_cur', ref('int_cost__load_partitions')) }}

),

focus_lines as (

    select staged_focus.*  -- noqa: RF03
    from staged_focus
    {{ join_changed_partitions('staged_focus', ref('int_cost__load_partitions')) }}

),

azure_lines as (

    select staged_azure.*  -- noqa: RF03
    from staged_azure
    {{ join_changed_partitions('staged_azure', ref('int_cost__load_partitions')) }}

),

cur_classified as (

    select
        export_name,
        charge_billing_period,
        load_id,
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

{#- FOCUS and Azure staging share the FOCUS vocabulary: one classification for both #}
{% for system in ['focus', 'azure'] %}
    {{ system }}_classified as (

        select
            export_name,
            charge_billing_period,
            load_id,
            '{{ system }}' as source_system,
            billing_account_id,
            cast(charge_period_start as date) as charge_date,
            billing_currency,
            service_code,
            usage_type,
            cast(null as {{ dbt.type_string() }}) as operation,
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
            {#- one money type in the union: Azure's list cost has fewer decimals #}
            cast(list_cost as decimal(38, 12)) as list_cost,
            cast(effective_cost as decimal(38, 12)) as effective_cost,
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
        from {{ system }}_lines

    ),
{% endfor %}

classified as (

    select * from cur_classified
    union all
    select * from focus_classified
    union all
    select * from azure_classified

),

final as (

    select
        {{ group_columns | join(',\n        ') }},
        count(*) as n_lines,
        sum(cast(list_cost as decimal(38, 12))) as list_cost,
        sum(cast(effective_cost as decimal(38, 12))) as effective_cost,
        sum(cast(total_commitment_cost as decimal(38, 12))) as total_commitment_cost,
        sum(cast(used_commitment_cost as decimal(38, 12))) as used_commitment_cost,
        sum(cast(unused_commitment_cost as decimal(38, 12))) as unused_commitment_cost
    from classified
    where commitment_role is not null
    group by
        {{ group_columns | join(',\n        ') }}

)

select * from final
-- depends_on: {{ ref('int_cost__load_partitions') }}
