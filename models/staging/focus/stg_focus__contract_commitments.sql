{#- FOCUS 1.3 Contract Commitment dataset: one row per commitment of a contract (a spend or
    usage promise over a period). Holds no charges: the money is in the cost rows, which point
    at a commitment through ContractApplied. -#}
with

source as (

    select * from {{ source('raw', 'focus_contract_commitments') }}

),

renamed as (

    select
        {{ lineage_key() }} as contract_commitment_key,
        contract_id,
        contract_commitment_id,
        contract_commitment_type,
        contract_commitment_category,
        contract_commitment_description,
        contract_commitment_cost,
        contract_commitment_quantity,
        contract_commitment_unit,
        contract_commitment_period_start,
        contract_commitment_period_end,
        contract_period_start,
        contract_period_end,
        upper(trim(billing_currency)) as billing_currency,
        _export_name as export_name,
        _load_id as load_id,
        _source_file as source_file,
        _source_row as source_row

    from source

)

select * from renamed
