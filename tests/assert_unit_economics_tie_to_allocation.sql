{#-
    The unit-economics marts re-slice the allocation fact; they must never create or lose a
    cent. Per month and currency (exact decimal equality):
      product mart      Σ total_cost      = fact rows with a product
      customer mart     Σ allocated_cost  = fact rows with a customer
      breakdown mart    Σ allocated_cost  = customer mart
      feature mart      Σ feature_cost    = product mart; Σ revenue_attributed = Σ revenue
      team showback     Σ team_cost       = the whole fact (unallocated included)
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

    select 'fact: product rows' as measure, allocation_month as economics_month,
        billing_currency, sum(allocated_effective_cost) as amount
    from allocation where product is not null
    group by allocation_month, billing_currency

    union all

    select 'fact: customer rows', allocation_month, billing_currency,
        sum(allocated_effective_cost)
    from allocation where customer_id is not null
    group by allocation_month, billing_currency

    union all

    select 'fact: all rows', allocation_month, billing_currency, sum(allocated_effective_cost)
    from allocation
    group by allocation_month, billing_currency

    union all

    select 'revenue export', revenue_month, currency, sum(revenue_amount)
    from revenue
    group by revenue_month, currency

    union all

    select 'product mart: cost', economics_month, billing_currency, sum(total_cost)
    from {{ ref('fct_product_economics_monthly') }}
    group by economics_month, billing_currency

    union all

    select 'product mart: revenue', economics_month, billing_currency, sum(revenue)
    from {{ ref('fct_product_economics_monthly') }}
    group by economics_month, billing_currency

    union all

    select 'customer mart: cost', economics_month, billing_currency, sum(allocated_cost)
    from {{ ref('fct_customer_economics_monthly') }}
    group by economics_month, billing_currency

    union all

    select 'customer mart: mrr', economics_month, billing_currency, sum(mrr)
    from {{ ref('fct_customer_economics_monthly') }}
    group by economics_month, billing_currency

    union all

    select 'breakdown mart: cost', economics_month, billing_currency, sum(allocated_cost)
    from {{ ref('fct_customer_cost_breakdown_monthly') }}
    group by economics_month, billing_currency

    union all

    select 'feature mart: cost', economics_month, billing_currency, sum(feature_cost)
    from {{ ref('fct_feature_economics_monthly') }}
    group by economics_month, billing_currency

    union all

    select 'feature mart: revenue', economics_month, billing_currency, sum(revenue_attributed)
    from {{ ref('fct_feature_economics_monthly') }}
    group by economics_month, billing_currency

    union all

    select 'team showback: cost', showback_month, billing_currency, sum(team_cost)
    from {{ ref('fct_team_showback_monthly') }}
    group by showback_month, billing_currency

    union all

    select 'ratios: company cost', economics_month, billing_currency, sum(total_cost)
    from {{ ref('fct_unit_cost_ratios_monthly') }}
    where scope_type = 'all'
    group by economics_month, billing_currency

),

checks as (

    select * from (
        values
        ('product mart: cost', 'fact: product rows'),
        ('customer mart: cost', 'fact: customer rows'),
        ('breakdown mart: cost', 'customer mart: cost'),
        ('feature mart: cost', 'product mart: cost'),
        ('feature mart: revenue', 'product mart: revenue'),
        ('team showback: cost', 'fact: all rows'),
        ('ratios: company cost', 'fact: all rows'),
        ('product mart: revenue', 'revenue export'),
        ('customer mart: mrr', 'revenue export')
    ) as pairs (measure, expected_measure)

),

periods as (

    select distinct
        economics_month,
        billing_currency
    from totals

),

final as (

    select
        checks.measure,
        checks.expected_measure,
        periods.economics_month,
        periods.billing_currency,
        coalesce(actual.amount, 0) as amount,
        coalesce(expected.amount, 0) as expected_amount
    from checks
    cross join periods
    left join totals as actual
        on
            checks.measure = actual.measure
            and periods.economics_month = actual.economics_month
            and periods.billing_currency = actual.billing_currency
    left join totals as expected
        on
            checks.expected_measure = expected.measure
            and periods.economics_month = expected.economics_month
            and periods.billing_currency = expected.billing_currency
    where coalesce(actual.amount, 0) <> coalesce(expected.amount, 0)

)

select * from final
