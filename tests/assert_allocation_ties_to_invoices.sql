{#-
    The allocation ties to every invoice, not only to every usage month: per billing period
    (the invoice month), billing account and currency, Σ allocated billed cost over all
    allocation rows, unallocated buckets included, = Σ billed cost of that bill's lines as
    loaded (fct_cost_line_items), exactly (so to the cent), whatever the usage dates of the lines (a refund
    for July, a 2019 credit, usage dated after the period on a November bill). Effective cost
    is checked on the same key. Split-cost pod lines are excluded on both sides: they bill 0 and
    re-express their parent line. Returns one row per bill that differs.
-#}
with

cost_lines as (

    select * from {{ ref('fct_cost_line_items') }}
    where not is_split_cost_line

),

allocation as (

    select * from {{ ref('fct_cost_allocation') }}

),

bills as (

    select
        billing_period,
        billing_account_id,
        billing_currency,
        sum(billed_cost) as billed_cost,
        sum(effective_cost) as effective_cost
    from cost_lines
    group by billing_period, billing_account_id, billing_currency

),

allocated as (

    select
        billing_period,
        billing_account_id,
        billing_currency,
        sum(allocated_billed_cost) as billed_cost,
        sum(allocated_effective_cost) as effective_cost
    from allocation
    group by billing_period, billing_account_id, billing_currency

),

compared as (

    select
        coalesce(bills.billing_period, allocated.billing_period) as billing_period,
        coalesce(bills.billing_account_id, allocated.billing_account_id) as billing_account_id,
        coalesce(bills.billing_currency, allocated.billing_currency) as billing_currency,
        coalesce(bills.billed_cost, 0) as bill_billed_cost,
        coalesce(allocated.billed_cost, 0) as allocated_billed_cost,
        coalesce(bills.effective_cost, 0) as bill_effective_cost,
        coalesce(allocated.effective_cost, 0) as allocated_effective_cost
    from bills
    full outer join allocated
        on
            bills.billing_period is not distinct from allocated.billing_period
            and bills.billing_account_id is not distinct from allocated.billing_account_id
            and bills.billing_currency = allocated.billing_currency

),

final as (

    select * from compared
    where
        bill_billed_cost <> allocated_billed_cost
        or bill_effective_cost <> allocated_effective_cost

)

select * from final
