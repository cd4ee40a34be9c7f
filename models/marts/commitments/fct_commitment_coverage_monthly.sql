{#-
    How much of the usage a commitment could cover was covered: per billing account × charge
    month × commitment type × currency, at on-demand (list) prices, as AWS defines coverage:
      coverage = covered usage / (covered usage + eligible on-demand usage)
    Covered usage: SavingsPlanCoveredUsage (savings_plan), DiscountedUsage (reserved_instance),
    FOCUS Used rows (by CommitmentDiscountType). Eligible on-demand usage: on-demand Usage lines
    that seeds/common/commitment_eligibility.csv lists for the type (EC2 instance hours, Fargate and
    Lambda for Savings Plans; EC2, RDS, ElastiCache, Redshift, OpenSearch instance hours for
    reservations; never Spot or data transfer). Usage covered by the other commitment type is
    neither covered nor on demand for this one (AWS: Savings Plans coverage leaves RI-covered
    usage out).
    An on-demand EC2 hour is eligible for both types, so it is in the denominator of both rows:
    covered_* columns add up across types, eligible_on_demand_list_cost does not.
-#}
with

commitment_lines as (

    select * from {{ ref('int_commitments__lines') }}

),

commitment_types as (

    select 'savings_plan' as commitment_type
    union all
    select 'reserved_instance' as commitment_type

),

covered as (

    select
        billing_account_id,
        cost_month,
        commitment_type,
        billing_currency,
        list_cost as covered_list_cost,
        effective_cost as covered_effective_cost,
        cast(0 as decimal(38, 12)) as on_demand_list_cost
    from commitment_lines
    where commitment_role = 'covered_usage'

),

on_demand as (

    select
        commitment_lines.billing_account_id,
        commitment_lines.cost_month,
        commitment_types.commitment_type,
        commitment_lines.billing_currency,
        cast(0 as decimal(38, 12)) as covered_list_cost,
        cast(0 as decimal(38, 12)) as covered_effective_cost,
        commitment_lines.list_cost as on_demand_list_cost
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

),

monthly as (

    select
        billing_account_id,
        cost_month,
        commitment_type,
        billing_currency,
        sum(coalesce(covered_list_cost, 0)) as covered_list_cost,
        sum(coalesce(covered_effective_cost, 0)) as covered_effective_cost,
        sum(coalesce(on_demand_list_cost, 0)) as eligible_on_demand_list_cost
    from (
        select * from covered
        union all
        select * from on_demand
    ) as usage_lines
    group by
        billing_account_id,
        cost_month,
        commitment_type,
        billing_currency

),

final as (

    select
        billing_account_id,
        cost_month,
        commitment_type,
        billing_currency,
        cast(covered_list_cost as decimal(38, 12)) as covered_list_cost,
        cast(covered_effective_cost as decimal(38, 12)) as covered_effective_cost,
        cast(eligible_on_demand_list_cost as decimal(38, 12)) as eligible_on_demand_list_cost,
        cast(covered_list_cost + eligible_on_demand_list_cost as decimal(38, 12))
            as eligible_list_cost,
        cast(covered_list_cost - covered_effective_cost as decimal(38, 12))
            as commitment_savings,
        cast(
            case
                when covered_list_cost + eligible_on_demand_list_cost <> 0
                    then covered_list_cost / (covered_list_cost + eligible_on_demand_list_cost)
            end as {{ type_double() }}
        ) as coverage
    from monthly

)

select * from final
