{#-
    fct_customer_economics_monthly for a BI tool: mrr, total_cost and gross_profit as
    decimal(18,2). mrr and total_cost are rounded by largest remainder per month and currency
    (macros/bi/cents.sql), so each column's sum is the exact sum rounded to the cent and every
    row within a cent of the mart; gross_profit = mrr − total_cost on the row and
    previous_month_cost = the previous month's rounded total_cost, so the view agrees with
    itself. Margin, rank and change are the mart's, computed from the exact money.
-#}
with

mart as (

    select * from {{ ref('fct_customer_economics_monthly') }}

),

floored as (

    select
        *,
        {{ cent_floors(['mrr', 'total_cost']) }}
    from mart

),

totals as (

    {{ cents_by_column(
        'floored', ['mrr', 'total_cost'], ['cost_month', 'billing_currency'], 'customer_id'
    ) }}

),

final as (

    select
        totals.cost_month,
        totals.customer_id,
        totals.customer_name,
        totals.plan,
        totals.customer_status,
        totals.billing_currency,
        {{ cents_to_money('totals.mrr_cents') }} as mrr,
        {{ cents_to_money('totals.total_cost_cents') }} as total_cost,
        {{ cents_to_money('totals.mrr_cents - totals.total_cost_cents') }} as gross_profit,
        totals.gross_margin,
        totals.is_negative_margin,
        totals.margin_rank,
        totals.n_products,
        {{ cents_to_money('previous_month.total_cost_cents') }} as previous_month_cost,
        totals.mom_cost_change,
        totals.is_unallocated,
        totals.reporting_currency,
        cast(totals.mrr_reporting as decimal(18, 2)) as mrr_reporting,
        cast(totals.total_cost_reporting as decimal(18, 2)) as total_cost_reporting,
        cast(totals.gross_profit_reporting as decimal(18, 2)) as gross_profit_reporting,
        totals.gross_margin_reporting
    from totals
    left join totals as previous_month
        on
            totals.customer_id = previous_month.customer_id
            and totals.billing_currency = previous_month.billing_currency
            and previous_month.cost_month
            = cast({{ dbt.dateadd('month', -1, 'totals.cost_month') }} as date)

)

select * from final
