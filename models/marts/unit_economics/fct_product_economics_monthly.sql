{#-
    Unit economics per product and month: what the product cost (direct + shared, by
    component), how much it served (its billing unit, from usage), what it earned, and the
    margin. Revenue without cost and cost without revenue both appear (full outer join), so
    Σ total_cost ties to the allocation fact and Σ revenue ties to the revenue export.
    Reporting currency (var reporting_currency): the last step converts each row's money at its
    month's rate (int_unit_economics__reporting_rates) into *_reporting columns rounded to the
    cent, and a margin over all the currencies' rows; the native columns stay as they are.
-#}
with

costs as (

    select * from {{ ref('int_unit_economics__product_costs_monthly') }}

),

usage as (

    select * from {{ ref('int_unit_economics__product_usage_monthly') }}

),

products as (

    select * from {{ ref('products') }}

),

rates as (

    select * from {{ ref('int_unit_economics__reporting_rates') }}

),

revenue as (

    {#- revenue not booked to a product stays visible on its own row -#}
    select
        revenue_month,
        coalesce(product, '(no product)') as product,
        currency,
        sum(revenue_amount) as revenue
    from {{ ref('stg_revenue__revenue') }}
    group by
        revenue_month,
        coalesce(product, '(no product)'),
        currency

),

cost_and_revenue as (

    select
        coalesce(costs.cost_month, revenue.revenue_month) as cost_month,
        coalesce(costs.product, revenue.product) as product,
        coalesce(costs.billing_currency, revenue.currency) as billing_currency,
        {%- for column in ['total_cost', 'direct_cost', 'shared_cost'] %}
            coalesce(costs.{{ column }}, 0) as {{ column }},
        {%- endfor %}
        {%- for component in var('cost_components') %}
            coalesce(costs.{{ component }}_cost, 0) as {{ component }}_cost,
        {%- endfor %}
        coalesce(revenue.revenue, 0) as revenue
    from costs
    full outer join revenue
        on
            costs.cost_month = revenue.revenue_month
            and costs.product = revenue.product
            and costs.billing_currency = revenue.currency

),

with_volume as (

    select
        cost_and_revenue.*,
        products.display_name as product_name,
        products.unit_name,
        coalesce(usage.unit_volume, 0) as unit_volume
    from cost_and_revenue
    left join products
        on cost_and_revenue.product = products.product
    left join usage
        on
            cost_and_revenue.cost_month = usage.usage_month
            and cost_and_revenue.product = usage.product

),

native as (

    select
        current_month.cost_month,
        current_month.product,
        current_month.product_name,
        current_month.billing_currency,
        cast(current_month.total_cost as decimal(38, 12)) as total_cost,
        cast(current_month.direct_cost as decimal(38, 12)) as direct_cost,
        cast(current_month.shared_cost as decimal(38, 12)) as shared_cost,
        {%- for component in var('cost_components') %}
            cast(current_month.{{ component }}_cost as decimal(38, 12)) as {{ component }}_cost,
        {%- endfor %}
        current_month.unit_name,
        cast(current_month.unit_volume as {{ type_double() }}) as unit_volume,
        {{ safe_ratio('current_month.total_cost', 'current_month.unit_volume') }}
            as cost_per_unit,
        cast(current_month.revenue as decimal(38, 12)) as revenue,
        {{ safe_ratio('current_month.revenue', 'current_month.unit_volume') }}
            as revenue_per_unit,
        cast(current_month.revenue - current_month.total_cost as decimal(38, 12))
            as gross_profit,
        {{ gross_margin('current_month.revenue', 'current_month.total_cost') }} as gross_margin,
        cast(previous_month.total_cost as decimal(38, 12)) as previous_month_cost,
        {{ safe_ratio('current_month.total_cost', 'previous_month.total_cost') }} - 1
            as mom_cost_change
    from with_volume as current_month
    left join with_volume as previous_month
        on
            current_month.product = previous_month.product
            and current_month.billing_currency = previous_month.billing_currency
            and previous_month.cost_month
            = cast({{ dbt.dateadd('month', -1, 'current_month.cost_month') }} as date)

),

{# each row converted and rounded to the cent on its own, so Σ over rows is one figure #}
converted as (

    select
        native.*,
        rates.to_currency as reporting_currency,
        {{ to_reporting('native.total_cost', 'rates.rate') }} as total_cost_reporting,
        {{ to_reporting('native.revenue', 'rates.rate') }} as revenue_reporting
    from native
    left join rates
        on
            native.cost_month = rates.rate_month
            and native.billing_currency = rates.from_currency

),

{# the margin of the product-month over all its currencies (cost in EUR, revenue in USD) #}
final as (

    select
        *,
        {{ money('revenue_reporting - total_cost_reporting') }} as gross_profit_reporting,
        {{ gross_margin(
            'sum(revenue_reporting) over (partition by cost_month, product)',
            'sum(total_cost_reporting) over (partition by cost_month, product)',
        ) }} as gross_margin_reporting
    from converted

)

select * from final
