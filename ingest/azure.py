"""Azure cost details exports (EA and MCA "actual cost" CSV), native columns.

Lands in ``raw.azure_cost_details`` under snake_case names. EA headers are PascalCase
(``CostInBillingCurrency``), MCA's camelCase (``costInBillingCurrency``); both normalise to the
same names. EA writes US dates (``9/2/2023``); the ``Tags`` column is JSON, sometimes without
its braces.
"""

from __future__ import annotations

from ingest.core import MONEY, Column, MapColumn, TableSpec, snake_name

_US = ("%m/%d/%Y", "%m/%d/%Y %H:%M:%S", "%Y-%m-%d")


def _t(name: str, *aliases: str) -> Column:
    return Column(name, "VARCHAR", aliases)


SPEC = TableSpec(
    source="azure",
    table="raw.azure_cost_details",
    columns=(
        Column("billing_account_id", "VARCHAR", required=True),
        _t("billing_account_name"),
        _t("billing_profile_id"),
        _t("invoice_section_name"),
        _t("invoice_id"),
        Column("billing_period_start_date", "TIMESTAMP", required=True, formats=_US),
        Column("billing_period_end_date", "TIMESTAMP", formats=_US),
        Column("date", "TIMESTAMP", required=True, formats=_US),
        _t("subscription_id", "subscription_guid"),
        _t("subscription_name"),
        _t("resource_group", "resource_group_name"),
        _t("resource_location"),
        _t("resource_id", "instance_name"),
        _t("resource_name"),
        _t("product_name", "product"),
        _t("meter_category"),
        _t("meter_sub_category"),
        _t("meter_id"),
        _t("meter_name"),
        _t("meter_region"),
        _t("unit_of_measure"),
        Column("quantity", "DOUBLE"),
        Column("effective_price", MONEY),
        Column("unit_price", MONEY),
        Column("pay_g_price", MONEY),
        Column("cost_in_billing_currency", MONEY, ("cost",), required=True),
        _t("billing_currency_code", "billing_currency", "currency"),
        _t("charge_type"),
        _t("frequency"),
        _t("pricing_model"),
        _t("publisher_type"),
        _t("publisher_name"),
        _t("reservation_id"),
        _t("reservation_name"),
        _t("consumed_service"),
        _t("service_family"),
        _t("availability_zone"),
        _t("cost_center"),
        _t("benefit_id"),
        _t("benefit_name"),
    ),
    maps=(MapColumn("tags", native=("Tags", "tags")),),
    normalise=snake_name,
    account_column="billing_account_id",
    period_column="billing_period_start_date",
    currency_column="billing_currency_code",
    billed_column="cost_in_billing_currency",
    invoice_column="invoice_id",
    provider="azure",
)
