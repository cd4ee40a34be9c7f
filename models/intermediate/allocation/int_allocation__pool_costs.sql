{#-
    Shared pool costs per pool × period × currency × bill × service × component: the "line
    group" a pool rule splits (every group of one pool and period gets the same shares; the bill
    (billing period = invoice month, billing account), service and component only keep the cost
    traceable to its invoice and its breakdown visible downstream).
    The period is the charge day, or the charge month for pools whose share_grain is month
    (tax, credits, support are booked once a month). Every pool line is in exactly one group.
-#}
with

signature_costs as (

    select * from {{ ref('int_allocation__signature_costs') }}
    where allocation_path = 'pool'

),

pools as (

    select * from {{ ref('allocation_pools') }}

),

grouped as (

    select
        signature_costs.pool_id,
        pools.share_grain,
        case
            when pools.share_grain = 'month' then signature_costs.cost_month
            else signature_costs.charge_date
        end as period_start,
        signature_costs.billing_currency,
        signature_costs.billing_period,
        signature_costs.billing_account_id,
        signature_costs.service_code,
        signature_costs.component,
        sum(signature_costs.n_lines) as n_lines,
        sum(signature_costs.effective_cost) as pool_effective_cost,
        sum(signature_costs.billed_cost) as pool_billed_cost
    from signature_costs
    inner join pools
        on signature_costs.pool_id = pools.pool_id
    group by
        signature_costs.pool_id,
        pools.share_grain,
        case
            when pools.share_grain = 'month' then signature_costs.cost_month
            else signature_costs.charge_date
        end,
        signature_costs.billing_currency,
        signature_costs.billing_period,
        signature_costs.billing_account_id,
        signature_costs.service_code,
        signature_costs.component

),

final as (

    select
        pool_id
        || ':' || cast(period_start as {{ dbt.type_string() }})
        || ':' || billing_currency
        || ':' || coalesce(cast(billing_period as {{ dbt.type_string() }}), '-')
        || ':' || coalesce(billing_account_id, '-')
        || ':' || coalesce(service_code, '-')
        || ':' || component as pool_group_key,
        *
    from grouped

)

select * from final
