{#-
    How good is the month-end forecast? The backtest (fct_cost_forecast_backtest) summed up per
    billing currency × level × as-of day of the month, over every complete month:
    MAPE = mean of |forecast − actual| / |actual| over the series with a non-zero actual (the
    usual figure; small series weigh as much as big ones), WAPE = Σ|forecast − actual| / Σ|actual|
    (weighted by cost: the error on the money), and band_coverage = share of the series with a
    band whose actual fell inside it.
-#}
with

backtest as (

    select * from {{ ref('fct_cost_forecast_backtest') }}

),

final as (

    select
        billing_currency,
        level,
        as_of_day,
        count(distinct cost_month) as months,
        count(*) as forecasts,
        avg(abs_pct_error) as mape,
        case
            when sum(abs(actual_cost)) <> 0
                then
                    cast(sum(abs(forecast_error)) as {{ type_double() }})
                    / cast(sum(abs(actual_cost)) as {{ type_double() }})
        end as wape,
        {#- double on every engine (Spark averages decimal literals as decimal) #}
        avg(
            case
                when is_within_band then cast(1 as {{ type_double() }})
                when has_band then cast(0 as {{ type_double() }})
            end
        ) as band_coverage
    from backtest
    group by
        billing_currency,
        level,
        as_of_day

)

select * from final
