{#-
    The allocation works on int_allocation__signature_days, not on bill lines: per delivered
    partition and currency it must hold every allocatable line exactly once (same count) and
    the same effective and billed cost to the exact decimal. Returns the partitions that differ.
-#}
with

cost_lines as (

    select * from {{ ref('fct_cost_line_items') }}
    where not is_split_cost_line

),

signature_days as (

    select * from {{ ref('int_allocation__signature_days') }}

),

line_totals as (

    select
        export_name,
        charge_billing_period,
        billing_currency,
        count(*) as n_lines,
        sum(effective_cost) as effective_cost,
        sum(billed_cost) as billed_cost
    from cost_lines
    group by export_name, charge_billing_period, billing_currency

),

signature_totals as (

    select
        export_name,
        charge_billing_period,
        billing_currency,
        sum(n_lines) as n_lines,
        sum(effective_cost) as effective_cost,
        sum(billed_cost) as billed_cost
    from signature_days
    group by export_name, charge_billing_period, billing_currency

),

final as (

    select
        coalesce(l.export_name, s.export_name) as export_name,
        coalesce(l.charge_billing_period, s.charge_billing_period) as charge_billing_period,
        coalesce(l.billing_currency, s.billing_currency) as billing_currency,
        l.n_lines as line_count,
        s.n_lines as signature_day_line_count,
        l.effective_cost as line_effective_cost,
        s.effective_cost as signature_day_effective_cost
    from line_totals as l
    full outer join signature_totals as s
        on
            l.export_name = s.export_name
            and l.charge_billing_period = s.charge_billing_period
            and l.billing_currency = s.billing_currency
    where
        l.n_lines is null
        or s.n_lines is null
        or l.n_lines <> s.n_lines
        or l.effective_cost <> s.effective_cost
        or l.billed_cost <> s.billed_cost

)

select * from final
