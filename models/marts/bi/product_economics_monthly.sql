{#-
    fct_product_economics_monthly for a BI tool: every money column decimal(18,2), so 21.51
    shows as 21.51 and zero as 0.00. The exact mart stays the truth; this view only rounds it
    (macros/bi/cents.sql), in an order that keeps the totals and the row's sums:

      1. total_cost and revenue: largest remainder per month and currency, so each column's sum
         is the exact sum rounded to the cent and every row within a cent of the mart;
      2. direct + shared, and the components: the row's rounded total_cost split by largest
         remainder within the row, so each decomposition adds up to total_cost exactly;
      3. gross_profit = revenue − total_cost and previous_month_cost = the previous month's
         rounded total_cost, so the view agrees with itself.
    Ratios (per unit, margin, change) are the mart's, computed from the exact money.
-#}
{%- set components = [] -%}
{%- for component in var('cost_components') -%}
    {%- do components.append(component ~ '_cost') -%}
{%- endfor %}
with

mart as (

    select * from {{ ref('fct_product_economics_monthly') }}

),

floored as (

    select
        *,
        {{ cent_floors(['total_cost', 'revenue', 'direct_cost', 'shared_cost'] + components) }}
    from mart

),

totals as (

    {{ cents_by_column(
        'floored', ['total_cost', 'revenue'], ['cost_month', 'billing_currency'], 'product'
    ) }}

),

split as (

    select
        *,
        {{ cents_within_row('total_cost_cents', ['direct_cost', 'shared_cost']) }},
        {{ cents_within_row('total_cost_cents', components) }}
    from totals

),

final as (

    select
        split.cost_month,
        split.product,
        split.product_name,
        split.billing_currency,
        {{ cents_to_money('split.total_cost_cents') }} as total_cost,
        {{ cents_to_money('split.direct_cost_cents') }} as direct_cost,
        {{ cents_to_money('split.shared_cost_cents') }} as shared_cost,
        {%- for component in components %}
            {{ cents_to_money('split.' ~ component ~ '_cents') }} as {{ component }},
        {%- endfor %}
        split.unit_name,
        split.unit_volume,
        split.cost_per_unit,
        {{ cents_to_money('split.revenue_cents') }} as revenue,
        split.revenue_per_unit,
        {{ cents_to_money('split.revenue_cents - split.total_cost_cents') }} as gross_profit,
        split.gross_margin,
        {{ cents_to_money('previous_month.total_cost_cents') }} as previous_month_cost,
        split.mom_cost_change,
        split.reporting_currency,
        cast(split.total_cost_reporting as decimal(18, 2)) as total_cost_reporting,
        cast(split.revenue_reporting as decimal(18, 2)) as revenue_reporting,
        cast(split.gross_profit_reporting as decimal(18, 2)) as gross_profit_reporting,
        split.gross_margin_reporting
    from split
    left join split as previous_month
        on
            split.product = previous_month.product
            and split.billing_currency = previous_month.billing_currency
            and previous_month.cost_month
            = cast({{ dbt.dateadd('month', -1, 'split.cost_month') }} as date)

)

select * from final
