{#-
    Commitment line groups (int_commitments__line_days) with their on-demand eligibility from
    seeds/common/commitment_eligibility.csv: an on-demand group stays only when a Savings Plan or a
    reservation could have covered it (Spot and data transfer never). One row per line group;
    every bill line is in exactly one group (one role). A table: the three commitment marts
    read it. Small (groups, not lines), so rebuilt on every run: a seed change applies at once.
-#}
{{ config(materialized='table') }}
with

line_days as (

    select * from {{ ref('int_commitments__line_days') }}

),

eligibility as (

    select * from {{ ref('commitment_eligibility') }}

),

keyed as (

    select
        {{ dbt.hash(dbt.concat([
            "export_name", "'|'", "cast(charge_billing_period as " ~ dbt.type_string() ~ ")", "'|'", "load_id",
            "'|'", "source_system", "'|'", "coalesce(billing_account_id, '')", "'|'",
            "cast(charge_date as " ~ dbt.type_string() ~ ")", "'|'", "billing_currency", "'|'",
            "coalesce(service_code, '')", "'|'", "coalesce(usage_type, '')", "'|'",
            "coalesce(operation, '')", "'|'", "coalesce(charge_description, '')", "'|'",
            "coalesce(commitment_discount_id, '')", "'|'", "commitment_role", "'|'",
            "coalesce(commitment_type, '')",
        ])) }} as line_group_key,
        *
    from line_days

),

on_demand_eligibility as (

    select
        keyed.line_group_key,
        max(case when eligibility.commitment_type = 'savings_plan' then 1 else 0 end)
            as sp_eligible,
        max(case when eligibility.commitment_type = 'reserved_instance' then 1 else 0 end)
            as ri_eligible
    from keyed
    inner join eligibility
        on
            keyed.source_system = eligibility.source_system
            and coalesce(keyed.service_code, '') like eligibility.service_pattern
            and coalesce(keyed.usage_type, '') like eligibility.usage_type_pattern
            and coalesce(keyed.operation, '') like eligibility.operation_pattern
            and coalesce(keyed.charge_description, '')
            like eligibility.description_pattern
    where
        keyed.commitment_role = 'on_demand_usage'
        and coalesce(keyed.usage_type, '') not like '%Spot%'
        and coalesce(keyed.usage_type, '') not like '%DataXfer%'
        -- EC2 bills instance data transfer under operation RunInstances (CID drops it by its
        -- product service code AWSDataTransfer)
        and coalesce(keyed.usage_type, '') not like '%DataTransfer%'
    group by keyed.line_group_key

),

final as (

    select
        keyed.line_group_key,
        keyed.source_system,
        keyed.billing_account_id,
        keyed.charge_date,
        {{ month_start('keyed.charge_date') }} as cost_month,
        keyed.billing_currency,
        keyed.service_code,
        keyed.commitment_discount_id,
        keyed.commitment_role,
        keyed.commitment_type,
        coalesce(on_demand_eligibility.sp_eligible = 1, false) as is_savings_plan_eligible,
        coalesce(on_demand_eligibility.ri_eligible = 1, false) as is_reservation_eligible,
        keyed.n_lines,
        keyed.list_cost,
        keyed.effective_cost,
        keyed.total_commitment_cost,
        keyed.used_commitment_cost,
        keyed.unused_commitment_cost
    from keyed
    left join on_demand_eligibility
        on keyed.line_group_key = on_demand_eligibility.line_group_key
    where
        keyed.commitment_role in ('covered_usage', 'commitment_fee')
        or on_demand_eligibility.line_group_key is not null

)

select * from final
