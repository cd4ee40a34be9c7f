{#-
    The daily cost series every anomaly rule reads: one row per day × billing currency × scope,
    zero-filled. Scopes: 'all' (the whole day, unallocated money included), each product, and
    each product/component.

    Day-grain allocation rows only. Monthly pools (tax, credits, support) are booked on the 1st
    of the month; counted as that day's cost they would fake a spike on every 1st.

    Zero-fill: the days are every day with day-grain cost in the currency, the scopes every
    product and product/component seen in it. A product with no cost on a day gets a 0 row, not
    a gap, so the rules' trailing windows (`rows between N preceding and 1 preceding`) count
    days, not the days a product happened to have cost.

    tagged_cost is the 'direct' part of cost: bill lines whose tags named the product.
    tag_coverage (scope 'all' only) is tagged cost / (tagged + untagged cost) of the day: the
    share of bill lines the tag rules could place. Shared pools are neither (they are placed by
    drivers on purpose), so they do not dilute it.
-#}
with

allocation as (

    select * from {{ ref('fct_cost_allocation') }}
    where period_grain = 'day'

),

costs as (

    select
        period_start as cost_date,
        billing_currency,
        product,
        component,
        allocated_effective_cost as cost,
        case when method = 'direct' then allocated_effective_cost else 0 end as tagged_cost,
        case
            when unallocated_reason = 'untagged' then allocated_effective_cost else 0
        end as untagged_cost
    from allocation

),

day_costs as (

    select
        cost_date,
        billing_currency,
        sum(cost) as cost,
        sum(tagged_cost) as tagged_cost,
        sum(untagged_cost) as untagged_cost
    from costs
    group by
        cost_date,
        billing_currency

),

product_costs as (

    select
        cost_date,
        billing_currency,
        product,
        sum(cost) as cost,
        sum(tagged_cost) as tagged_cost
    from costs
    where product is not null
    group by
        cost_date,
        billing_currency,
        product

),

component_costs as (

    select
        cost_date,
        billing_currency,
        product,
        component,
        sum(cost) as cost,
        sum(tagged_cost) as tagged_cost
    from costs
    where product is not null
    group by
        cost_date,
        billing_currency,
        product,
        component

),

scope_costs as (

    select
        cost_date,
        billing_currency,
        'all' as scope_type,
        'all' as scope,
        cast(null as {{ dbt.type_string() }}) as product,
        cast(null as {{ dbt.type_string() }}) as component,
        cost,
        tagged_cost
    from day_costs

    union all

    select
        cost_date,
        billing_currency,
        'product' as scope_type,
        product as scope,
        product,
        cast(null as {{ dbt.type_string() }}) as component,
        cost,
        tagged_cost
    from product_costs

    union all

    select
        cost_date,
        billing_currency,
        'component' as scope_type,
        product || '/' || component as scope,
        product,
        component,
        cost,
        tagged_cost
    from component_costs

),

days as (

    select
        cost_date,
        billing_currency,
        cost as total_day_cost
    from day_costs

),

scopes as (

    select distinct
        billing_currency,
        scope_type,
        scope,
        product,
        component
    from scope_costs

),

spine as (

    select
        days.cost_date,
        days.billing_currency,
        scopes.scope_type,
        scopes.scope,
        scopes.product,
        scopes.component,
        days.total_day_cost
    from days
    inner join scopes
        on days.billing_currency = scopes.billing_currency

),

filled as (

    select
        spine.cost_date,
        spine.billing_currency,
        spine.scope_type,
        spine.scope,
        spine.product,
        spine.component,
        cast(coalesce(scope_costs.cost, 0) as decimal(38, 12)) as cost,
        cast(coalesce(scope_costs.tagged_cost, 0) as decimal(38, 12)) as tagged_cost,
        cast(spine.total_day_cost as decimal(38, 12)) as total_day_cost
    from spine
    left join scope_costs
        on
            spine.cost_date = scope_costs.cost_date
            and spine.billing_currency = scope_costs.billing_currency
            and spine.scope_type = scope_costs.scope_type
            and spine.scope = scope_costs.scope

),

final as (

    select
        filled.cost_date,
        filled.billing_currency,
        filled.scope_type,
        filled.scope,
        filled.product,
        filled.component,
        filled.cost,
        filled.tagged_cost,
        filled.total_day_cost,
        case
            when filled.scope_type = 'all' and day_costs.tagged_cost + day_costs.untagged_cost <> 0
                then
                    cast(day_costs.tagged_cost as double)
                    / cast(day_costs.tagged_cost + day_costs.untagged_cost as double)
        end as tag_coverage
    from filled
    left join day_costs
        on
            filled.cost_date = day_costs.cost_date
            and filled.billing_currency = day_costs.billing_currency

)

select * from final
