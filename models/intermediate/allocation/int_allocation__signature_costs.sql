{#-
    What the allocation splits: allocatable cost per resource signature × charge day ×
    currency × bill (billing period, billing account; int_allocation__signature_days) with the signature's dimensions and its one
    allocation path (int_allocation__signature_paths). Direct and untagged line groups and pool
    groups are sums of these rows; they tie back to the bill lines exactly
    (tests/assert_signature_days_tie_to_cost_lines.sql).
-#}
with

signature_days as (

    select * from {{ ref('int_allocation__signature_days') }}

),

signature_paths as (

    select * from {{ ref('int_allocation__signature_paths') }}

),

final as (

    select
        signature_days.signature_id,
        signature_days.export_name,
        signature_days.charge_billing_period,
        signature_days.billing_period,
        signature_days.billing_account_id,
        signature_days.charge_date,
        {{ month_start('signature_days.charge_date') }} as cost_month,
        signature_days.billing_currency,
        signature_days.provider,
        signature_days.sub_account_id,
        signature_days.n_lines,
        signature_days.effective_cost,
        signature_days.billed_cost,
        signature_paths.product,
        signature_paths.product_rule_id,
        signature_paths.team,
        signature_paths.customer_id,
        signature_paths.environment,
        signature_paths.feature_id,
        signature_paths.service_code,
        signature_paths.component,
        signature_paths.allocation_path,
        signature_paths.pool_id
    from signature_days
    inner join signature_paths
        on signature_days.signature_id = signature_paths.signature_id

)

select * from final
