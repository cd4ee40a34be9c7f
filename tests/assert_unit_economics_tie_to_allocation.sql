{#-
    The unit-economics marts re-slice the allocation fact; they must never create or lose a
    cent. Per month and currency (exact decimal equality):
      product mart      Σ total_cost      = fact rows with a product
      customer mart     Σ total_cost      = fact rows with a customer or reason no_customer
      breakdown mart    Σ total_cost      = customer mart
      feature mart      Σ total_cost      = product mart; Σ revenue_attributed = Σ revenue
      team showback     Σ total_cost      = the whole fact (unallocated included)
      ratios ('all')    Σ total_cost      = the whole fact
      product mart      Σ revenue         = the revenue export
      customer mart     Σ mrr             = the revenue export
    Returns one row per check and month that differs.
-#}
with

allocation as (

    select * from {{ ref('fct_cost_allocation') }}

),

revenue as (

    select * from {{ ref('stg_revenue__revenue') }}

),

totals as (

    select
        'fact: product rows' as measure,
        cost_month,
        billing_currency,
        sum(allocated_effective_cost) as amount
    from allocation
    where product is not null
    group by cost_month, billing_currency

    union all

    select
        'fact: customer rows' as measure,
        cost_month,
        billing_currency,
        sum(allocated_effective_cost) as amount
    from allocation
    where customer_id is not null or unallocated_reason = 'no_customer'
    group by cost_month, billing_currency

    union all

    select
        'fact: all rows' as measure,
        cost_month,
        billing_currency,
        sum(allocated_effective_cost) as amount
    from allocation
    group by cost_month, billing_currency

    union all

    select
        'revenue export' as measure,
        revenue_month as cost_month,
        currency as billing_currency,
        sum(revenue_amount) as amount
    from revenue
    group by revenue_month, currency

    union all

    select
        'product mart: cost' as measure,
        cost_month,
        billing_currency,
        sum(total_cost) as amount
    from {{ ref('fct_product_economics_monthly') }}
    group by cost_month, billing_currency

    union all

    select
        'product mart: revenue' as measure,
        cost_month,
        billing_currency,
        sum(revenue) as amount
    from {{ ref('fct_product_economics_monthly') }}
    group by cost_month, billing_currency

    union all

    select
        'customer mart: cost' as measure,
        cost_month,
        billing_currency,
        sum(total_cost) as amount
    from {{ ref('fct_customer_economics_monthly') }}
    group by cost_month, billing_currency

    union all

    select
        'customer mart: mrr' as measure,
        cost_month,
        billing_currency,
        sum(mrr) as amount
    from {{ ref('fct_customer_economics_monthly') }}
    group by cost_month, billing_currency

    union all

    select
        'breakdown mart: cost' as measure,
        cost_month,
        billing_currency,
        sum(total_cost) as amount
    from {{ ref('fct_customer_cost_breakdown_monthly') }}
    group by cost_month, billing_currency

    union all

    select
        'feature mart: cost' as measure,
        cost_month,
        billing_currency,
        sum(total_cost) as amount
    from {{ ref('fct_feature_economics_monthly') }}
    group by cost_month, billing_currency

    union all

    select
        'feature mart: revenue' as measure,
        cost_month,
        billing_currency,
        sum(revenue_attributed) as amount
    from {{ ref('fct_feature_economics_monthly') }}
    group by cost_month, billing_currency

    union all

    select
        'team showback: cost' as measure,
        cost_month,
        billing_currency,
        sum(total_cost) as amount
    from {{ ref('fct_team_showback_monthly') }}
    group by cost_month, billing_currency

    union all

    select
        'ratios: company cost' as measure,
        cost_month,
        billing_currency,
        sum(total_cost) as amount
    from {{ ref('fct_unit_cost_ratios_monthly') }}
    where scope_type = 'all'
    group by cost_month, billing_currency

),

checks as (

    select
        'product mart: cost' as measure,
        'fact: product rows' as expected_measure

    union all
    select
        'customer mart: cost' as measure,
        'fact: customer rows' as expected_measure

    union all
    select
        'breakdown mart: cost' as measure,
        'customer mart: cost' as expected_measure

    union all
    select
        'feature mart: cost' as measure,
        'product mart: cost' as expected_measure

    union all
    select
        'feature mart: revenue' as measure,
        'product mart: revenue' as expected_measure

    union all
    select
        'team showback: cost' as measure,
        'fact: all rows' as expected_measure

    union all
    select
        'ratios: company cost' as measure,
        'fact: all rows' as expected_measure

    union all
    select
        'product mart: revenue' as measure,
        'revenue export' as expected_measure

    union all
    select
        'customer mart: mrr' as measure,
        'revenue export' as expected_measure

),

periods as (

    select distinct
        cost_month,
        billing_currency
    from totals

),

final as (

    select
        checks.measure,
        checks.expected_measure,
        periods.cost_month,
        periods.billing_currency,
        coalesce(actual.amount, 0) as amount,
        coalesce(expected.amount, 0) as expected_amount
    from checks
    cross join periods
    left join totals as actual
        on
            checks.measure = actual.measure
            and periods.cost_month = actual.cost_month
            and periods.billing_currency = actual.billing_currency
    left join totals as expected
        on
            checks.expected_measure = expected.measure
            and periods.cost_month = expected.cost_month
            and periods.billing_currency = expected.billing_currency
    where coalesce(actual.amount, 0) <> coalesce(expected.amount, 0)

)

select * from final
