{#-
    Each pool group's targets and shares: share = target's driver quantity / Σ driver quantity
    over the same pool, period and grain (shares are computed per period before any join to
    cost lines). Only positive quantities count.

    A group uses only drivers of its own currency (money drivers carry billing_currency; usage
    drivers carry none and fit every currency) and, when its pool declares a driver_scope, the
    driver restricted to that scope (int_allocation__drivers). So a EUR credit is split by EUR
    direct cost alone, and one ClickHouse cluster's pool by its own hosts' queries.

    When the driver is zero for the period, the pool's zero_driver_fallback decides:
      previous_period → the shares of the latest earlier period with a non-zero driver;
      even            → equal shares across the products with direct cost that period, in the
                        group's currency (and the pool's scope, for a scoped cost pool);
      unallocated     → no shares: the group becomes an explicit `no_driver` residual row.
    `even` pools always use the even rule; `residual` pools never get shares.
-#}
with

pool_costs as (

    select * from {{ ref('int_allocation__pool_costs') }}

),

pools as (

    select * from {{ ref('allocation_pools') }}

),

drivers as (

    select * from {{ ref('int_allocation__drivers') }}
    where quantity > 0

),

groups as (

    select
        pool_costs.pool_group_key,
        pool_costs.pool_id,
        pool_costs.share_grain,
        pool_costs.period_start,
        pool_costs.billing_currency,
        pools.method,
        pools.driver,
        coalesce(pools.driver_scope, '') as driver_scope,
        pools.zero_driver_fallback
    from pool_costs
    inner join pools
        on pool_costs.pool_id = pools.pool_id
    where pools.method <> 'residual'

),

driver_totals as (

    select
        driver,
        coalesce(driver_scope, '') as driver_scope,
        billing_currency,
        share_grain,
        period_start,
        sum(quantity) as total_quantity
    from drivers
    group by driver, driver_scope, billing_currency, share_grain, period_start

),

{#- the period whose driver is used: this one, or the fallback's earlier one #}

source_periods as (

    select
        groups.pool_group_key,
        groups.driver,
        groups.driver_scope,
        groups.billing_currency,
        groups.share_grain,
        case
            when groups.method = 'even' then null
            when max(case when totals.period_start = groups.period_start then 1 end) = 1
                then groups.period_start
            when groups.zero_driver_fallback = 'previous_period'
                then max(
                    case when totals.period_start < groups.period_start then totals.period_start end
                )
        end as driver_period,
        case
            when groups.method = 'even' then 'even'
            when max(case when totals.period_start = groups.period_start then 1 end) = 1
                then 'driver'
            when
                groups.zero_driver_fallback = 'previous_period'
                and max(case when totals.period_start < groups.period_start then 1 end) = 1
                then 'previous_period'
            when groups.zero_driver_fallback = 'even' then 'even'
            else 'unallocated'
        end as share_basis
    from groups
    left join driver_totals as totals
        on
            groups.driver = totals.driver
            and groups.driver_scope = totals.driver_scope
            and groups.share_grain = totals.share_grain
            and (
                totals.billing_currency is null
                or groups.billing_currency = totals.billing_currency
            )
    group by
        groups.pool_group_key,
        groups.driver,
        groups.driver_scope,
        groups.billing_currency,
        groups.share_grain,
        groups.method,
        groups.period_start,
        groups.zero_driver_fallback

),

driver_shares as (

    select
        source_periods.pool_group_key,
        source_periods.share_basis,
        drivers.driver as driver_name,
        drivers.product,
        drivers.quantity as driver_quantity,
        drivers.quantity / sum(drivers.quantity) over (
            partition by source_periods.pool_group_key
        ) as share
    from source_periods
    inner join drivers
        on
            source_periods.driver = drivers.driver
            and source_periods.driver_scope = coalesce(drivers.driver_scope, '')
            and source_periods.share_grain = drivers.share_grain
            and source_periods.driver_period = drivers.period_start
            and (
                drivers.billing_currency is null
                or source_periods.billing_currency = drivers.billing_currency
            )
    where source_periods.share_basis in ('driver', 'previous_period')

),

even_products as (

    select distinct
        coalesce(driver_scope, '') as driver_scope,
        billing_currency,
        share_grain,
        period_start,
        product
    from drivers
    where driver = 'direct_effective_cost' and product <> '(unattributed)'

),

even_shares as (

    select
        groups.pool_group_key,
        'even' as share_basis,
        cast(null as {{ dbt.type_string() }}) as driver_name,
        even_products.product,
        cast(null as double) as driver_quantity,
        1.0 / count(*) over (partition by groups.pool_group_key) as share
    from groups
    inner join source_periods
        on groups.pool_group_key = source_periods.pool_group_key
    inner join even_products
        on
            groups.billing_currency = even_products.billing_currency
            and groups.share_grain = even_products.share_grain
            and groups.period_start = even_products.period_start
            and even_products.driver_scope = case
                when groups.driver = 'direct_effective_cost' then groups.driver_scope else ''
            end
    where source_periods.share_basis = 'even'

),

final as (

    select * from driver_shares
    union all
    select * from even_shares

)

select * from final
