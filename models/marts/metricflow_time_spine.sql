{#-
    MetricFlow's day-grain time spine (dbt 1.9+ `time_spine:` config in _semantic_layer.yml):
    one row per day from 2020-01-01 to 2030-12-31. MetricFlow joins to it to build metric_time
    and for cumulative, offset and fill-nulls metrics; a date outside the range has no metric_time.
    dbt.date_spine is dbt's own portable generator (DuckDB dispatches to generate_series); its
    end date is exclusive.
-#}
with

days as (

    {{ dbt.date_spine(
        datepart='day',
        start_date="cast('2020-01-01' as date)",
        end_date="cast('2031-01-01' as date)",
    ) }}

),

final as (

    {#- date + interval is a timestamp on some engines (DuckDB among them) -#}
    select cast(date_day as date) as date_day
    from days

)

select * from final
