{#-
    Direct rule: a line whose product is known (from a tag rule) goes 100 % to it, with the
    customer, team, feature and environment the rules gave it. Lines are grouped per day,
    currency, bill (billing period, billing account), service, component and target ("line
    groups"), so the customer split downstream
    works on thousands of groups, not millions of lines; each group's lines are the
    int_allocation__lines rows with the same values. Untagged lines form explicit `untagged`
    groups (per day, currency, service and component).
-#}
with

signature_costs as (

    select * from {{ ref('int_allocation__signature_costs') }}
    where allocation_path in ('direct', 'untagged')

),

grouped as (

    select
        charge_date,
        billing_period,
        billing_account_id,
        billing_currency,
        case when allocation_path = 'direct' then 'direct' else 'residual' end as method,
        coalesce(product_rule_id, 'untagged') as rule_id,
        product,
        customer_id,
        team,
        feature_id,
        environment,
        service_code,
        component,
        case when allocation_path = 'untagged' then 'untagged' end as unallocated_reason,
        sum(n_lines) as n_lines,
        sum(effective_cost) as source_effective_cost,
        sum(billed_cost) as source_billed_cost
    from signature_costs
    group by
        charge_date,
        billing_period,
        billing_account_id,
        billing_currency,
        case when allocation_path = 'direct' then 'direct' else 'residual' end,
        coalesce(product_rule_id, 'untagged'),
        product,
        customer_id,
        team,
        feature_id,
        environment,
        service_code,
        component,
        case when allocation_path = 'untagged' then 'untagged' end

),

final as (

    select
        {{ dbt.concat([
            "rule_id", "':'", "cast(charge_date as " ~ dbt.type_string() ~ ")", "':'", "billing_currency",
            "':'", "coalesce(cast(billing_period as " ~ dbt.type_string() ~ "), '-')",
            "':'", "coalesce(billing_account_id, '-')",
            "':'", "coalesce(product, '-')", "':'", "coalesce(customer_id, '-')",
            "':'", "coalesce(team, '-')", "':'", "coalesce(feature_id, '-')",
            "':'", "coalesce(environment, '-')", "':'", "coalesce(service_code, '-')",
            "':'", "component",
        ]) }} as line_group_key,
        *,
        source_effective_cost as allocated_effective_cost,
        source_billed_cost as allocated_billed_cost
    from grouped

)

select * from final
