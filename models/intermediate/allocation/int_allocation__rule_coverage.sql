{#-
    What each tag rule and pool does on the loaded bill: signatures, lines and cost it matches
    and the part it wins, per currency. A tag rule wins a signature when it gives the signature
    its value of the rule's dimension (lowest priority, then rule_id); a pool matches only lines
    without a product (the only lines a pool can take) and wins those it is first for. The
    `(untagged)` row is the rest: lines with no product and no pool. Per currency, the cost won
    by product rules + pools + untagged = the allocatable cost (python -m ingest check-rules
    shows the tie). A rule with no match has one row with a null currency.
-#}
{{ config(materialized='table') }}
with

tag_rules as (

    select * from {{ ref('allocation_tag_rules') }}

),

pools as (

    select * from {{ ref('allocation_pools') }}

),

rule_matches as (

    select * from {{ ref('int_allocation__rule_matches') }}

),

pool_matches as (

    select * from {{ ref('int_allocation__pool_matches') }}

),

dimensions as (

    select * from {{ ref('int_allocation__signature_dimensions') }}

),

signature_days as (

    select * from {{ ref('int_allocation__signature_days') }}

),

signature_totals as (

    select
        signature_id,
        billing_currency,
        sum(n_lines) as n_lines,
        sum(effective_cost) as effective_cost
    from signature_days
    group by signature_id, billing_currency

),

unowned as (

    select distinct signature_totals.signature_id
    from signature_totals
    left join dimensions
        on signature_totals.signature_id = dimensions.signature_id
    where dimensions.product is null

),

rule_hits as (

    select
        'tag_rule' as rule_kind,
        rule_id,
        signature_id,
        case
            when row_number() over (
                partition by signature_id, dimension
                order by priority, rule_id
            ) = 1 then 1
            else 0
        end as is_winner
    from rule_matches

),

pool_hits as (

    select
        'pool' as rule_kind,
        pool_matches.pool_id as rule_id,
        pool_matches.signature_id,
        case when pool_matches.pool_rank = 1 then 1 else 0 end as is_winner
    from pool_matches
    inner join unowned
        on pool_matches.signature_id = unowned.signature_id

),

untagged_hits as (

    select
        'untagged' as rule_kind,
        '(untagged)' as rule_id,
        unowned.signature_id,
        1 as is_winner
    from unowned
    left join pool_matches
        on unowned.signature_id = pool_matches.signature_id
    where pool_matches.signature_id is null

),

hits as (

    select * from rule_hits
    union all
    select * from pool_hits
    union all
    select * from untagged_hits

),

catalogue as (

    select
        'tag_rule' as rule_kind,
        rule_id,
        '{{ rules_file("allocation_tag_rules") }}' as seed_file,
        dimension,
        priority
    from tag_rules

    union all

    select
        'pool' as rule_kind,
        pool_id as rule_id,
        '{{ rules_file("allocation_pools") }}' as seed_file,
        cast(null as {{ dbt.type_string() }}) as dimension,
        priority
    from pools

    union all

    select
        'untagged' as rule_kind,
        '(untagged)' as rule_id,
        cast(null as {{ dbt.type_string() }}) as seed_file,
        cast(null as {{ dbt.type_string() }}) as dimension,
        cast(null as integer) as priority

),

final as (

    select
        catalogue.rule_kind,
        catalogue.rule_id,
        catalogue.seed_file,
        catalogue.dimension,
        catalogue.priority,
        signature_totals.billing_currency,
        count(distinct hits.signature_id) as n_signatures_matched,
        coalesce(sum(signature_totals.n_lines), 0) as n_lines_matched,
        coalesce(sum(signature_totals.effective_cost), 0) as matched_cost,
        count(distinct case when hits.is_winner = 1 then hits.signature_id end)
            as n_signatures_won,
        coalesce(
            sum(case when hits.is_winner = 1 then signature_totals.n_lines end), 0
        ) as n_lines_won,
        coalesce(
            sum(case when hits.is_winner = 1 then signature_totals.effective_cost end), 0
        ) as won_cost
    from catalogue
    left join hits
        on
            catalogue.rule_kind = hits.rule_kind
            and catalogue.rule_id = hits.rule_id
    left join signature_totals
        on hits.signature_id = signature_totals.signature_id
    group by
        catalogue.rule_kind,
        catalogue.rule_id,
        catalogue.seed_file,
        catalogue.dimension,
        catalogue.priority,
        signature_totals.billing_currency

)

select * from final
