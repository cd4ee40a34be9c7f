{#-
    The cost of every AI request, priced from the rate card (seeds/common/ai_model_rates.csv) in force
    on the request's day:

        cost = ( (input − cached input) × input price
               + cached input × cached price (blank in the card = 10 % of the input price)
               + output × output price ) / 1 000 000
               × (1 − batch discount, for batch requests)

    input_tokens includes the cached ones. Decimal arithmetic throughout (× 0.000001, never a
    division, which would turn into floating point), kept at 12 decimals, so sums over millions
    of requests stay exact to the cent. The cost is in the rate card row's currency (a provider
    invoicing in EUR has EUR rows), so its cost lines allocate in that currency.
-#}
with

requests as (

    select * from {{ ref('stg_ai__requests') }}

),

rates as (

    select * from {{ ref('ai_model_rates') }}

),

priced as (

    select
        requests.ai_request_key,
        requests.request_id,
        requests.requested_at,
        requests.request_date,
        requests.customer_id,
        requests.feature_id,
        requests.product,
        requests.provider,
        requests.model,
        requests.input_tokens,
        requests.output_tokens,
        requests.cached_input_tokens,
        requests.is_batch,
        rates.input_usd_per_million,
        rates.output_usd_per_million,
        coalesce(
            rates.cached_input_usd_per_million, rates.input_usd_per_million * 0.1
        ) as cached_input_usd_per_million,
        case when requests.is_batch then 1 - rates.batch_discount else 1 end as price_factor,
        rates.currency,
        requests.export_name,
        requests.load_id,
        requests.source_file,
        requests.source_row,
        requests.loaded_at
    from requests
    left join rates
        on
            requests.provider = rates.provider
            and requests.model = rates.model
            and requests.request_date >= rates.effective_from
            and (rates.effective_to is null or requests.request_date <= rates.effective_to)

),

final as (

    select
        ai_request_key,
        request_id,
        requested_at,
        request_date,
        customer_id,
        feature_id,
        product,
        provider,
        model,
        input_tokens,
        output_tokens,
        cached_input_tokens,
        is_batch,
        cast(
            (input_tokens - cached_input_tokens) * input_usd_per_million * 0.000001 * price_factor
            as decimal(38, 12)
        ) as input_cost,
        cast(
            cached_input_tokens * cached_input_usd_per_million * 0.000001 * price_factor
            as decimal(38, 12)
        ) as cached_input_cost,
        cast(
            output_tokens * output_usd_per_million * 0.000001 * price_factor as decimal(38, 12)
        ) as output_cost,
        cast(
            (
                (input_tokens - cached_input_tokens) * input_usd_per_million
                + cached_input_tokens * cached_input_usd_per_million
                + output_tokens * output_usd_per_million
            ) * 0.000001 * price_factor as decimal(38, 12)
        ) as cost,
        currency as billing_currency,
        export_name,
        load_id,
        source_file,
        source_row,
        loaded_at
    from priced

)

select * from final
