{#-
    Cost per active tenant (CPT) and cost per request (CPR) per month, for the whole company
    (scope 'all') and per product. For 'all' the cost is everything the bill puts in the
    allocation, unallocated buckets included: serving tenants is what the whole bill pays for.
    For a product it is the product's allocated cost. Active tenant = a customer with any usage
    quantity > 0 in the month (counted once company-wide even if they use several products);
    requests = Σ of each product's request metric (seeds/rules/products.csv).
-#}
with

allocation as (

    select * from {{ ref('fct_cost_allocation') }}

),

product_months as (

    select * from {{ ref('fct_product_economics_monthly') }}

),

product_usage as (

    select * from {{ ref('int_unit_economics__product_usage_monthly') }}

),

company_usage as (

    select
        {{ month_start('usage.usage_date') }} as usage_month,
        count(distinct case when usage.quantity > 0 then usage.customer_id end)
            as active_tenants,
        sum(
            case when usage.metric = products.request_metric then usage.quantity else 0 end
        ) as requests
    from {{ ref('stg_usage__metrics') }} as usage
    inner join {{ ref('products') }} as products
        on usage.product = products.product
    group by {{ month_start('usage.usage_date') }}

),

company_costs as (

    select
        cost_month,
        billing_currency,
        sum(allocated_effective_cost) as total_cost
    from allocation
    group by
        cost_month,
        billing_currency

),

scopes as (

    select
        company_costs.cost_month,
        'all' as scope_type,
        'all' as scope,
        company_costs.billing_currency,
        company_costs.total_cost,
        coalesce(company_usage.active_tenants, 0) as active_tenants,
        coalesce(company_usage.requests, 0) as requests
    from company_costs
    left join company_usage
        on company_costs.cost_month = company_usage.usage_month

    union all

    select
        product_months.cost_month,
        'product' as scope_type,
        product_months.product as scope,
        product_months.billing_currency,
        product_months.total_cost,
        coalesce(product_usage.active_tenants, 0) as active_tenants,
        coalesce(product_usage.requests, 0) as requests
    from product_months
    left join product_usage
        on
            product_months.cost_month = product_usage.usage_month
            and product_months.product = product_usage.product

),

final as (

    select
        cost_month,
        scope_type,
        scope,
        billing_currency,
        cast(total_cost as decimal(38, 12)) as total_cost,
        cast(active_tenants as bigint) as active_tenants,
        cast(requests as {{ type_double() }}) as requests,
        {{ safe_ratio('total_cost', 'active_tenants') }} as cost_per_tenant,
        {{ safe_ratio('total_cost', 'requests') }} as cost_per_request
    from scopes

)

select * from final
