{#-
    AI requests as bill lines of the unified cost model: one line per request, its price from
    the rate card as billed and effective cost, its tenant, feature and product as tags, so the
    tag rules allocate it directly (100 % to its product and customer) and it shows up under the
    `ai` component. Only for providers billed outside the cloud bill (OpenAI, Anthropic
    invoices): an AI service already on the CUR (Bedrock) is a CUR line, and loading its
    requests here too would count it twice. A request without a product is `untagged` and
    stays visible as unallocated.
-#}
{%- set text = dbt.type_string() -%}
with

request_costs as (

    select * from {{ ref('int_ai__request_costs') }}

),

final as (

    select
        ai_request_key as cost_line_key,
        request_id as source_line_id,
        provider,
        provider as billing_account_id,
        cast(null as {{ text }}) as sub_account_id,
        {{ month_start('request_date') }} as billing_period,
        {{ month_start('request_date') }} as charge_billing_period,
        requested_at as charge_period_start,
        requested_at as charge_period_end,
        'Usage' as line_item_type,
        'Usage' as charge_category,
        cast(null as {{ text }}) as charge_class,
        'ai_requests' as service_code,
        provider || ' ' || model as service_name,
        cast(null as {{ text }}) as region,
        cast(null as {{ text }}) as availability_zone,
        provider || ':' || model as resource_id,
        model || case when is_batch then ':batch' else '' end as usage_type,
        cast(null as {{ text }}) as operation,
        (
            cast(input_tokens as {{ text }}) || ' input ('
            || cast(cached_input_tokens as {{ text }}) || ' cached) + '
            || cast(output_tokens as {{ text }}) || ' output tokens'
        ) as charge_description,
        cast(input_tokens + output_tokens as decimal(38, 12)) as consumed_quantity,
        'tokens' as consumed_unit,
        billing_currency,
        cast(null as {{ text }}) as invoice_id,
        cast(null as {{ text }}) as commitment_discount_id,
        cast(null as {{ text }}) as commitment_discount_status,
        {{ tag_map([
            ('customer', 'customer_id'), ('feature', 'feature_id'), ('product', 'product'),
        ]) }} as source_tags,
        cost as billed_cost,
        cost as effective_cost,
        cost as list_cost,
        export_name,
        load_id,
        source_file,
        source_row,
        loaded_at
    from request_costs

)

select * from final
