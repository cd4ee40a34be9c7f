{#-
    fct_team_showback_monthly for a BI tool: money as decimal(18,2). total_cost is rounded by
    largest remainder per month and currency (macros/bi/cents.sql), so its sum is the exact sum
    rounded to the cent and every row within a cent of the mart; direct_cost + shared_cost is
    the rounded total split within the row, so it adds up exactly; budget is cent-exact already;
    budget_remaining = budget − total_cost on the row. budget_used and is_over_budget are the
    mart's, computed from the exact cost. The forecast columns are estimates shown to the
    cent; forecast_over_budget = forecast_cost − budget on the row.
-#}
with

mart as (

    select * from {{ ref('fct_team_showback_monthly') }}

),

floored as (

    select
        *,
        {{ cent_floors(['total_cost', 'direct_cost', 'shared_cost']) }}
    from mart

),

totals as (

    {{ cents_by_column(
        'floored', ['total_cost'], ['cost_month', 'billing_currency'], 'team'
    ) }}

),

split as (

    select
        *,
        {{ cents_within_row('total_cost_cents', ['direct_cost', 'shared_cost']) }}
    from totals

),

final as (

    select
        cost_month,
        team,
        billing_currency,
        {{ cents_to_money('total_cost_cents') }} as total_cost,
        {{ cents_to_money('direct_cost_cents') }} as direct_cost,
        {{ cents_to_money('shared_cost_cents') }} as shared_cost,
        cast(budget as decimal(18, 2)) as budget,
        cast(
            cast(budget as decimal(18, 2)) - {{ cents_to_money('total_cost_cents') }}
            as decimal(18, 2)
        ) as budget_remaining,
        budget_used,
        is_over_budget,
        forecast_as_of_date,
        cast(forecast_cost as decimal(18, 2)) as forecast_cost,
        cast(forecast_low_cost as decimal(18, 2)) as forecast_low_cost,
        cast(forecast_high_cost as decimal(18, 2)) as forecast_high_cost,
        cast(
            cast(forecast_cost as decimal(18, 2)) - cast(budget as decimal(18, 2))
            as decimal(18, 2)
        ) as forecast_over_budget,
        budget_status,
        reporting_currency,
        cast(total_cost_reporting as decimal(18, 2)) as total_cost_reporting,
        cast(budget_reporting as decimal(18, 2)) as budget_reporting
    from split

)

select * from final
