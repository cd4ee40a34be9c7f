{#-
    Every AI request is priced by exactly one rate-card row: none (an unknown model, or a day
    outside every effective range) would price it at null and drop its cost; two (overlapping
    ranges) would count it twice. int_ai__request_costs left-joins the card, so a request
    appears there once per matching row, with a null cost when none matched. The matching row
    also gives the cost its currency: a priced request without one could not be allocated in
    any currency. Returns the offending requests with how many rows matched.
-#}
with

request_costs as (

    select * from {{ ref('int_ai__request_costs') }}

),

final as (

    select
        ai_request_key,
        provider,
        model,
        request_date,
        count(cost) as matching_rates,
        count(billing_currency) as rates_with_currency
    from request_costs
    group by ai_request_key, provider, model, request_date
    having count(cost) <> 1 or count(billing_currency) <> 1

)

select * from final
