{#-
    Money is conserved from raw bill to the unified table: for every source, billing period and
    currency, row counts match and Σ billed cost matches Σ of the raw invoice column (signed
    for closed-period corrections) to the cent. CUR split-cost pod lines are excluded on the raw
    side because the invoice counts their parent instance, not them. AI requests carry no price
    in the raw log: they tie to their rate-card price (int_ai__request_costs), one line each.
    Azure rows of an amortized export whose period also has the actual export carry no billed
    cost (macros/azure/azure_cost_basis.sql): the invoice is the actual export's.
    Cost Explorer rows tie as lines of the table plus the rows a CUR / FOCUS bill supersedes
    (int_aws_ce__superseded_costs): each raw row is in exactly one of the two. Cost-0 lines
    with a blank currency are left out on both sides (staging drops them: they hold no money);
    a blank currency on any other line stays counted here, so it fails this test.
-#}
{%- set split_operations = "'" ~ var('split_cost_operations') | join("', '") ~ "'" -%}
{%- set raw_sources = [
    {'system': 'aws_cur', 'table': 'aws_cur_line_items', 'currency': 'line_item_currency_code',
     'cost': 'line_item_unblended_cost',
     'excluded': 'line_item_operation in (' ~ split_operations ~ ')'},
    {'system': 'focus', 'table': 'focus_line_items', 'currency': 'billing_currency',
     'cost': 'billed_cost', 'excluded': 'false'},
    {'system': 'azure', 'table': 'azure_cost_details', 'currency': 'billing_currency_code',
     'cost': 'cost_in_billing_currency', 'excluded': 'not bills_invoice',
     'relation': azure_cost_basis(source('raw', 'azure_cost_details'))},
    {'system': 'oci', 'table': 'oci_cost_reports', 'currency': 'cost_currency_code',
     'cost': 'cost_my_cost', 'excluded': 'false'},
    {'system': 'gcp', 'table': 'gcp_billing_export', 'currency': 'currency',
     'cost': 'cost', 'excluded': 'false'},
] -%}
with

raw_totals as (

    {% for s in raw_sources %}
        select
            '{{ s.system }}' as source_system,
            _billing_period as charge_billing_period,
            upper(trim({{ s.currency }})) as billing_currency,
            count(*) as n_rows,
            sum(
                case
                    when coalesce({{ s.excluded }}, false) then 0
                    else {{ s.cost }} * _correction_sign
                end
            ) as billed
        {% if s.relation is defined -%}
            from ({{ s.relation }}) as {{ s.table }}
        {%- else -%}
            from {{ source('raw', s.table) }}
        {%- endif %}
        where nullif(trim({{ s.currency }}), '') is not null or coalesce({{ s.cost }}, 0) <> 0
        group by 1, 2, 3
        union all
    {% endfor %}
    select
        'ai' as source_system,
        {{ month_start('request_date') }} as charge_billing_period,
        billing_currency,
        count(*) as n_rows,
        sum(cost) as billed
    from {{ ref('int_ai__request_costs') }}
    group by 1, 2, 3
    union all
    select
        'aws_ce' as source_system,
        {{ month_start('time_period_start') }} as charge_billing_period,
        upper(trim(currency)) as billing_currency,
        count(*) as n_rows,
        sum(coalesce(unblended_cost, blended_cost)) as billed
    from {{ source('raw', 'aws_cost_explorer') }}
    group by 1, 2, 3

),

model_lines as (

    select
        source_system,
        charge_billing_period,
        billing_currency,
        billed_cost
    from {{ ref('fct_cost_line_items') }}
    union all
    select
        'aws_ce' as source_system,
        charge_billing_period,
        billing_currency,
        billed_cost
    from {{ ref('int_aws_ce__superseded_costs') }}

),

model_totals as (

    select
        source_system,
        charge_billing_period,
        billing_currency,
        count(*) as n_rows,
        sum(billed_cost) as billed
    from model_lines
    group by 1, 2, 3

),

compared as (

    select
        coalesce(r.source_system, m.source_system) as source_system,
        coalesce(r.charge_billing_period, m.charge_billing_period) as charge_billing_period,
        coalesce(r.billing_currency, m.billing_currency) as billing_currency,
        coalesce(r.n_rows, 0) as raw_rows,
        coalesce(m.n_rows, 0) as model_rows,
        coalesce(r.billed, 0) as raw_billed,
        coalesce(m.billed, 0) as model_billed
    from raw_totals as r
    full outer join model_totals as m
        on
            r.source_system = m.source_system
            and r.charge_billing_period = m.charge_billing_period
            and r.billing_currency = m.billing_currency

)

select *
from compared
where raw_rows <> model_rows or abs(raw_billed - model_billed) > 0.005
