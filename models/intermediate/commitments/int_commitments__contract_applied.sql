{#- One row per ContractApplied element of a FOCUS 1.3 cost row: which contract commitment the
    row counts towards, and with what cost (spend commitments) or quantity (usage commitments).
    A row whose ContractApplied cannot be read keeps one row with a null commitment and
    is_readable false, so the progress mart shows it instead of dropping it. FOCUS erratum 3
    spells the ids ContractId / ContractCommitmentId; 1.3.0 files wrote ContractID. -#}
with

line_items as (

    select * from {{ ref('stg_focus__line_items') }}

),

applied_lines as (

    select
        cost_line_key,
        provider,
        billing_account_id,
        billing_currency,
        charge_period_start,
        correction_sign,
        contract_applied
    from line_items
    where nullif(trim(contract_applied), '') is not null

),

elements as (

    select
        cost_line_key,
        {{ json_array_elements('contract_applied', '$.Elements') }} as element
    from applied_lines

),

parsed as (

    select
        cost_line_key,
        coalesce(
            {{ json_string_field('element', 'ContractId') }},
            {{ json_string_field('element', 'ContractID') }}
        ) as contract_id,
        coalesce(
            {{ json_string_field('element', 'ContractCommitmentId') }},
            {{ json_string_field('element', 'ContractCommitmentID') }}
        ) as contract_commitment_id,
        cast(
            {{ json_string_field('element', 'ContractCommitmentAppliedCost') }} as decimal(38, 12)
        ) as applied_cost,
        cast(
            {{ json_string_field('element', 'ContractCommitmentAppliedQuantity') }}
            as decimal(38, 12)
        ) as applied_quantity,
        {{ json_string_field('element', 'ContractCommitmentAppliedUnit') }} as applied_unit
    from elements

),

final as (

    select
        applied_lines.cost_line_key,
        applied_lines.provider,
        applied_lines.billing_account_id,
        applied_lines.billing_currency,
        applied_lines.charge_period_start,
        parsed.contract_id,
        parsed.contract_commitment_id,
        parsed.applied_cost * applied_lines.correction_sign as applied_cost,
        parsed.applied_quantity * applied_lines.correction_sign as applied_quantity,
        parsed.applied_unit,
        parsed.cost_line_key is not null as is_readable
    from applied_lines
    left join parsed
        on applied_lines.cost_line_key = parsed.cost_line_key

)

select * from final
