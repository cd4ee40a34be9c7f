{#-
    Storage cost model per product and month: what one unit should cost when storage is priced
    over its whole retention, not just the month it was written:
        modeled cost per unit = compute_cost / volume + storage_rate × avg_size × retention
    compute_cost is every non-storage component of the product's cost (compute, network,
    database, ClickHouse, AI, other); the storage parameters are reviewable config
    (seeds/rules/storage_cost_parameters.csv). The actual cost per unit is beside it for comparison.
-#}
with

product_months as (

    select * from {{ ref('fct_product_economics_monthly') }}

),

parameters as (

    select * from {{ ref('storage_cost_parameters') }}

),

final as (

    select
        product_months.cost_month,
        product_months.product,
        product_months.billing_currency,
        product_months.unit_name,
        product_months.unit_volume,
        cast(product_months.total_cost - product_months.storage_cost as decimal(38, 12))
            as compute_cost,
        product_months.storage_cost as actual_storage_cost,
        cast(parameters.storage_rate_per_gb_month as {{ type_double() }})
            as storage_rate_per_gb_month,
        cast(parameters.avg_size_gb as {{ type_double() }}) as avg_size_gb,
        cast(parameters.retention_months as {{ type_double() }}) as retention_months,
        {{ safe_ratio(
            'product_months.total_cost - product_months.storage_cost',
            'product_months.unit_volume',
        ) }} as compute_cost_per_unit,
        cast(
            parameters.storage_rate_per_gb_month
            * parameters.avg_size_gb
            * parameters.retention_months as {{ type_double() }}
        ) as storage_cost_per_unit,
        {{ safe_ratio(
            'product_months.total_cost - product_months.storage_cost',
            'product_months.unit_volume',
        ) }}
        + parameters.storage_rate_per_gb_month
        * parameters.avg_size_gb
        * parameters.retention_months as modeled_cost_per_unit,
        product_months.cost_per_unit as actual_cost_per_unit
    from product_months
    inner join parameters
        on product_months.product = parameters.product

)

select * from final
