{#-
    Month-end forecast per series (billing currency × level × level value) and as-of day
    (int_forecast__as_of_dates): where will the month of the as-of day land?

    forecast = month to date (day- and month-grain cost from the 1st to the as-of day)
             + Σ over the month's remaining days of the run rate of that day's weekday.
    Run rate: the mean day-grain cost per weekday over the trailing forecast.trailing_days (28 =
    4 of each weekday), as-of day included. A series with fewer than forecast.min_history_days
    (7) days in the window (new in the data, or the data's first week) uses the flat mean of
    the days it has for every weekday ('flat_run_rate').
    Band: forecast ± band_k (2) × σ × √(days remaining), σ = 1.4826 × MAD of the window's daily
    residuals (cost − the run rate of its weekday): a robust σ that one spike day does not
    inflate, widened by √n as for a sum of n independent daily errors. It needs
    forecast.band_min_history_days (14) in the window: against a weekday mean of one day every
    residual is 0, a band of width 0 that would claim certainty. Too little history → null band.
    Day 1: the window reaches back into the previous month, so the run rate is last month's.
    Closed month (as-of day = its last day): forecast = month to date, band width 0 ('actual').
    All money in billing_currency; the extrapolated part is rounded to the cent.
-#}
{%- set settings = {
    'trailing_days': 28, 'min_history_days': 7, 'band_min_history_days': 14, 'band_k': 2,
} -%}
{%- do settings.update(var('forecast', {})) -%}
{%- set trailing_days = settings['trailing_days'] | int -%}
{%- set min_history_days = settings['min_history_days'] | int -%}
{%- set band_min_history_days = settings['band_min_history_days'] | int -%}
{%- if min_history_days < 7 or trailing_days < min_history_days -%}
    {{ exceptions.raise_compiler_error(
        "var forecast: min_history_days must be at least 7 (one of each weekday) and at most "
        ~ "trailing_days; got min_history_days=" ~ min_history_days
        ~ ", trailing_days=" ~ trailing_days ~ ". Fix the var in dbt_project.yml or --vars."
    ) }}
{%- endif -%}
{#- 2000-01-03 is a Monday: weekday 0 = Monday … 6 = Sunday -#}
{%- set weekday_of = "mod(" ~ dbt.datediff("cast('2000-01-03' as date)", "{}", "day") ~ ", 7)" -%}
with

daily_costs as (

    select * from {{ ref('int_forecast__daily_costs') }}

),

as_of_dates as (

    select * from {{ ref('int_forecast__as_of_dates') }}

),

as_of as (

    select
        as_of_date,
        is_current,
        is_backtest,
        {{ month_start('as_of_date') }} as cost_month,
        cast({{ dbt.dateadd(
            'day', '-1', dbt.dateadd('month', '1', month_start('as_of_date'))
        ) }} as date) as month_end_date
    from as_of_dates

),

window_days as (

    select
        as_of.as_of_date,
        daily_costs.billing_currency,
        daily_costs.level,
        daily_costs.level_value,
        cast(daily_costs.day_cost as {{ type_double() }}) as day_cost,
        {{ weekday_of.replace('{}', 'daily_costs.cost_date') }} as weekday
    from daily_costs
    inner join as_of
        on
            daily_costs.cost_date <= as_of.as_of_date
            and daily_costs.cost_date
            > cast({{ dbt.dateadd('day', -trailing_days, 'as_of.as_of_date') }} as date)

),

month_to_date as (

    select
        as_of.as_of_date,
        daily_costs.billing_currency,
        daily_costs.level,
        daily_costs.level_value,
        sum(daily_costs.day_cost + daily_costs.month_cost) as month_to_date_cost
    from daily_costs
    inner join as_of
        on
            daily_costs.cost_date >= as_of.cost_month
            and daily_costs.cost_date <= as_of.as_of_date
    group by
        as_of.as_of_date,
        daily_costs.billing_currency,
        daily_costs.level,
        daily_costs.level_value

),

series_stats as (

    select
        as_of_date,
        billing_currency,
        level,
        level_value,
        count(*) as history_days,
        avg(day_cost) as mean_cost
    from window_days
    group by
        as_of_date,
        billing_currency,
        level,
        level_value

),

weekday_stats as (

    select
        as_of_date,
        billing_currency,
        level,
        level_value,
        weekday,
        avg(day_cost) as weekday_mean_cost
    from window_days
    group by
        as_of_date,
        billing_currency,
        level,
        level_value,
        weekday

),

{# the run rate a day of the window is compared with: its weekday's mean, or the flat mean #}
residuals as (

    select
        window_days.as_of_date,
        window_days.billing_currency,
        window_days.level,
        window_days.level_value,
        abs(
            window_days.day_cost
            - case
                when series_stats.history_days >= {{ min_history_days }}
                    then weekday_stats.weekday_mean_cost
                else series_stats.mean_cost
            end
        ) as abs_residual
    from window_days
    inner join series_stats
        on
            window_days.as_of_date = series_stats.as_of_date
            and window_days.billing_currency = series_stats.billing_currency
            and window_days.level = series_stats.level
            and window_days.level_value = series_stats.level_value
    inner join weekday_stats
        on
            window_days.as_of_date = weekday_stats.as_of_date
            and window_days.billing_currency = weekday_stats.billing_currency
            and window_days.level = weekday_stats.level
            and window_days.level_value = weekday_stats.level_value
            and window_days.weekday = weekday_stats.weekday

),

spread as (

    select
        as_of_date,
        billing_currency,
        level,
        level_value,
        {{ median('abs_residual') }} as residual_mad
    from residuals
    group by
        as_of_date,
        billing_currency,
        level,
        level_value

),

remaining as (

    select
        as_of_date,
        {{ dbt.datediff('as_of_date', 'month_end_date', 'day') }} as days_remaining,  -- noqa: LT05
        {{ weekday_of.replace('{}', 'as_of_date') }} as as_of_weekday
    from as_of

),

{# how many of the remaining days fall on each weekday: whole weeks, plus the first
   mod(days_remaining, 7) weekdays after the as-of day's #}
weekday_run_rate as (

    select
        weekday_stats.as_of_date,
        weekday_stats.billing_currency,
        weekday_stats.level,
        weekday_stats.level_value,
        sum(
            weekday_stats.weekday_mean_cost
            * (
                (remaining.days_remaining - mod(remaining.days_remaining, 7)) / 7
                + case
                    when
                        mod(weekday_stats.weekday - remaining.as_of_weekday + 6, 7)
                        < mod(remaining.days_remaining, 7)
                        then 1
                    else 0
                end
            )
        ) as remaining_cost
    from weekday_stats
    inner join remaining
        on weekday_stats.as_of_date = remaining.as_of_date
    group by
        weekday_stats.as_of_date,
        weekday_stats.billing_currency,
        weekday_stats.level,
        weekday_stats.level_value

),

forecasts as (

    select
        as_of.as_of_date,
        as_of.is_current,
        as_of.is_backtest,
        as_of.cost_month,
        series_stats.billing_currency,
        series_stats.level,
        series_stats.level_value,
        {{ dbt.datediff('as_of.cost_month', 'as_of.month_end_date', 'day') }} + 1  -- noqa: LT05
            as days_in_month,
        remaining.days_remaining,
        series_stats.history_days,
        case
            when remaining.days_remaining = 0 then 'actual'
            when series_stats.history_days >= {{ min_history_days }} then 'weekday_run_rate'
            else 'flat_run_rate'
        end as forecast_method,
        cast(coalesce(month_to_date.month_to_date_cost, 0) as decimal(38, 12))
            as month_to_date_cost,
        {#- cent-exact days over a few days' mean land on half cents (1,718.795): the
            double is settled to 6 places first and the cent rounded as a decimal, so no
            engine's last-bit noise picks the cent #}
        round(
            cast(
                round(
                    case
                        when series_stats.history_days >= {{ min_history_days }}
                            then weekday_run_rate.remaining_cost
                        else series_stats.mean_cost * remaining.days_remaining
                    end,
                    6
                ) as decimal(38, 6)
            ),
            2
        ) as remaining_cost,
        case
            when remaining.days_remaining = 0 then 0
            when series_stats.history_days >= {{ band_min_history_days }}
                then cast(round(
                    {{ settings['band_k'] }} * 1.4826 * spread.residual_mad
                    * sqrt(remaining.days_remaining),
                    2
                ) as decimal(38, 2))
        end as band_half_width,
        spread.residual_mad
    from series_stats
    inner join as_of
        on series_stats.as_of_date = as_of.as_of_date
    inner join remaining
        on series_stats.as_of_date = remaining.as_of_date
    inner join weekday_run_rate
        on
            series_stats.as_of_date = weekday_run_rate.as_of_date
            and series_stats.billing_currency = weekday_run_rate.billing_currency
            and series_stats.level = weekday_run_rate.level
            and series_stats.level_value = weekday_run_rate.level_value
    inner join spread
        on
            series_stats.as_of_date = spread.as_of_date
            and series_stats.billing_currency = spread.billing_currency
            and series_stats.level = spread.level
            and series_stats.level_value = spread.level_value
    left join month_to_date
        on
            series_stats.as_of_date = month_to_date.as_of_date
            and series_stats.billing_currency = month_to_date.billing_currency
            and series_stats.level = month_to_date.level
            and series_stats.level_value = month_to_date.level_value

),

final as (

    select
        as_of_date,
        is_current,
        is_backtest,
        cost_month,
        billing_currency,
        level,
        level_value,
        days_in_month,
        days_in_month - days_remaining as days_elapsed,
        days_remaining,
        history_days,
        forecast_method,
        month_to_date_cost,
        cast(remaining_cost as decimal(38, 2)) as remaining_cost,
        cast(month_to_date_cost + cast(remaining_cost as decimal(38, 2)) as decimal(38, 12))
            as forecast_cost,
        cast(
            month_to_date_cost + cast(remaining_cost - band_half_width as decimal(38, 2))
            as decimal(38, 12)
        ) as forecast_low_cost,
        cast(
            month_to_date_cost + cast(remaining_cost + band_half_width as decimal(38, 2))
            as decimal(38, 12)
        ) as forecast_high_cost,
        residual_mad
    from forecasts

)

select * from final
