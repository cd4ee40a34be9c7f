{#-
    Progress towards each contract commitment of a FOCUS 1.3 Contract Commitment dataset (a
    minimum spend or usage promised over a period, such as an EDP, MACC or CUD): what was
    committed, what the bill's rows applied to it (their ContractApplied elements), what is
    left and whether the pace keeps up with the period elapsed:
      fulfilled_ratio = applied / committed (cost for Spend, quantity for Usage commitments)
      elapsed_ratio   = share of the commitment period before the bill's latest charge
      is_on_track     = fulfilled_ratio >= elapsed_ratio
    An element the dataset cannot place (unknown commitment, another currency, a charge outside
    the commitment's period, unreadable ContractApplied) is a row of its own with
    unmatched_reason, never dropped.
-#}
with

commitments as (

    select * from {{ ref('stg_focus__contract_commitments') }}

),

applied as (

    select * from {{ ref('int_commitments__contract_applied') }}

),

line_items as (

    select * from {{ ref('stg_focus__line_items') }}

),

as_of as (

    select max(charge_period_end) as as_of
    from line_items

),

matched as (

    select
        commitments.contract_commitment_key,
        applied.cost_line_key,
        applied.contract_commitment_id,
        applied.applied_cost,
        applied.applied_quantity
    from applied
    inner join commitments
        on
            applied.contract_commitment_id = commitments.contract_commitment_id
            and applied.billing_currency = commitments.billing_currency
            and applied.charge_period_start >= commitments.contract_commitment_period_start
            and applied.charge_period_start < commitments.contract_commitment_period_end

),

progress as (

    select
        contract_commitment_key,
        sum(applied_cost) as applied_cost,
        sum(applied_quantity) as applied_quantity,
        count(distinct cost_line_key) as n_applied_lines
    from matched
    group by contract_commitment_key

),

known_ids as (

    select
        contract_commitment_id,
        max(billing_currency) as any_currency,
        count(distinct billing_currency) as n_currencies
    from commitments
    group by contract_commitment_id

),

unmatched as (

    select
        applied.contract_id,
        applied.contract_commitment_id,
        applied.billing_currency,
        applied.cost_line_key,
        applied.applied_cost,
        applied.applied_quantity,
        case
            when not applied.is_readable
                then 'ContractApplied is not a JSON object with an Elements array'
            when applied.contract_commitment_id is null
                then 'element without a ContractCommitmentId'
            when known_ids.contract_commitment_id is null
                then 'commitment not in the Contract Commitment dataset'
            when
                known_ids.n_currencies = 1
                and known_ids.any_currency <> applied.billing_currency
                then 'billed in another currency than the commitment'
            else 'charge outside the commitment period'
        end as unmatched_reason
    from applied
    left join matched
        on
            applied.cost_line_key = matched.cost_line_key
            and applied.contract_commitment_id = matched.contract_commitment_id
    left join known_ids
        on applied.contract_commitment_id = known_ids.contract_commitment_id
    where matched.cost_line_key is null

),

committed_rows as (

    select
        commitments.contract_id,
        commitments.contract_commitment_id,
        commitments.contract_commitment_type,
        commitments.contract_commitment_category,
        commitments.contract_commitment_description,
        commitments.contract_commitment_period_start,
        commitments.contract_commitment_period_end,
        commitments.billing_currency,
        commitments.contract_commitment_cost as committed_cost,
        commitments.contract_commitment_quantity as committed_quantity,
        commitments.contract_commitment_unit,
        coalesce(progress.applied_cost, 0) as applied_cost,
        coalesce(progress.applied_quantity, 0) as applied_quantity,
        coalesce(progress.n_applied_lines, 0) as n_applied_lines,
        case
            when commitments.contract_commitment_category = 'Usage'
                then commitments.contract_commitment_quantity
            else commitments.contract_commitment_cost
        end as committed_amount,
        case
            when commitments.contract_commitment_category = 'Usage'
                then coalesce(progress.applied_quantity, 0)
            else coalesce(progress.applied_cost, 0)
        end as applied_amount,
        {%- set start = 'commitments.contract_commitment_period_start' %}
        {%- set elapsed = dbt.datediff(start, 'as_of.as_of', 'second') %}
        {%- set period_end = 'commitments.contract_commitment_period_end' %}
        {%- set length = dbt.datediff(start, period_end, 'second') %}
        least(
            greatest(cast({{ elapsed }} as {{ type_double() }}), 0)
            / nullif(cast({{ length }} as {{ type_double() }}), 0),
            1
        ) as elapsed_ratio,
        cast(null as {{ dbt.type_string() }}) as unmatched_reason
    from commitments
    cross join as_of
    left join progress
        on commitments.contract_commitment_key = progress.contract_commitment_key

),

unmatched_rows as (

    select
        contract_id,
        contract_commitment_id,
        cast(null as {{ dbt.type_string() }}) as contract_commitment_type,
        cast(null as {{ dbt.type_string() }}) as contract_commitment_category,
        cast(null as {{ dbt.type_string() }}) as contract_commitment_description,
        cast(null as {{ dbt.type_timestamp() }}) as contract_commitment_period_start,
        cast(null as {{ dbt.type_timestamp() }}) as contract_commitment_period_end,
        billing_currency,
        cast(null as decimal(38, 12)) as committed_cost,
        cast(null as decimal(38, 12)) as committed_quantity,
        cast(null as {{ dbt.type_string() }}) as contract_commitment_unit,
        sum(applied_cost) as applied_cost,
        sum(applied_quantity) as applied_quantity,
        count(distinct cost_line_key) as n_applied_lines,
        cast(null as decimal(38, 12)) as committed_amount,
        cast(null as decimal(38, 12)) as applied_amount,
        cast(null as {{ type_double() }}) as elapsed_ratio,
        unmatched_reason
    from unmatched
    group by
        contract_id,
        contract_commitment_id,
        billing_currency,
        unmatched_reason

),

unioned as (

    select * from committed_rows
    union all
    select * from unmatched_rows

),

final as (

    select
        cast(contract_id as {{ dbt.type_string() }}) as contract_id,
        cast(contract_commitment_id as {{ dbt.type_string() }}) as contract_commitment_id,
        cast(contract_commitment_type as {{ dbt.type_string() }}) as contract_commitment_type,
        cast(contract_commitment_category as {{ dbt.type_string() }})
            as contract_commitment_category,
        cast(contract_commitment_description as {{ dbt.type_string() }})
            as contract_commitment_description,
        cast(contract_commitment_period_start as {{ dbt.type_timestamp() }})
            as contract_commitment_period_start,
        cast(contract_commitment_period_end as {{ dbt.type_timestamp() }})
            as contract_commitment_period_end,
        cast(billing_currency as {{ dbt.type_string() }}) as billing_currency,
        cast(committed_cost as decimal(38, 12)) as committed_cost,
        cast(committed_quantity as decimal(38, 12)) as committed_quantity,
        cast(contract_commitment_unit as {{ dbt.type_string() }}) as contract_commitment_unit,
        cast(applied_cost as decimal(38, 12)) as applied_cost,
        cast(applied_quantity as decimal(38, 12)) as applied_quantity,
        cast(n_applied_lines as {{ dbt.type_bigint() }}) as n_applied_lines,
        cast(committed_amount - applied_amount as decimal(38, 12)) as remaining_amount,
        cast(applied_amount as {{ type_double() }})
        / nullif(cast(committed_amount as {{ type_double() }}), 0) as fulfilled_ratio,
        cast(elapsed_ratio as {{ type_double() }}) as elapsed_ratio,
        case
            when committed_amount is null then null
            else
                cast(applied_amount as {{ type_double() }})
                >= cast(elapsed_ratio as {{ type_double() }})
                * cast(committed_amount as {{ type_double() }})
        end as is_on_track,
        cast(unmatched_reason as {{ dbt.type_string() }}) as unmatched_reason
    from unioned

)

select * from final
