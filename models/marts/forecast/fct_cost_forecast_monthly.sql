{#-
    Where will this month land? The month-end forecast with a low / high band as of the current
    as-of day (var forecast.as_of_date; default the last day with cost), per billing currency
    and level: 'total', each product, customer and team (the showback mart's teams). The
    method is int_forecast__month_end's: month to date + weekday run rate of the trailing 4
    weeks for the remaining days, band from the robust spread of the daily residuals. Rebuilt
    by every build, so it moves with the data.
-#}
with

forecasts as (

    select * from {{ ref('int_forecast__month_end') }}
    where is_current

),

final as (

    select
        as_of_date,
        cost_month,
        billing_currency,
        level,
        level_value,
        {#- bigint on every engine (Spark's day arithmetic gives int) #}
        cast(days_in_month as {{ dbt.type_bigint() }}) as days_in_month,
        cast(days_elapsed as {{ dbt.type_bigint() }}) as days_elapsed,
        cast(days_remaining as {{ dbt.type_bigint() }}) as days_remaining,
        history_days,
        forecast_method,
        month_to_date_cost,
        remaining_cost,
        forecast_cost,
        forecast_low_cost,
        forecast_high_cost
    from forecasts

)

select * from final
