{#-
    Reserve the steady baseline, keep the bursty part on demand: per billing account × charge
    month × currency × scenario (seeds/common/commitment_scenarios.csv, matched on commitment type and
    currency), from the on-demand spend a commitment of that type could cover
    (int_commitments__lines, role on_demand_usage, at the price actually billed).
      daily spend        every day from the account's first to last charge day in the month
                         (a day without eligible on-demand spend counts as 0)
      baseline           the lowest daily spend: a commitment sized to it is never idle
      burst              the rest (Σ daily − baseline × days): it stays on demand
      recommended commitment per day = baseline × (1 − effective discount rate), what the
                         commitment itself costs per day
      estimated saving   baseline × days × effective discount rate (fct_commitment_break_even)
    Daily, not hourly: hours inside a day can dip below the daily average, so on an hourly
    commitment (Savings Plans) the daily minimum is an upper bound of the never-idle size.
    Eligible on-demand EC2 spend appears under every type that could cover it: the scenarios
    are alternatives, never added up.
-#}
with

commitment_lines as (

    select * from {{ ref('int_commitments__lines') }}

),

scenarios as (

    select * from {{ ref('fct_commitment_break_even') }}

),

commitment_types as (

    select 'savings_plan' as commitment_type
    union all
    select 'reserved_instance' as commitment_type

),

bill_days as (

    select
        billing_account_id,
        billing_currency,
        {{ month_start('charge_date') }} as cost_month,
        min(charge_date) as first_day,
        max(charge_date) as last_day
    from {{ ref('fct_cost_line_items') }}
    group by
        billing_account_id,
        billing_currency,
        {{ month_start('charge_date') }}

),

eligible_daily as (

    select
        commitment_lines.billing_account_id,
        commitment_lines.billing_currency,
        commitment_lines.cost_month,
        commitment_lines.charge_date,
        commitment_types.commitment_type,
        sum(commitment_lines.effective_cost) as on_demand_cost
    from commitment_lines
    inner join commitment_types
        on
            (
                commitment_types.commitment_type = 'savings_plan'
                and commitment_lines.is_savings_plan_eligible
            )
            or (
                commitment_types.commitment_type = 'reserved_instance'
                and commitment_lines.is_reservation_eligible
            )
    where commitment_lines.commitment_role = 'on_demand_usage'
    group by
        commitment_lines.billing_account_id,
        commitment_lines.billing_currency,
        commitment_lines.cost_month,
        commitment_lines.charge_date,
        commitment_types.commitment_type

),

eligible_months as (

    select distinct
        billing_account_id,
        billing_currency,
        cost_month,
        commitment_type
    from eligible_daily

),

digits as (

    select 0 as n
    union all
    select 1 as n
    union all
    select 2 as n
    union all
    select 3 as n
    union all
    select 4 as n
    union all
    select 5 as n
    union all
    select 6 as n
    union all
    select 7 as n
    union all
    select 8 as n
    union all
    select 9 as n

),

day_numbers as (

    {# 0..39: enough for any month #}
    select ones.n + 10 * tens.n as day_offset
    from digits as ones
    cross join digits as tens
    where tens.n < 4

),

calendar as (

    select
        eligible_months.billing_account_id,
        eligible_months.billing_currency,
        eligible_months.cost_month,
        eligible_months.commitment_type,
        cast(
            {{ dbt.dateadd('day', 'day_numbers.day_offset', 'bill_days.first_day') }} as date
        ) as charge_date
    from eligible_months
    inner join bill_days
        on
            eligible_months.billing_account_id = bill_days.billing_account_id
            and eligible_months.billing_currency = bill_days.billing_currency
            and eligible_months.cost_month = bill_days.cost_month
    inner join day_numbers
        on
            day_numbers.day_offset
            <= {{ dbt.datediff('bill_days.first_day', 'bill_days.last_day', 'day') }}

),

daily as (

    select
        calendar.billing_account_id,
        calendar.billing_currency,
        calendar.cost_month,
        calendar.commitment_type,
        calendar.charge_date,
        coalesce(eligible_daily.on_demand_cost, 0) as on_demand_cost
    from calendar
    left join eligible_daily
        on
            calendar.billing_account_id = eligible_daily.billing_account_id
            and calendar.billing_currency = eligible_daily.billing_currency
            and calendar.charge_date = eligible_daily.charge_date
            and calendar.commitment_type = eligible_daily.commitment_type

),

monthly as (

    select
        billing_account_id,
        billing_currency,
        cost_month,
        commitment_type,
        count(*) as n_days,
        sum(on_demand_cost) as eligible_on_demand_cost,
        min(on_demand_cost) as baseline_daily_cost,
        max(on_demand_cost) as peak_daily_cost
    from daily
    group by
        billing_account_id,
        billing_currency,
        cost_month,
        commitment_type

),

final as (

    select
        monthly.billing_account_id,
        monthly.cost_month,
        monthly.billing_currency,
        scenarios.scenario_id,
        monthly.commitment_type,
        monthly.n_days,
        cast(monthly.eligible_on_demand_cost as decimal(38, 12)) as eligible_on_demand_cost,
        cast(monthly.baseline_daily_cost as decimal(38, 12)) as baseline_daily_cost,
        cast(monthly.peak_daily_cost as decimal(38, 12)) as peak_daily_cost,
        cast(monthly.baseline_daily_cost * monthly.n_days as decimal(38, 12))
            as baseline_on_demand_cost,
        cast(
            monthly.eligible_on_demand_cost - monthly.baseline_daily_cost * monthly.n_days
            as decimal(38, 12)
        ) as burst_on_demand_cost,
        scenarios.effective_discount_rate,
        {#- estimates, to 6 decimals: a decimal quotient is a double on some engines (DuckDB)
            and exact on others (Spark); rounded, both give the same figure #}
        cast(round(
            monthly.baseline_daily_cost * scenarios.effective_monthly_cost
            / scenarios.on_demand_monthly_cost, 6
        ) as decimal(38, 12)) as recommended_commitment_daily_cost,
        cast(round(
            monthly.baseline_daily_cost * monthly.n_days
            * (scenarios.on_demand_monthly_cost - scenarios.effective_monthly_cost)
            / scenarios.on_demand_monthly_cost, 6
        ) as decimal(38, 12)) as estimated_monthly_saving
    from monthly
    inner join scenarios
        on
            monthly.commitment_type = scenarios.commitment_type
            and monthly.billing_currency = scenarios.billing_currency

)

select * from final
