{#-
    No dollar lost, none counted twice, at every level, for effective and billed cost:
      1. per source (line group or pool group): Σ allocated = source amount, Σ shares = 1;
      2. per pool × period × currency: Σ allocated = Σ of the pool's bill lines;
      3. per month × currency: Σ allocated = Σ of all allocatable bill lines.
    Returns one row per violation.
-#}
with

allocation as (

    select * from {{ ref('fct_cost_allocation') }}

),

lines as (

    select * from {{ ref('int_allocation__lines') }}

),

per_source as (

    select
        'source' as level,
        source_key as scope,
        max(source_effective_cost) - sum(allocated_effective_cost) as effective_gap,
        max(source_billed_cost) - sum(allocated_billed_cost) as billed_gap,
        sum(share) - 1 as share_gap
    from allocation
    group by source_key
    having
        count(distinct source_effective_cost) > 1
        or max(source_effective_cost) <> sum(allocated_effective_cost)
        or max(source_billed_cost) <> sum(allocated_billed_cost)
        or abs(sum(share) - 1) > 0.000000001

),

pool_lines as (

    select
        pool_costs.pool_group_key,
        sum(lines.effective_cost) as effective_cost,
        sum(lines.billed_cost) as billed_cost
    from lines
    inner join {{ ref('int_allocation__pool_costs') }} as pool_costs
        on
            lines.pool_id = pool_costs.pool_id
            and lines.billing_currency = pool_costs.billing_currency
            and pool_costs.period_start = case
                when pool_costs.share_grain = 'month' then lines.charge_month
                else lines.charge_date
            end
    group by pool_costs.pool_group_key

),

per_pool as (

    select
        'pool_period' as level,
        pool_lines.pool_group_key as scope,
        pool_lines.effective_cost - coalesce(sum(allocation.allocated_effective_cost), 0)
            as effective_gap,
        pool_lines.billed_cost - coalesce(sum(allocation.allocated_billed_cost), 0)
            as billed_gap,
        0 as share_gap
    from pool_lines
    left join allocation
        on pool_lines.pool_group_key = allocation.source_key
    group by pool_lines.pool_group_key, pool_lines.effective_cost, pool_lines.billed_cost
    having
        pool_lines.effective_cost <> coalesce(sum(allocation.allocated_effective_cost), 0)
        or pool_lines.billed_cost <> coalesce(sum(allocation.allocated_billed_cost), 0)

),

line_months as (

    select
        charge_month,
        billing_currency,
        sum(effective_cost) as effective_cost,
        sum(billed_cost) as billed_cost
    from lines
    group by charge_month, billing_currency

),

allocation_months as (

    select
        allocation_month,
        billing_currency,
        sum(allocated_effective_cost) as effective_cost,
        sum(allocated_billed_cost) as billed_cost
    from allocation
    group by allocation_month, billing_currency

),

per_month as (

    select
        'month' as level,
        cast(coalesce(l.charge_month, a.allocation_month) as varchar)
        || ' ' || coalesce(l.billing_currency, a.billing_currency) as scope,
        coalesce(l.effective_cost, 0) - coalesce(a.effective_cost, 0) as effective_gap,
        coalesce(l.billed_cost, 0) - coalesce(a.billed_cost, 0) as billed_gap,
        0 as share_gap
    from line_months as l
    full outer join allocation_months as a
        on
            l.charge_month = a.allocation_month
            and l.billing_currency = a.billing_currency
    where
        coalesce(l.effective_cost, 0) <> coalesce(a.effective_cost, 0)
        or coalesce(l.billed_cost, 0) <> coalesce(a.billed_cost, 0)

)

select * from per_source
union all
select * from per_pool
union all
select * from per_month
