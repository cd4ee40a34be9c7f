{#-
    Which margin conclusions depend on the allocation method. For every customer and feature
    of a month and currency, each declared pool alternative (seeds/rules/
    allocation_pool_alternatives.csv) is applied alone: cost = the rule's cost + that
    alternative's delta (int_cost_ranges__scope_alternative_deltas), every other pool as the
    rule splits it. Under each alternative the gross margin and the margin rank of the whole
    month and currency are recomputed exactly as the economics marts do (gross_margin macro;
    rank 1 = worst margin, ties by gross profit, then id), and compared to the rule's.
        margin_sign_changes          some alternative puts the scope on the other side of zero
                                     (negative margin ↔ not negative)
        rank_moves_beyond_threshold  some alternative moves its rank by more than
                                     var margin_rank_move_threshold places
        is_fragile                   either
    Features are ranked among the month's feature rows (a product's '(no feature)' row
    included: it is where pool cost lands). Margins and ranks use the unrounded cost; the
    costs shown are rounded to the cent.
-#}
{%- set threshold = var('margin_rank_move_threshold', 3) -%}
{%- if threshold is not number or threshold is boolean or threshold < 0
    or threshold != threshold | int -%}
    {{ exceptions.raise_compiler_error(
        'var margin_rank_move_threshold: ' ~ (threshold | string)
        ~ ' is not a number of places (an integer >= 0 is expected, e.g. 3); '
        ~ 'fix it in dbt_project.yml or --vars'
    ) }}
{%- endif %}
with

deltas as (

    select * from {{ ref('int_cost_ranges__scope_alternative_deltas') }}

),

pool_alternatives as (

    select * from {{ ref('int_cost_ranges__pool_alternatives') }}

),

customer_months as (

    select * from {{ ref('fct_customer_economics_monthly') }}
    where not is_unallocated

),

feature_months as (

    select * from {{ ref('fct_feature_economics_monthly') }}

),

scopes as (

    select
        cost_month,
        billing_currency,
        'customer' as scope_type,
        cast(null as {{ dbt.type_string() }}) as product,
        customer_id as scope,
        mrr as revenue,
        total_cost
    from customer_months

    union all

    select
        cost_month,
        billing_currency,
        'feature' as scope_type,
        product,
        feature_id as scope,
        revenue_attributed as revenue,
        total_cost
    from feature_months

),

{# every alternative that re-split a pool in the month: it applies to all of the month's scopes #}
month_alternatives as (

    select distinct
        {{ month_start('period_start') }} as cost_month,
        billing_currency,
        pool_id,
        alternative_id
    from pool_alternatives

),

scenarios as (

    select
        scopes.*,
        true as is_rule,
        cast(null as {{ dbt.type_string() }}) as pool_id,
        cast(null as {{ dbt.type_string() }}) as alternative_id,
        scopes.total_cost as scenario_cost
    from scopes

    union all

    select
        scopes.*,
        false as is_rule,
        month_alternatives.pool_id,
        month_alternatives.alternative_id,
        scopes.total_cost + coalesce(deltas.cost_delta, 0) as scenario_cost
    from scopes
    inner join month_alternatives
        on
            scopes.cost_month = month_alternatives.cost_month
            and scopes.billing_currency = month_alternatives.billing_currency
    left join deltas
        on
            scopes.cost_month = deltas.cost_month
            and scopes.billing_currency = deltas.billing_currency
            and scopes.scope_type = deltas.scope_type
            and coalesce(scopes.product, '') = coalesce(deltas.product, '')
            and scopes.scope = deltas.scope
            and month_alternatives.pool_id = deltas.pool_id
            and month_alternatives.alternative_id = deltas.alternative_id

),

margins as (

    select
        *,
        {{ gross_margin('revenue', 'scenario_cost') }} as scenario_margin
    from scenarios

),

ranked as (

    select
        *,
        coalesce(scenario_margin < 0, false) as is_negative_margin,
        row_number() over (
            partition by
                cost_month,
                billing_currency,
                scope_type,
                coalesce(pool_id, ''),
                coalesce(alternative_id, '')
            order by
                coalesce(scenario_margin, 0),
                revenue - scenario_cost,
                product,
                scope
        ) as scenario_rank
    from margins

),

rule as (

    select * from ranked
    where is_rule

),

compared as (

    select
        ranked.cost_month,
        ranked.billing_currency,
        ranked.scope_type,
        ranked.product,
        ranked.scope,
        ranked.pool_id,
        ranked.alternative_id,
        ranked.scenario_cost,
        ranked.scenario_margin,
        ranked.scenario_rank,
        ranked.is_negative_margin <> rule.is_negative_margin as is_sign_change,
        abs(ranked.scenario_rank - rule.scenario_rank) as rank_move,
        abs(coalesce(ranked.scenario_margin, 0) - coalesce(rule.scenario_margin, 0))
            as margin_move
    from ranked
    inner join rule
        on
            ranked.cost_month = rule.cost_month
            and ranked.billing_currency = rule.billing_currency
            and ranked.scope_type = rule.scope_type
            and coalesce(ranked.product, '') = coalesce(rule.product, '')
            and ranked.scope = rule.scope
    where not ranked.is_rule

),

{# the alternative named for each flag: the biggest flip, the biggest move; ties by id #}
picked as (

    select
        *,
        row_number() over (
            partition by cost_month, billing_currency, scope_type, product, scope
            order by is_sign_change desc, margin_move desc, pool_id asc, alternative_id asc
        ) as sign_pick,
        row_number() over (
            partition by cost_month, billing_currency, scope_type, product, scope
            order by rank_move desc, pool_id asc, alternative_id asc
        ) as rank_pick
    from compared

),

{# the rule counts as one of the methods: min ≤ rule ≤ max #}
extremes as (

    select
        cost_month,
        billing_currency,
        scope_type,
        product,
        scope,
        min(scenario_cost) as min_cost,
        max(scenario_cost) as max_cost,
        min(scenario_margin) as min_margin,
        max(scenario_margin) as max_margin,
        max(scenario_rank) as best_rank,
        min(scenario_rank) as worst_rank
    from ranked
    group by
        cost_month,
        billing_currency,
        scope_type,
        product,
        scope

),

summary as (

    select
        cost_month,
        billing_currency,
        scope_type,
        product,
        scope,
        count(*) as n_alternatives,
        max(rank_move) as max_rank_move,
        max(case when sign_pick = 1 and is_sign_change then alternative_id end)
            as sign_change_alternative_id,
        max(case when rank_pick = 1 and rank_move > 0 then alternative_id end)
            as rank_move_alternative_id,
        max(case when is_sign_change then 1 else 0 end) = 1 as margin_sign_changes
    from picked
    group by
        cost_month,
        billing_currency,
        scope_type,
        product,
        scope

),

flagged as (

    select
        rule.*,
        extremes.min_cost,
        extremes.max_cost,
        extremes.min_margin,
        extremes.max_margin,
        extremes.best_rank,
        extremes.worst_rank,
        coalesce(summary.n_alternatives, 0) as n_alternatives,
        coalesce(summary.max_rank_move, 0) as max_rank_move,
        summary.sign_change_alternative_id,
        summary.rank_move_alternative_id,
        coalesce(summary.margin_sign_changes, false) as margin_sign_changes,
        coalesce(summary.max_rank_move, 0) > {{ threshold }} as rank_moves_beyond_threshold
    from rule
    inner join extremes
        on
            rule.cost_month = extremes.cost_month
            and rule.billing_currency = extremes.billing_currency
            and rule.scope_type = extremes.scope_type
            and coalesce(rule.product, '') = coalesce(extremes.product, '')
            and rule.scope = extremes.scope
    left join summary
        on
            rule.cost_month = summary.cost_month
            and rule.billing_currency = summary.billing_currency
            and rule.scope_type = summary.scope_type
            and coalesce(rule.product, '') = coalesce(summary.product, '')
            and rule.scope = summary.scope

),

final as (

    select
        cost_month,
        scope_type,
        scope,
        product,
        billing_currency,
        cast(revenue as decimal(38, 12)) as revenue,
        cast(total_cost as decimal(38, 12)) as total_cost,
        {{ money('round(min_cost, 2)') }} as min_cost,
        {{ money('round(max_cost, 2)') }} as max_cost,
        scenario_margin as rule_margin,
        min_margin,
        max_margin,
        cast(scenario_rank as bigint) as rule_rank,
        cast(best_rank as bigint) as best_rank,
        cast(worst_rank as bigint) as worst_rank,
        cast(max_rank_move as integer) as max_rank_move,
        cast(n_alternatives as integer) as n_alternatives,
        sign_change_alternative_id,
        rank_move_alternative_id,
        margin_sign_changes,
        rank_moves_beyond_threshold,
        margin_sign_changes or rank_moves_beyond_threshold as is_fragile,
        cast({{ threshold }} as integer) as rank_move_threshold
    from flagged

)

select * from final
