{#-
    AWS Cost Explorer results (one row per time period × group) renamed to the unified
    cost-line columns. A lower-fidelity view of the AWS bill: daily or monthly totals per
    service and tag, no resource, no line id. Billed cost = UnblendedCost, effective cost =
    AmortizedCost, falling back to UnblendedCost when the response lacks it (the loader admits
    BlendedCost only when explicitly allowed). Credits and refunds are their own rows
    (record_type), charge category Credit; a SERVICE group named Tax is charge category Tax.
    service_code is mapped from the Cost Explorer name in int_aws_ce__cost_lines.
-#}
with

source as (

    select * from {{ source('raw', 'aws_cost_explorer') }}

),

renamed as (

    select
        {{ lineage_key() }} as cost_line_key,
        cast(null as {{ dbt.type_string() }}) as source_line_id,
        'AWS' as provider,
        billing_account_id,
        {{ map_value('dimensions', "'LINKED_ACCOUNT'") }} as sub_account_id,
        {{ month_start('time_period_start') }} as billing_period,
        {{ month_start('time_period_start') }} as charge_billing_period,
        cast(time_period_start as timestamp) as charge_period_start,
        cast(time_period_end as timestamp) as charge_period_end,
        record_type as line_item_type,
        case
            when
                record_type = 'Tax'
                or {{ map_value('dimensions', "'SERVICE'") }} = 'Tax' then 'Tax'
            when
                record_type in ('Credit', 'Refund')
                or record_type like '%Discount%' then 'Credit'
            when lower(record_type) like '%fee%' then 'Purchase'
            else 'Usage'
        end as charge_category,
        cast(null as {{ dbt.type_string() }}) as charge_class,
        {{ map_value('dimensions', "'SERVICE'") }} as service_name,
        {{ map_value('dimensions', "'REGION'") }} as region,
        {{ map_value('dimensions', "'AZ'") }} as availability_zone,
        cast(null as {{ dbt.type_string() }}) as resource_id,
        {{ map_value('dimensions', "'USAGE_TYPE'") }} as usage_type,
        {{ map_value('dimensions', "'OPERATION'") }} as operation,
        (
            'Cost Explorer ' || lower(granularity) || ' ' || group_definitions
            || case when is_estimated then ' (estimated)' else '' end
            || case
                when amortized_cost is null and unblended_cost is not null
                    then '; effective = UnblendedCost (no AmortizedCost in the response)'
                when unblended_cost is null then '; BlendedCost (loaded with --allow-blended)'
                else ''
            end
        ) as charge_description,
        usage_quantity as consumed_quantity,
        usage_unit as consumed_unit,
        upper(trim(currency)) as billing_currency,
        cast(null as {{ dbt.type_string() }}) as invoice_id,
        cast(null as {{ dbt.type_string() }}) as commitment_discount_id,
        cast(null as {{ dbt.type_string() }}) as commitment_discount_status,
        is_estimated,
        granularity,
        tags as source_tags,
        coalesce(unblended_cost, blended_cost) as billed_cost,
        coalesce(amortized_cost, unblended_cost, blended_cost) as effective_cost,
        cast(null as {{ dbt.type_numeric() }}) as list_cost,
        _export_name as export_name,
        _load_id as load_id,
        _source_file as source_file,
        _source_row as source_row,
        _loaded_at as loaded_at
    from source

)

select * from renamed
