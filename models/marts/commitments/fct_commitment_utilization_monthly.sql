{#-
    How much of what was committed was used: per billing account × charge month × commitment
    type × currency.
      utilization = used commitment / total commitment
    Savings Plans (CUR): total commitment to date and used commitment from the
    SavingsPlanRecurringFee lines (AWS's own utilization). Reserved Instances (CUR): total =
    amortized upfront fee for the period + recurring fee of the RIFee lines, unused = their
    unused upfront + unused recurring fee. FOCUS: used = Σ EffectiveCost of the Used rows,
    unused = Σ EffectiveCost of the Unused rows, total = used + unused (FOCUS 1.x invariant).
    unused_commitment_cost is the money the allocation keeps in its unused_commitment bucket
    (tests/assert_commitment_unused_ties_to_allocation.sql).
-#}
with

commitment_lines as (

    select * from {{ ref('int_commitments__lines') }}
    where total_commitment_cost is not null

),

monthly as (

    select
        billing_account_id,
        cost_month,
        commitment_type,
        billing_currency,
        count(distinct commitment_discount_id) as n_commitments,
        sum(total_commitment_cost) as total_commitment_cost,
        sum(used_commitment_cost) as used_commitment_cost,
        sum(coalesce(unused_commitment_cost, 0)) as unused_commitment_cost
    from commitment_lines
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
        n_commitments,
        cast(total_commitment_cost as decimal(38, 12)) as total_commitment_cost,
        cast(used_commitment_cost as decimal(38, 12)) as used_commitment_cost,
        cast(unused_commitment_cost as decimal(38, 12)) as unused_commitment_cost,
        cast(
            case
                when total_commitment_cost <> 0
                    then used_commitment_cost / total_commitment_cost
            end as {{ type_double() }}
        ) as utilization
    from monthly

)

select * from final
