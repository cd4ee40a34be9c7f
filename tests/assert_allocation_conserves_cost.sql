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

    select * from {{ ref('int_allocation__signature_costs') }}

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
        lines.pool_id,
        case
            when pools.share_grain = 'month' then lines.cost_month else lines.charge_date
        end as period_start,
        lines.billing_currency,
        sum(lines.effective_cost) as effective_cost,
        sum(lines.billed_cost) as billed_cost
    from lines
    inner join {{ ref('allocation_pools') }} as pools
        on lines.pool_id = pools.pool_id
    group by
        lines.pool_id,
        case
            when pools.share_grain = 'month' then lines.cost_month else lines.charge_date
        end,
        lines.billing_currency

),

pool_allocations as (

    select
        rule_id as pool_id,
        period_start,
        billing_currency,
        sum(allocated_effective_cost) as effective_cost,
        sum(allocated_billed_cost) as billed_cost
    from allocation
    where source_kind = 'pool_group'
    group by rule_id, period_start, billing_currency

),

per_pool as (

    select
        'pool_period' as level,
        coalesce(l.pool_id, a.pool_id)
        || ':' || cast(coalesce(l.period_start, a.period_start) as {{ dbt.type_string() }})
        || ':' || coalesce(l.billing_currency, a.billing_currency) as scope,
        coalesce(l.effective_cost, 0) - coalesce(a.effective_cost, 0) as effective_gap,
        coalesce(l.billed_cost, 0) - coalesce(a.billed_cost, 0) as billed_gap,
        0 as share_gap
    from pool_lines as l
    full outer join pool_allocations as a
        on
            l.pool_id = a.pool_id
            and l.period_start = a.period_start
            and l.billing_currency = a.billing_currency
    where
        coalesce(l.effective_cost, 0) <> coalesce(a.effective_cost, 0)
        or coalesce(l.billed_cost, 0) <> coalesce(a.billed_cost, 0)

),

line_months as (

    select
        cost_month,
        billing_currency,
        sum(effective_cost) as effective_cost,
        sum(billed_cost) as billed_cost
    from lines
    group by cost_month, billing_currency

),

allocation_months as (

    select
        cost_month,
        billing_currency,
        sum(allocated_effective_cost) as effective_cost,
        sum(allocated_billed_cost) as billed_cost
    from allocation
    group by cost_month, billing_currency

),

per_month as (

    select
        'month' as level,
        cast(coalesce(l.cost_month, a.cost_month) as {{ dbt.type_string() }})
        || ' ' || coalesce(l.billing_currency, a.billing_currency) as scope,
        coalesce(l.effective_cost, 0) - coalesce(a.effective_cost, 0) as effective_gap,
        coalesce(l.billed_cost, 0) - coalesce(a.billed_cost, 0) as billed_gap,
        0 as share_gap
    from line_months as l
    full outer join allocation_months as a
        on
            l.cost_month = a.cost_month
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
