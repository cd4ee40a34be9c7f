{#-
    Azure cost-details rows with the cost basis of their export and whether their billing
    account × billing period also holds an export of the other basis.

    An Azure export is either actual cost (the invoice: reservation and savings plan purchases
    are Purchase rows, the usage they cover costs 0) or amortized cost (covered usage carries its
    share of the purchase, the unused part is an UnusedReservation / UnusedSavingsPlan row,
    purchases are absent or 0). The basis is the loader's (`_cost_basis`, set per load by
    `python -m ingest azure`, declared with --cost-basis or detected from the file); rows landed
    without one are detected here per load with the same rule: any Unused* charge, or usage
    priced by a reservation / savings plan that costs something → amortized, else actual. (The
    loader adds `_cost_basis` to the raw table; a table no Azure load touched since lacks it.)

    Pairing: an account × period with both bases takes billed cost from the actual rows and
    effective cost from the amortized rows (bills_invoice / carries_effective say which row
    carries which money), so neither is ever counted twice. `relation` is the raw table.
-#}
{% macro azure_cost_basis(relation) -%}
    {#- a raw table no Azure load has touched since _cost_basis exists lacks the column -#}
    {%- set declared = 'cast(null as ' ~ dbt.type_string() ~ ')' -%}
    {%- if execute -%}
        {%- set names = adapter.get_columns_in_relation(relation)
            | map(attribute='name') | map('lower') | list -%}
        {%- if '_cost_basis' in names -%}{%- set declared = 'loaded._cost_basis' -%}{%- endif -%}
    {%- endif %}
    select
        with_basis.*,
        (
            with_basis.cost_basis = 'actual'
            or max(case when with_basis.cost_basis = 'actual' then 1 else 0 end) over (
                partition by with_basis._billing_account_id, with_basis._billing_period
            ) = 0
        ) as bills_invoice,
        (
            with_basis.cost_basis = 'amortized'
            or max(case when with_basis.cost_basis = 'amortized' then 1 else 0 end) over (
                partition by with_basis._billing_account_id, with_basis._billing_period
            ) = 0
        ) as carries_effective
    from (
        select
            loaded.*,
            coalesce(
                {{ declared }},
                case
                    when max(
                        case
                            when loaded.charge_type in ('UnusedReservation', 'UnusedSavingsPlan')
                                then 1
                            when
                                loaded.charge_type = 'Usage'
                                and lower(loaded.pricing_model) in ('reservation', 'savingsplan', 'savings plan')
                                and loaded.cost_in_billing_currency <> 0
                                then 1
                            else 0
                        end
                    ) over (partition by loaded._load_id) = 1
                        then 'amortized'
                    else 'actual'
                end
            ) as cost_basis
        from {{ relation }} as loaded
    ) as with_basis
{%- endmacro %}
