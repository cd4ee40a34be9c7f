{#-
    Unit economics per feature and month. Cost: allocation rows the tag rules gave a feature_id;
    the rest of the product's cost stays on its '(no feature)' row, so a product's features sum
    to the product's cost. Uses: Σ of the product's unit metric on usage rows that name the
    feature. Revenue attributed: the product's revenue × the feature's share of the product's
    unit volume, split to the cent by largest remainder; what no feature used stays on
    '(no feature)', so revenue ties exactly.
    cost_per_feature_margin = (revenue_attributed − cost) / cost: it divides by cost (return on
    each dollar spent on the feature), not by revenue like gross_margin.
    Reporting currency (var reporting_currency): the last step converts each row's money at its
    month's rate (int_unit_economics__reporting_rates) into *_reporting columns rounded to the
    cent, and a margin over all the currencies' rows; the native columns stay as they are.
-#}
with

allocation as (

    select * from {{ ref('fct_cost_allocation') }}
    where product is not null

),

product_months as (

    select * from {{ ref('fct_product_economics_monthly') }}

),

products as (

    select * from {{ ref('products') }}

),

rates as (

    select * from {{ ref('int_unit_economics__reporting_rates') }}

),

feature_costs as (

    select
        cost_month,
        product,
        billing_currency,
        coalesce(feature_id, '(no feature)') as feature_id,
        sum(allocated_effective_cost) as total_cost
    from allocation
    group by
        cost_month,
        product,
        billing_currency,
        coalesce(feature_id, '(no feature)')

),

feature_uses as (

    select
        {{ month_start('usage.usage_date') }} as usage_month,
        usage.product,
        usage.feature_id,
        sum(usage.quantity) as feature_uses
    from {{ ref('stg_usage__metrics') }} as usage
    inner join products
        on
            usage.product = products.product
            and usage.metric = products.unit_metric
    where usage.feature_id is not null
    group by
        {{ month_start('usage.usage_date') }},
        usage.product,
        usage.feature_id

),

features as (

    select
        cost_month,
        product,
        billing_currency,
        feature_id
    from feature_costs

    union

    select
        product_months.cost_month,
        product_months.product,
        product_months.billing_currency,
        feature_uses.feature_id
    from product_months
    inner join feature_uses
        on
            product_months.cost_month = feature_uses.usage_month
            and product_months.product = feature_uses.product

    union

    select
        cost_month,
        product,
        billing_currency,
        '(no feature)' as feature_id
    from product_months

),

attributed as (

    select
        features.cost_month,
        features.product,
        features.billing_currency,
        features.feature_id,
        {{ dbt.concat([
            "cast(features.cost_month as " ~ dbt.type_string() ~ ")", "':'", "features.product",
            "':'", "features.billing_currency",
        ]) }} as product_month_key,
        coalesce(feature_costs.total_cost, 0) as total_cost,
        feature_uses.feature_uses,
        product_months.revenue as product_revenue,
        case
            when product_months.unit_volume > 0
                then coalesce(feature_uses.feature_uses, 0) / product_months.unit_volume
            else 0
        end as use_share
    from features
    inner join product_months
        on
            features.cost_month = product_months.cost_month
            and features.product = product_months.product
            and features.billing_currency = product_months.billing_currency
    left join feature_costs
        on
            features.cost_month = feature_costs.cost_month
            and features.product = feature_costs.product
            and features.billing_currency = feature_costs.billing_currency
            and features.feature_id = feature_costs.feature_id
    left join feature_uses
        on
            features.cost_month = feature_uses.usage_month
            and features.product = feature_uses.product
            and features.feature_id = feature_uses.feature_id

),

{# what no feature used (1 − Σ feature shares) is the '(no feature)' row's share #}
revenue_shares as (

    select
        *,
        case
            when feature_id = '(no feature)'
                then greatest(
                    1 - sum(use_share) over (partition by product_month_key), 0
                )
            else use_share
        end as revenue_share
    from attributed

),

{# cents tie exactly: the product's revenue split by largest remainder #}
split as (

    {{ largest_remainder(
        'revenue_shares', ['product_revenue'], 'revenue_share', ['product_month_key'], 'feature_id',
    ) }}

),

with_remainder as (

    select
        *,
        allocated_product_revenue as revenue_attributed
    from split

),

native as (

    select
        cost_month,
        product,
        feature_id,
        billing_currency,
        cast(total_cost as decimal(38, 12)) as total_cost,
        cast(feature_uses as {{ type_double() }}) as feature_uses,
        {{ safe_ratio('total_cost', 'feature_uses') }} as cost_per_feature_use,
        cast(revenue_attributed as decimal(38, 12)) as revenue_attributed,
        case
            when total_cost > 0
                then {{ safe_ratio('revenue_attributed - total_cost', 'total_cost') }}
        end as cost_per_feature_margin
    from with_remainder

),

{# each row converted and rounded to the cent on its own, so Σ over rows is one figure #}
converted as (

    select
        native.*,
        rates.to_currency as reporting_currency,
        {{ to_reporting('native.total_cost', 'rates.rate') }} as total_cost_reporting,
        {{ to_reporting('native.revenue_attributed', 'rates.rate') }}
            as revenue_attributed_reporting
    from native
    left join rates
        on
            native.cost_month = rates.rate_month
            and native.billing_currency = rates.from_currency

),

{# the feature-month's margin over all its currencies #}
feature_month_totals as (

    select
        *,
        sum(total_cost_reporting) over (
            partition by cost_month, product, feature_id
        ) as feature_cost_reporting,
        sum(revenue_attributed_reporting) over (
            partition by cost_month, product, feature_id
        ) as feature_revenue_reporting
    from converted

),

final as (

    select
        cost_month,
        product,
        feature_id,
        billing_currency,
        total_cost,
        feature_uses,
        cost_per_feature_use,
        revenue_attributed,
        cost_per_feature_margin,
        reporting_currency,
        total_cost_reporting,
        revenue_attributed_reporting,
        case
            when feature_cost_reporting > 0
                then {{ safe_ratio(
                    'feature_revenue_reporting - feature_cost_reporting', 'feature_cost_reporting'
                ) }}
        end as cost_per_feature_margin_reporting
    from feature_month_totals

)

select * from final
