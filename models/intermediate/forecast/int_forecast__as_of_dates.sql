{#-
    The days the month-end forecast is made as of. One is current: var forecast.as_of_date,
    by default the last day with cost in the data ("today" for a warehouse refreshed daily).
    The others replay the past for the backtest: days forecast.backtest_days (7, 14, 21) of
    every month that is complete in the data (its last day is on or before the last day with
    cost) and whose as-of day is in the data. A day can be both.
-#}
{%- set settings = {'as_of_date': none, 'backtest_days': [7, 14, 21]} -%}
{%- do settings.update(var('forecast', {})) -%}
with

daily_costs as (

    select * from {{ ref('int_forecast__daily_costs') }}
    where level = 'total'

),

data_range as (

    select
        min(cost_date) as first_date,
        max(cost_date) as last_date
    from daily_costs

),

current_day as (

    select
        {% if settings['as_of_date'] %}
            {#- a day past the data would count the days in between as zero cost -#}
            case
                when cast('{{ settings["as_of_date"] }}' as date) > last_date
                    then {{ raise_row_error(
                        "'var forecast.as_of_date {} is after the last day with cost in the "
                        ~ "data (' || cast(last_date as " ~ dbt.type_string() ~ ") || '): set "
                        ~ "it on or before that day, or leave it null for the last day.'"
                    ) | replace('{}', settings['as_of_date']) }}
                else cast('{{ settings["as_of_date"] }}' as date)
            end
        {% else %}
            last_date
        {% endif %} as as_of_date,
        1 as is_current,
        0 as is_backtest
    from data_range
    -- no cost yet (a new warehouse): nothing to forecast
    where last_date is not null

),

months as (

    select distinct {{ month_start('cost_date') }} as cost_month
    from daily_costs

),

backtest_days as (

    {% for day in settings['backtest_days'] %}
        select {{ day | int }} as day_of_month
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

candidates as (

    select
        cast(
            {{ dbt.dateadd('day', 'backtest_days.day_of_month - 1', 'months.cost_month') }}
            as date
        ) as as_of_date,
        cast(
            {{ dbt.dateadd('day', '-1', dbt.dateadd('month', '1', 'months.cost_month')) }}
            as date
        ) as month_end_date
    from months
    cross join backtest_days

),

backtest as (

    select
        candidates.as_of_date,
        0 as is_current,
        1 as is_backtest
    from candidates
    cross join data_range
    where
        candidates.month_end_date <= data_range.last_date
        and candidates.as_of_date >= data_range.first_date

),

all_days as (

    select * from current_day
    union all
    select * from backtest

),

final as (

    select
        all_days.as_of_date,
        max(all_days.is_current) = 1 as is_current,
        max(all_days.is_backtest) = 1 as is_backtest,
        max(data_range.last_date) as last_data_date
    from all_days
    cross join data_range
    group by all_days.as_of_date

)

select * from final
