{#-
    Shared pool costs per pool × period × currency × service × component: the "line group" a
    pool rule splits (every group of one pool and period gets the same shares; service and
    component only keep the cost breakdown visible downstream).
    The period is the charge day, or the charge month for pools whose share_grain is month
    (tax, credits, support are booked once a month). Every pool line is in exactly one group.
-#}
with

lines as (

    select * from {{ ref('int_allocation__lines') }}
    where allocation_path = 'pool'

),

pools as (

    select * from {{ ref('allocation_pools') }}

),

grouped as (

    select
        lines.pool_id,
        pools.share_grain,
        case
            when pools.share_grain = 'month' then lines.charge_month else lines.charge_date
        end as period_start,
        lines.billing_currency,
        lines.service_code,
        lines.component,
        count(*) as n_lines,
        sum(lines.effective_cost) as pool_effective_cost,
        sum(lines.billed_cost) as pool_billed_cost
    from lines
    inner join pools
        on lines.pool_id = pools.pool_id
    group by
        lines.pool_id,
        pools.share_grain,
        case
            when pools.share_grain = 'month' then lines.charge_month else lines.charge_date
        end,
        lines.billing_currency,
        lines.service_code,
        lines.component

),

final as (

    select
        pool_id
        || ':' || cast(period_start as varchar)
        || ':' || billing_currency
        || ':' || coalesce(service_code, '-')
        || ':' || component as pool_group_key,
        *
    from grouped

)

select * from final
