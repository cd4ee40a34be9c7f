{#-
    Every allocatable bill line with its dimensions and allocation path: the trace from a line
    group or pool group back to its bill lines. A view: the allocation itself works on
    int_allocation__signature_costs; this joins each line to its signature's path on demand.
    Split-cost pod lines are not allocatable: they re-express their parent node, which is
    allocated (by the pods' split cost) through the eks_cluster pool.
-#}
{%- set signature_columns = var('allocation_signature_columns') -%}
with

cost_lines as (

    select * from {{ ref('fct_cost_line_items') }}
    where not is_split_cost_line

),

signature_paths as (

    select * from {{ ref('int_allocation__signature_paths') }}

),

line_signatures as (

    select
        cost_line_key,
        billing_period,
        billing_account_id,
        charge_date,
        billing_currency,
        effective_cost,
        billed_cost,
        {{ signature_hash(signature_columns) }} as signature_id
    from cost_lines

),

final as (

    select
        line_signatures.cost_line_key,
        line_signatures.billing_period,
        line_signatures.billing_account_id,
        line_signatures.charge_date,
        {{ month_start('line_signatures.charge_date') }} as cost_month,
        line_signatures.billing_currency,
        line_signatures.effective_cost,
        line_signatures.billed_cost,
        line_signatures.signature_id,
        signature_paths.product,
        signature_paths.product_rule_id,
        signature_paths.team,
        signature_paths.customer_id,
        signature_paths.environment,
        signature_paths.feature_id,
        signature_paths.service_code,
        signature_paths.component,
        signature_paths.allocation_path,
        signature_paths.pool_id
    from line_signatures
    inner join signature_paths
        on line_signatures.signature_id = signature_paths.signature_id

)

select * from final
