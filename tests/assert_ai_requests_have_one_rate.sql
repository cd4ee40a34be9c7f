{#-
    Every AI request is priced by exactly one rate-card row: none (an unknown model, or a day
    outside every effective range) would price it at null and drop its cost; two (overlapping
    ranges) would count it twice. Returns the offending requests with how many rows matched.
-#}
with

requests as (

    select * from {{ ref('stg_ai__requests') }}

),

rates as (

    select * from {{ ref('ai_model_rates') }}

),

matches as (

    select
        requests.ai_request_key,
        requests.provider,
        requests.model,
        requests.request_date,
        count(rates.model) as matching_rates
    from requests
    left join rates
        on
            requests.provider = rates.provider
            and requests.model = rates.model
            and requests.request_date >= rates.effective_from
            and (rates.effective_to is null or requests.request_date <= rates.effective_to)
    group by
        requests.ai_request_key,
        requests.provider,
        requests.model,
        requests.request_date

),

final as (

    select * from matches
    where matching_rates <> 1

)

select * from final
