{#-
    When a commitment pays for itself, per scenario of seeds/common/commitment_scenarios.csv.
    Two lines cross: on demand costs on_demand_monthly_cost every month; the commitment costs
    the upfront payment once, then reserved_monthly_cost every month. They cross after
      break_even_months = upfront_cost / (on_demand_monthly_cost − reserved_monthly_cost)
    (0 for a no-upfront commitment; null when the commitment never saves).
    Seen per month over the term the commitment costs
      effective_monthly_cost = reserved_monthly_cost + upfront_cost / term_months,
    so it wins only if the workload runs more than
      break_even_utilization = effective_monthly_cost / on_demand_monthly_cost
    of the time. effective_discount_rate = 1 − break_even_utilization is the rate the
    recommendation (fct_commitment_recommendation_monthly) saves on the steady baseline.
-#}
with

scenarios as (

    select * from {{ ref('commitment_scenarios') }}

),

final as (

    select
        scenario_id,
        commitment_type,
        billing_currency,
        term_months,
        cast(upfront_cost as decimal(38, 12)) as upfront_cost,
        cast(on_demand_monthly_cost as decimal(38, 12)) as on_demand_monthly_cost,
        cast(reserved_monthly_cost as decimal(38, 12)) as reserved_monthly_cost,
        cast(on_demand_monthly_cost - reserved_monthly_cost as decimal(38, 12))
            as monthly_saving,
        cast(
            reserved_monthly_cost + cast(upfront_cost as decimal(38, 12)) / term_months
            as decimal(38, 12)
        ) as effective_monthly_cost,
        cast(
            (on_demand_monthly_cost - reserved_monthly_cost) * term_months - upfront_cost
            as decimal(38, 12)
        ) as term_saving,
        cast(
            case
                when on_demand_monthly_cost > reserved_monthly_cost
                    then upfront_cost / (on_demand_monthly_cost - reserved_monthly_cost)
            end as {{ type_double() }}
        ) as break_even_months,
        cast(
            (reserved_monthly_cost + cast(upfront_cost as decimal(38, 12)) / term_months)
            / on_demand_monthly_cost as {{ type_double() }}
        ) as break_even_utilization,
        cast(
            1 - (reserved_monthly_cost + cast(upfront_cost as decimal(38, 12)) / term_months)
            / on_demand_monthly_cost as {{ type_double() }}
        ) as effective_discount_rate,
        description
    from scenarios

)

select * from final
