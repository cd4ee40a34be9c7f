{#-
    OpenCost allocations per calendar day: a window is spread over the days it overlaps in
    proportion to its seconds in each (a 2-day API window gives each day its part; a daily CSV
    row stays on its day). `opencost_cost` is OpenCost's estimate and only ever a driver
    weight: the money that gets split is the cluster's node cost on the bill.
-#}
with

allocations as (

    select * from {{ ref('stg_opencost__allocations') }}

),

days as (

    select * from {{ ref('metricflow_time_spine') }}

),

day_overlaps as (

    select
        allocations.*,
        days.date_day as allocation_date,
        {{ dbt.datediff(
            'case when allocations.window_start > days.date_day'
            ~ ' then allocations.window_start else days.date_day end',
            'case when allocations.window_end < ' ~ dbt.dateadd('day', 1, 'days.date_day')
            ~ ' then allocations.window_end else ' ~ dbt.dateadd('day', 1, 'days.date_day')
            ~ ' end',
            'second',
        ) }} as overlap_seconds,
        {{ dbt.datediff('allocations.window_start', 'allocations.window_end', 'second') }}
            as window_seconds
    from allocations
    inner join days
        on
            cast(allocations.window_start as date) <= days.date_day
            and allocations.window_end > days.date_day

),

final as (

    select
        opencost_allocation_key,
        cluster,
        allocation_date,
        allocation_name,
        namespace,
        pod,
        is_idle,
        product,
        customer_id,
        feature_id,
        team,
        environment,
        overlap_seconds,
        window_seconds,
        cast(total_cost as {{ type_double() }}) * overlap_seconds / window_seconds
            as opencost_cost,
        export_name,
        load_id
    from day_overlaps
    where overlap_seconds > 0

)

select * from final
