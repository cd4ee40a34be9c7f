{#-
    The growth-review list: customers who cost more to serve than they pay, worst loss first
    (largest negative gross profit), newest month first. Free customers with any cost are here
    by the −100 % convention of macros/unit_economics/gross_margin.sql.
-#}
with

customers as (

    select * from {{ ref('fct_customer_economics_monthly') }}
    where is_negative_margin

),

final as (

    select
        cost_month,
        customer_id,
        customer_name,
        plan,
        billing_currency,
        mrr,
        total_cost,
        gross_profit,
        gross_margin,
        margin_rank,
        mom_cost_change
    from customers

)

select * from final
order by cost_month desc, gross_profit asc, customer_id asc
