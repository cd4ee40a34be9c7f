{#-
    Each shared pool group re-split under every alternative driver declared for its pool
    (seeds/rules/allocation_pool_alternatives.csv), next to what the real rule gave each product.
    alternative share = product's quantity of the alternative driver / Σ over products, same
    grain and period as the pool's own split. A group whose alternative driver is zero in the
    period gets no alternative (the rule's answer stands). These are estimates for a range,
    never booked: the allocation fact keeps the one rule's exact cents.
    As for the rule itself (int_allocation__pool_shares), a group uses only drivers of its own
    currency, and an alternative keeps its pool's driver_scope when the scope fits the
    alternative driver (hostname scopes for ClickHouse work, cost scopes for direct cost).
    A share the alternative gives another pool (`pool:<id>`, a service link) passes on by that
    pool's final shares under the rules (int_allocation__service_shares), so the alternative
    splits the whole pool between products and residuals, as the rule does.
-#}
with

all_alternatives as (

    select * from {{ ref('allocation_pool_alternatives') }}

),

pool_scopes as (

    select
        pool_id,
        driver_scope,
        min(scope_kind) as scope_kind
    from {{ ref('int_allocation__pool_scopes') }}
    group by pool_id, driver_scope

),

alternatives as (

    select
        all_alternatives.pool_id,
        all_alternatives.alternative_id,
        all_alternatives.driver,
        case
            when pool_scopes.scope_kind = {{ driver_scope_kind('all_alternatives.driver') }}
                then pool_scopes.driver_scope
            else ''
        end as driver_scope
    from all_alternatives
    left join pool_scopes
        on all_alternatives.pool_id = pool_scopes.pool_id

),

pool_costs as (

    select * from {{ ref('int_allocation__pool_costs') }}

),

drivers as (

    select * from {{ ref('int_allocation__drivers') }}
    where quantity > 0

),

rule_amounts as (

    select
        pool_group_key,
        product,
        sum(allocated_effective_cost) as rule_amount
    from {{ ref('int_allocation__shared') }}
    where product is not null
    group by
        pool_group_key,
        product

),

service_shares as (

    select * from {{ ref('int_allocation__service_shares') }}

),

raw_alternative_shares as (

    select
        pool_costs.pool_group_key,
        pool_costs.pool_id,
        pool_costs.share_grain,
        pool_costs.period_start,
        pool_costs.billing_currency,
        pool_costs.pool_effective_cost,
        alternatives.alternative_id,
        alternatives.driver as alternative_driver,
        drivers.product,
        drivers.quantity / sum(drivers.quantity) over (
            partition by pool_costs.pool_group_key, alternatives.alternative_id
        ) as alternative_share
    from pool_costs
    inner join alternatives
        on pool_costs.pool_id = alternatives.pool_id
    inner join drivers
        on
            alternatives.driver = drivers.driver
            and alternatives.driver_scope = coalesce(drivers.driver_scope, '')
            and pool_costs.share_grain = drivers.share_grain
            and pool_costs.period_start = drivers.period_start
            and (
                drivers.billing_currency is null
                or pool_costs.billing_currency = drivers.billing_currency
            )

),

{#- every group of a pool in one period and currency has the same final shares #}

target_groups as (

    select
        pool_id,
        share_grain,
        period_start,
        billing_currency,
        min(pool_group_key) as pool_group_key
    from pool_costs
    group by
        pool_id,
        share_grain,
        period_start,
        billing_currency

),

target_pool_shares as (

    select
        target_groups.pool_id,
        target_groups.share_grain,
        target_groups.period_start,
        target_groups.billing_currency,
        service_shares.product,
        service_shares.share
    from target_groups
    inner join service_shares
        on target_groups.pool_group_key = service_shares.pool_group_key

),

passed_on as (

    select
        raw_alternative_shares.pool_group_key,
        raw_alternative_shares.pool_id,
        raw_alternative_shares.share_grain,
        raw_alternative_shares.period_start,
        raw_alternative_shares.billing_currency,
        raw_alternative_shares.pool_effective_cost,
        raw_alternative_shares.alternative_id,
        raw_alternative_shares.alternative_driver,
        coalesce(target_pool_shares.product, '(no_service_driver)') as product,
        raw_alternative_shares.alternative_share
        * coalesce(target_pool_shares.share, 1) as alternative_share
    from raw_alternative_shares
    left join target_pool_shares
        on
            substring(raw_alternative_shares.product, 6, 200) = target_pool_shares.pool_id
            and raw_alternative_shares.share_grain = target_pool_shares.share_grain
            and raw_alternative_shares.period_start = target_pool_shares.period_start
            and raw_alternative_shares.billing_currency = target_pool_shares.billing_currency
    where raw_alternative_shares.product like 'pool:%'

),

direct_and_passed_on as (

    select * from raw_alternative_shares
    where product not like 'pool:%'

    union all

    select * from passed_on

),

alternative_shares as (

    select
        pool_group_key,
        pool_id,
        share_grain,
        period_start,
        billing_currency,
        pool_effective_cost,
        alternative_id,
        alternative_driver,
        product,
        sum(alternative_share) as alternative_share
    from direct_and_passed_on
    group by
        pool_group_key,
        pool_id,
        share_grain,
        period_start,
        billing_currency,
        pool_effective_cost,
        alternative_id,
        alternative_driver,
        product

),

alternative_groups as (

    select distinct
        pool_group_key,
        pool_id,
        share_grain,
        period_start,
        billing_currency,
        pool_effective_cost,
        alternative_id,
        alternative_driver
    from alternative_shares

),

{# a product the rule paid but the alternative does not can fall to 0, and the reverse #}
targets as (

    select
        pool_group_key,
        alternative_id,
        product
    from alternative_shares

    union

    select
        alternative_groups.pool_group_key,
        alternative_groups.alternative_id,
        rule_amounts.product
    from alternative_groups
    inner join rule_amounts
        on alternative_groups.pool_group_key = rule_amounts.pool_group_key

),

compared as (

    select
        alternative_groups.pool_group_key,
        alternative_groups.pool_id,
        alternative_groups.share_grain,
        alternative_groups.period_start,
        alternative_groups.billing_currency,
        alternative_groups.alternative_id,
        alternative_groups.alternative_driver,
        targets.product,
        coalesce(rule_amounts.rule_amount, 0) as rule_amount,
        coalesce(
            alternative_groups.pool_effective_cost * alternative_shares.alternative_share, 0
        ) as alternative_amount
    from targets
    inner join alternative_groups
        on
            targets.pool_group_key = alternative_groups.pool_group_key
            and targets.alternative_id = alternative_groups.alternative_id
    left join rule_amounts
        on
            targets.pool_group_key = rule_amounts.pool_group_key
            and targets.product = rule_amounts.product
    left join alternative_shares
        on
            targets.pool_group_key = alternative_shares.pool_group_key
            and targets.alternative_id = alternative_shares.alternative_id
            and targets.product = alternative_shares.product

),

final as (

    select
        pool_group_key,
        pool_id,
        share_grain,
        period_start,
        billing_currency,
        alternative_id,
        alternative_driver,
        product,
        rule_amount,
        alternative_amount,
        alternative_amount - rule_amount as alternative_delta
    from compared
    {#- work no product could be found for, and the service graph's residuals, stay
        unallocated under every driver #}
    where product not like '(%'

)

select * from final
