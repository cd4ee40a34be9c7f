"""FOCUS 1.0–1.3 cost exports (CSV or parquet) from any provider.

Lands in ``raw.focus_line_items`` with FOCUS column names in snake_case (``BilledCost`` →
``billed_cost``). Pre-1.0 names still written by some converters (``Provider``,
``Publisher``, ``InvoiceIssuer``) are accepted as aliases. FOCUS 1.3 deprecates
``ProviderName`` for ``ServiceProviderName`` (and ``PublisherName``; ``HostProviderName`` names
the host): a file without ``ProviderName`` takes its provider from ``ServiceProviderName``, so a
1.3 or later export of a bill meets its CUR or 1.2 export in the bill-once check. Both 1.3 names,
the commitment and capacity reservation columns and a provider's own split cost allocation
columns (``Allocated*``: its allocated rows replace the origin row, so they add up to the bill)
are landed as given. FOCUS CSVs spell null as ``NULL``. Provider-specific ``x_*`` columns are
not landed.
"""

from __future__ import annotations

from ingest.load.spec import MONEY, Column, MapColumn, TableSpec, snake_name
from ingest.registry import Source, register


def _t(name: str, *aliases: str, required: bool = False) -> Column:
    return Column(name, "VARCHAR", aliases, required)


SPEC = TableSpec(
    source="focus",
    table="raw.focus_line_items",
    columns=(
        _t("provider_name", "provider", "service_provider_name", required=True),
        _t("publisher_name", "publisher"),
        _t("service_provider_name"),
        _t("host_provider_name"),
        _t("invoice_issuer_name", "invoice_issuer"),
        _t("invoice_id"),
        _t("billing_account_id", required=True),
        _t("billing_account_name"),
        _t("billing_account_type"),
        _t("sub_account_id"),
        _t("sub_account_name"),
        _t("billing_currency"),  # checked by the loader's currency check
        Column("billing_period_start", "TIMESTAMP", required=True),
        Column("billing_period_end", "TIMESTAMP"),
        Column("charge_period_start", "TIMESTAMP", required=True),
        Column("charge_period_end", "TIMESTAMP"),
        _t("charge_category", required=True),
        _t("charge_class"),
        _t("charge_description"),
        _t("charge_frequency"),
        _t("commitment_discount_category"),
        _t("commitment_discount_id"),
        _t("commitment_discount_name"),
        _t("commitment_discount_status"),
        _t("commitment_discount_type"),
        Column("commitment_discount_quantity", "DOUBLE"),
        _t("commitment_discount_unit"),
        _t("contract_applied"),
        _t("capacity_reservation_id"),
        _t("capacity_reservation_status"),
        Column("billed_cost", MONEY, required=True),
        Column("effective_cost", MONEY, required=True),
        Column("list_cost", MONEY),
        Column("contracted_cost", MONEY),
        Column("list_unit_price", MONEY),
        Column("contracted_unit_price", MONEY),
        Column("consumed_quantity", "DOUBLE"),
        _t("consumed_unit"),
        Column("pricing_quantity", "DOUBLE"),
        _t("pricing_unit"),
        _t("pricing_category"),
        _t("region_id"),
        _t("region_name"),
        _t("availability_zone"),
        _t("resource_id"),
        _t("resource_name"),
        _t("resource_type"),
        _t("service_category"),
        _t("service_subcategory"),
        _t("service_name"),
        _t("sku_id"),
        _t("sku_price_id"),
        _t("allocated_method_id"),
        _t("allocated_method_details"),
        _t("allocated_resource_id"),
        _t("allocated_resource_name"),
        _t("allocated_tags"),
    ),
    maps=(MapColumn("tags", native=("Tags", "tags")),),
    normalise=snake_name,
    account_column="billing_account_id",
    period_column="billing_period_start",
    currency_column="billing_currency",
    billed_column="billed_cost",
    invoice_column="invoice_id",
    null_strings=("", "NULL"),
    provider_column="provider_name",
)


register(
    Source(
        SPEC,
        command="focus",
        label="a FOCUS export",
        help="FOCUS 1.0-1.3 export (CSV/parquet) from any cloud",
        description="Load a FOCUS 1.0-1.3 export (CSV or Parquet) from any cloud.",
    )
)
