-- The lower bound for `dbt build`: one hand-written DuckDB statement doing the same direct +
-- driver allocation over the same raw tables, with none of the model's care (no lineage, no
-- rounding to the cent, no rule engine, no fallbacks, no tests). Driver shares are computed per
-- day before they meet cost lines: on two cores that alone is 2-4x faster than a window over
-- the joined rows.
create or replace table bench_lower_bound_allocation as
with lines as (
    select
        cast(line_item_usage_start_date as date) as charge_date,
        resource_tags['user_product'] as product,
        resource_tags['user_service'] as service,
        case line_item_line_item_type
            when 'SavingsPlanCoveredUsage' then savings_plan_savings_plan_effective_cost
            when 'SavingsPlanNegation' then 0
            when 'DiscountedUsage' then reservation_effective_cost
            else line_item_unblended_cost
        end as effective_cost
    from raw.aws_cur_line_items
),

direct as (
    select charge_date, product, sum(effective_cost) as cost
    from lines
    where product is not null
    group by all
),

pools as (
    select
        charge_date,
        case service
            when 'clickhouse' then 'read_bytes'
            when 'ingress-alb' then 'requests'
            else 'direct_cost'
        end as driver,
        sum(effective_cost) as cost
    from lines
    where product is null
    group by all
),

driver_quantities as (
    select date as charge_date, 'requests' as driver, product, sum(quantity) as quantity
    from raw.usage_metrics
    where metric = 'requests'
    group by all
    union all
    select
        event_date,
        'read_bytes',
        coalesce(
            case when json_valid(log_comment) then json_extract_string(log_comment, '$.product') end,
            '(unattributed)'
        ),
        sum(cast(read_bytes as double))
    from raw.clickhouse_query_log
    where type in ('QueryFinish', 'ExceptionWhileProcessing') and is_initial_query = 1
    group by all
    union all
    select charge_date, 'direct_cost', product, sum(cost)
    from direct
    group by all
),

shares as (
    select
        charge_date,
        driver,
        product,
        quantity / sum(quantity) over (partition by charge_date, driver) as share
    from driver_quantities
    where quantity > 0
),

product_costs as (
    select charge_date, product, cost from direct
    union all
    select pools.charge_date, shares.product, pools.cost * shares.share
    from pools
    inner join shares using (charge_date, driver)
),

product_days as (
    select charge_date, product, sum(cost) as cost
    from product_costs
    group by all
),

customer_shares as (
    select
        usage.date as charge_date,
        usage.product,
        usage.customer_id,
        sum(usage.quantity)
        / sum(sum(usage.quantity)) over (partition by usage.date, usage.product) as share
    from raw.usage_metrics as usage
    where usage.metric in ('recordings', 'events', 'flag_requests', 'ai_requests')
      and usage.customer_id is not null and usage.quantity > 0
    group by usage.date, usage.product, usage.customer_id
)

select
    product_days.charge_date,
    product_days.product,
    customer_shares.customer_id,
    product_days.cost * coalesce(customer_shares.share, 1) as allocated_cost
from product_days
left join customer_shares using (charge_date, product)
