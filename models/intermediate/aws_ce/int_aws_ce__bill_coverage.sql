{#-
    The account-days the full-fidelity AWS bills (CUR, FOCUS) cover, in the months Cost
    Explorer results were loaded for: one row per account × charge day × source × load. An
    account is matched as payer (billing_account_id) or as usage account (sub_account_id),
    because a Cost Explorer result grouped by LINKED_ACCOUNT names the usage account.
    Read by int_aws_ce__superseded_costs (which CE rows the bills supersede) and
    int_aws_ce__bill_loads (so a new bill load rebuilds the CE partitions of its month).
-#}
{{ config(materialized='table') }}
with

ce_periods as (

    select distinct charge_billing_period
    from {{ ref('stg_aws_ce__costs') }}

),

bill_lines as (

    {% for source_system, model in [
        ('aws_cur', 'stg_aws_cur__line_items'), ('focus', 'stg_focus__line_items'),
    ] %}
        select
            '{{ source_system }}' as source_system,
            billing_account_id,
            sub_account_id,
            cast(charge_period_start as date) as charge_date,
            charge_billing_period,
            load_id
        from {{ ref(model) }}
        where
            charge_billing_period in (select ce_periods.charge_billing_period from ce_periods)
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

final as (

    select distinct
        billing_account_id as account_id,
        charge_date,
        charge_billing_period,
        source_system,
        load_id
    from bill_lines
    where billing_account_id is not null
    union
    select distinct
        sub_account_id as account_id,
        charge_date,
        charge_billing_period,
        source_system,
        load_id
    from bill_lines
    where sub_account_id is not null

)

select * from final
