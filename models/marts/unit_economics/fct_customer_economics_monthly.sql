{#-
    Unit economics per customer and month: what the customer pays (MRR = the month's revenue
    lines), what serving them cost (every allocation row carrying their customer id: direct
    tagged lines plus their share of each product's cost), and the margin. A customer with
    revenue but no cost, or cost but no revenue, still gets a row. margin_rank = 1 is the
    worst margin of the month and currency.

    Product cost no customer driver reached (unallocated_reason no_customer) is the explicit
    '(unallocated)' customer of its month and currency, so Σ total_cost ties to the product
    marts; it has no revenue, no margin and no rank, and is never a negative-margin customer.
    Reporting currency (var reporting_currency): the last step converts each row's money at its
    month's rate (int_unit_economics__reporting_rates) into *_reporting columns rounded to the
    cent, and a margin over all the currencies' rows; the native columns stay as they are.
-#}
with

allocation as (

    select
        *,
        coalesce(customer_id, '(unallocated)') as cost_customer_id
    from {{ ref('fct_cost_allocation') }}
    where customer_id is not null or unallocated_reason = 'no_customer'

),

customers as (

    select * from {{ ref('stg_revenue__customers') }}

),

rates as (

    select * from {{ ref('int_unit_economics__reporting_rates') }}

),

costs as (

    select
        cost_month,
        cost_customer_id as customer_id,
        billing_currency,
        sum(allocated_effective_cost) as total_cost,
        count(distinct product) as n_products
    from allocation
    group by
        cost_month,
        cost_customer_id,
        billing_currency

),

revenue as (

    select
        revenue_month,
        customer_id,
        currency,
        sum(revenue_amount) as mrr
    from {{ ref('stg_revenue__revenue') }}
    group by
        revenue_month,
        customer_id,
        currency

),

cost_and_revenue as (

    select
        coalesce(costs.cost_month, revenue.revenue_month) as cost_month,
        coalesce(costs.customer_id, revenue.customer_id) as customer_id,
        coalesce(costs.billing_currency, revenue.currency) as billing_currency,
        coalesce(costs.total_cost, 0) as total_cost,
        coalesce(costs.n_products, 0) as n_products,
        coalesce(revenue.mrr, 0) as mrr
    from costs
    full outer join revenue
        on
            costs.cost_month = revenue.revenue_month
            and costs.customer_id = revenue.customer_id
            and costs.billing_currency = revenue.currency

),

with_trend as (

    select
        current_month.*,
        current_month.customer_id = '(unallocated)' as is_unallocated,
        previous_month.total_cost as previous_month_cost,
        case
            when current_month.customer_id <> '(unallocated)'
                then {{ gross_margin('current_month.mrr', 'current_month.total_cost') }}
        end as gross_margin
    from cost_and_revenue as current_month
    left join cost_and_revenue as previous_month
        on
            current_month.customer_id = previous_month.customer_id
            and current_month.billing_currency = previous_month.billing_currency
            and previous_month.cost_month
            = cast({{ dbt.dateadd('month', -1, 'current_month.cost_month') }} as date)

),

native as (

    select
        with_trend.cost_month,
        with_trend.customer_id,
        case
            when with_trend.is_unallocated then '(unallocated: no customer driver)'
            else customers.customer_name
        end as customer_name,
        customers.plan,
        customers.status as customer_status,
        with_trend.billing_currency,
        cast(with_trend.mrr as decimal(38, 12)) as mrr,
        cast(with_trend.total_cost as decimal(38, 12)) as total_cost,
        cast(with_trend.mrr - with_trend.total_cost as decimal(38, 12)) as gross_profit,
        with_trend.gross_margin,
        with_trend.gross_margin < 0 as is_negative_margin,
        case when not with_trend.is_unallocated then cast(row_number() over (
            partition by
                with_trend.cost_month, with_trend.billing_currency, with_trend.is_unallocated
            order by
                coalesce(with_trend.gross_margin, 0),
                with_trend.mrr - with_trend.total_cost,
                with_trend.customer_id
        ) as bigint) end as margin_rank,
        cast(with_trend.n_products as integer) as n_products,
        cast(with_trend.previous_month_cost as decimal(38, 12)) as previous_month_cost,
        {{ safe_ratio('with_trend.total_cost', 'with_trend.previous_month_cost') }} - 1
            as mom_cost_change,
        with_trend.is_unallocated
    from with_trend
    left join customers
        on with_trend.customer_id = customers.customer_id

),

{# each row converted and rounded to the cent on its own, so Σ over rows is one figure #}
converted as (

    select
        native.*,
        rates.to_currency as reporting_currency,
        {{ to_reporting('native.mrr', 'rates.rate') }} as mrr_reporting,
        {{ to_reporting('native.total_cost', 'rates.rate') }} as total_cost_reporting
    from native
    left join rates
        on
            native.cost_month = rates.rate_month
            and native.billing_currency = rates.from_currency

),

{# the customer-month's margin over all its currencies (MRR in EUR, cost in USD) #}
final as (

    select
        *,
        {{ money('mrr_reporting - total_cost_reporting') }} as gross_profit_reporting,
        case
            when not is_unallocated
                then {{ gross_margin(
                    'sum(mrr_reporting) over (partition by cost_month, customer_id)',
                    'sum(total_cost_reporting) over (partition by cost_month, customer_id)',
                ) }}
        end as gross_margin_reporting
    from converted

)

select * from final
