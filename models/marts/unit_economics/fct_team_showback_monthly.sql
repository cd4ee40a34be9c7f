{#-
    Showback: cost per team and month, against an optional budget. A row's team is the team tag
    its rule gave it; shared-pool rows (no tag) go to the product's owner team
    (seeds/rules/products.csv); unallocated money is its own '(unallocated)' team, so the teams sum to
    the whole allocation. Budgets (seeds/rules/team_budgets.csv): a row for a month overrides the
    team's default row (blank budget_month).
    Forecast: the month of the forecast's as-of day (fct_cost_forecast_monthly, level 'team')
    carries the month-end forecast and its band, and budget_status says where the month is
    heading: 'over_budget' (already spent more), 'on_track_to_exceed' (forecast > budget),
    'may_exceed' (only the band's high end > budget), 'within_budget'. Other months: their
    actual against the budget. No budget → null.
    Reporting currency (var reporting_currency): the last step converts each row's money at its
    month's rate (int_unit_economics__reporting_rates) into *_reporting columns rounded to the
    cent; the native columns stay as they are.
-#}
with

allocation as (

    select * from {{ ref('fct_cost_allocation') }}

),

products as (

    select * from {{ ref('products') }}

),

budgets as (

    select * from {{ ref('team_budgets') }}

),

forecasts as (

    select * from {{ ref('fct_cost_forecast_monthly') }}
    where level = 'team'

),

rates as (

    select * from {{ ref('int_unit_economics__reporting_rates') }}

),

team_costs as (

    select
        allocation.cost_month,
        allocation.billing_currency,
        case
            when allocation.is_unallocated then '(unallocated)'
            else coalesce(allocation.team, products.owner_team, '(no owner)')
        end as team,
        sum(allocation.allocated_effective_cost) as total_cost,
        sum(
            case
                when allocation.source_kind = 'line_group' then allocation.allocated_effective_cost
                else 0
            end
        ) as direct_cost
    from allocation
    left join products
        on allocation.product = products.product
    group by
        allocation.cost_month,
        allocation.billing_currency,
        case
            when allocation.is_unallocated then '(unallocated)'
            else coalesce(allocation.team, products.owner_team, '(no owner)')
        end

),

with_budget as (

    select
        team_costs.*,
        coalesce(month_budgets.monthly_budget, default_budgets.monthly_budget) as budget
    from team_costs
    left join budgets as month_budgets
        on
            team_costs.team = month_budgets.team
            and team_costs.billing_currency = month_budgets.currency
            and team_costs.cost_month = month_budgets.budget_month
    left join budgets as default_budgets
        on
            team_costs.team = default_budgets.team
            and team_costs.billing_currency = default_budgets.currency
            and default_budgets.budget_month is null

),

native as (

    select
        cost_month,
        team,
        billing_currency,
        cast(total_cost as decimal(38, 12)) as total_cost,
        cast(direct_cost as decimal(38, 12)) as direct_cost,
        cast(total_cost - direct_cost as decimal(38, 12)) as shared_cost,
        {{ money('budget') }} as budget,
        cast(budget - total_cost as decimal(38, 12)) as budget_remaining,
        {{ safe_ratio('total_cost', 'budget') }} as budget_used,
        coalesce(total_cost > budget, false) as is_over_budget
    from with_budget

),

with_forecast as (

    select
        native.*,
        forecasts.as_of_date as forecast_as_of_date,
        forecasts.forecast_cost,
        forecasts.forecast_low_cost,
        forecasts.forecast_high_cost,
        cast(forecasts.forecast_cost - native.budget as decimal(38, 12)) as forecast_over_budget,
        case
            when native.budget is null then null
            when native.total_cost > native.budget then 'over_budget'
            when forecasts.forecast_cost > native.budget then 'on_track_to_exceed'
            when forecasts.forecast_high_cost > native.budget then 'may_exceed'
            else 'within_budget'
        end as budget_status
    from native
    left join forecasts
        on
            native.cost_month = forecasts.cost_month
            and native.team = forecasts.level_value
            and native.billing_currency = forecasts.billing_currency

),

{# each row converted and rounded to the cent on its own, so Σ over rows is one figure #}
final as (

    select
        with_forecast.*,
        rates.to_currency as reporting_currency,
        {{ to_reporting('with_forecast.total_cost', 'rates.rate') }} as total_cost_reporting,
        {{ to_reporting('with_forecast.budget', 'rates.rate') }} as budget_reporting
    from with_forecast
    left join rates
        on
            with_forecast.cost_month = rates.rate_month
            and with_forecast.billing_currency = rates.from_currency

)

select * from final
