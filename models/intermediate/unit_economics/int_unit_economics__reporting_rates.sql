{#-
    The rate that converts each (month, currency) the marts hold into the reporting currency
    (var reporting_currency): 1 for the reporting currency itself, else the month's row of
    exchange_rates.csv (from_currency → reporting currency). Months and currencies come from
    every source of mart money (the allocation and the revenue export), so a mart row can never
    miss its rate silently: a null rate here fails the build
    (tests/assert_exchange_rates_exist.sql) and the marts are skipped. No reporting currency:
    no rows, and the marts' *_reporting columns stay null.
-#}
{%- set reporting = reporting_currency() %}
{%- set reporting_literal = "'" ~ reporting ~ "'" if reporting else 'null' %}
with

allocation as (

    select * from {{ ref('fct_cost_allocation') }}

),

revenue as (

    select * from {{ ref('stg_revenue__revenue') }}

),

exchange_rates as (

    select * from {{ ref('exchange_rates') }}

),

month_currencies as (

    select
        cost_month as rate_month,
        billing_currency as from_currency
    from allocation
    group by
        cost_month,
        billing_currency

    union

    select
        revenue_month as rate_month,
        currency as from_currency
    from revenue
    group by
        revenue_month,
        currency

),

{# one row, or none without a reporting currency: then nothing is converted #}
reporting as (

    select cast({{ reporting_literal }} as {{ dbt.type_string() }}) as currency

),

final as (

    select
        month_currencies.rate_month,
        month_currencies.from_currency,
        reporting.currency as to_currency,
        case
            when month_currencies.from_currency = reporting.currency
                then cast(1 as decimal(18, 10))
            else cast(exchange_rates.rate as decimal(18, 10))
        end as rate
    from month_currencies
    inner join reporting
        on reporting.currency is not null
    left join exchange_rates
        on
            month_currencies.rate_month = exchange_rates.month
            and month_currencies.from_currency = upper(trim(exchange_rates.from_currency))
            and upper(trim(exchange_rates.to_currency)) = reporting.currency

)

select * from final
