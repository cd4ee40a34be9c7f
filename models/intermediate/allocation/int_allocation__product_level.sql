{#- All allocation rows at product level, one shape: direct line groups (source = the group of
    lines with one target on one day) and pool groups split to products (source = the pool
    group). Residual rows are kept too, with their reason, so the next step sees every dollar.
    Every row keeps the bill (billing period, billing account) of its source's lines. -#}
with

direct as (

    select * from {{ ref('int_allocation__direct') }}

),

shared as (

    select * from {{ ref('int_allocation__shared') }}

),

final as (

    select
        'line_group' as source_kind,
        line_group_key as source_key,
        'day' as period_grain,
        charge_date as period_start,
        billing_currency,
        billing_period,
        billing_account_id,
        rule_id,
        method,
        cast(null as {{ dbt.type_string() }}) as share_basis,
        cast(null as {{ dbt.type_string() }}) as driver_name,
        cast(null as double) as driver_quantity,
        cast(null as {{ dbt.type_string() }}) as service_path,
        1.0 as product_share,
        product,
        customer_id,
        team,
        feature_id,
        environment,
        service_code,
        component,
        unallocated_reason,
        source_effective_cost,
        source_billed_cost,
        allocated_effective_cost,
        allocated_billed_cost
    from direct

    union all

    select
        'pool_group' as source_kind,
        pool_group_key as source_key,
        share_grain as period_grain,
        period_start,
        billing_currency,
        billing_period,
        billing_account_id,
        pool_id as rule_id,
        method,
        share_basis,
        driver_name,
        driver_quantity,
        service_path,
        share as product_share,
        product,
        cast(null as {{ dbt.type_string() }}) as customer_id,
        cast(null as {{ dbt.type_string() }}) as team,
        cast(null as {{ dbt.type_string() }}) as feature_id,
        cast(null as {{ dbt.type_string() }}) as environment,
        service_code,
        component,
        unallocated_reason,
        source_effective_cost,
        source_billed_cost,
        allocated_effective_cost,
        allocated_billed_cost
    from shared

)

select * from final
