{#- Direct rule: a line whose product is known (from a tag rule) goes 100 % to it, with the
    customer, team, feature and environment the rules gave it. Untagged lines with no pool stay
    as explicit `untagged` rows. One row per bill line. -#}
with

lines as (

    select * from {{ ref('int_allocation__lines') }}
    where allocation_path in ('direct', 'untagged')

),

final as (

    select
        cost_line_key,
        charge_date,
        billing_currency,
        case when allocation_path = 'direct' then 'direct' else 'residual' end as method,
        coalesce(product_rule_id, 'untagged') as rule_id,
        product,
        customer_id,
        team,
        feature_id,
        environment,
        case when allocation_path = 'untagged' then 'untagged' end as unallocated_reason,
        effective_cost as source_effective_cost,
        billed_cost as source_billed_cost,
        effective_cost as allocated_effective_cost,
        billed_cost as allocated_billed_cost
    from lines

)

select * from final
