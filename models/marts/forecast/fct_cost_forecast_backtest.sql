{#-
    The month-end forecast replayed on the past: for every complete month and as-of day
    forecast.backtest_days (7, 14, 21), the forecast made with the data up to that day next to
    the month's actual cost, per billing currency × level × level value. A series with cost in
    the month but none by the as-of day (a customer that starts later) has forecast 0; one
    forecast but without cost in the month has actual 0: both count, as they would have misled.
-#}
with

forecasts as (

    select * from {{ ref('int_forecast__month_end') }}
    where is_backtest

),

as_of_dates as (

    select * from {{ ref('int_forecast__as_of_dates') }}
    where is_backtest

),

daily_costs as (

    select * from {{ ref('int_forecast__daily_costs') }}

),

actuals as (

    select
        as_of_dates.as_of_date,
        daily_costs.billing_currency,
        daily_costs.level,
        daily_costs.level_value,
        sum(daily_costs.day_cost + daily_costs.month_cost) as actual_cost
    from daily_costs
    inner join as_of_dates
        on {{ month_start('daily_costs.cost_date') }} = {{ month_start('as_of_dates.as_of_date') }}
    group by
        as_of_dates.as_of_date,
        daily_costs.billing_currency,
        daily_costs.level,
        daily_costs.level_value

),

joined as (

    select
        coalesce(forecasts.as_of_date, actuals.as_of_date) as as_of_date,
        coalesce(forecasts.billing_currency, actuals.billing_currency) as billing_currency,
        coalesce(forecasts.level, actuals.level) as level,
        coalesce(forecasts.level_value, actuals.level_value) as level_value,
        coalesce(forecasts.forecast_method, 'no_history') as forecast_method,
        cast(coalesce(forecasts.forecast_cost, 0) as decimal(38, 12)) as forecast_cost,
        cast(
            coalesce(forecasts.forecast_low_cost, forecasts.forecast_cost, 0)
            as decimal(38, 12)
        ) as forecast_low_cost,
        cast(
            coalesce(forecasts.forecast_high_cost, forecasts.forecast_cost, 0)
            as decimal(38, 12)
        ) as forecast_high_cost,
        forecasts.forecast_low_cost is not null as has_band,
        cast(coalesce(actuals.actual_cost, 0) as decimal(38, 12)) as actual_cost
    from forecasts
    full outer join actuals
        on
            forecasts.as_of_date = actuals.as_of_date
            and forecasts.billing_currency = actuals.billing_currency
            and forecasts.level = actuals.level
            and forecasts.level_value = actuals.level_value

),

final as (

    select
        as_of_date,
        {{ month_start('as_of_date') }} as cost_month,
        {#- bigint on every engine (Spark's day arithmetic gives int) #}
        cast(
            {{ dbt.datediff(month_start('as_of_date'), 'as_of_date', 'day') }} + 1  -- noqa: LT05
            as {{ dbt.type_bigint() }}
        ) as as_of_day,
        billing_currency,
        level,
        level_value,
        forecast_method,
        forecast_cost,
        forecast_low_cost,
        forecast_high_cost,
        has_band,
        actual_cost,
        cast(forecast_cost - actual_cost as decimal(38, 12)) as forecast_error,
        case
            when actual_cost <> 0
                then
                    abs(cast(forecast_cost - actual_cost as {{ type_double() }}))
                    / abs(cast(actual_cost as {{ type_double() }}))
        end as abs_pct_error,
        case
            when has_band
                then actual_cost >= forecast_low_cost and actual_cost <= forecast_high_cost
        end as is_within_band
    from joined

)

select * from final
