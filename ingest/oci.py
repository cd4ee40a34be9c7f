"""Oracle Cloud (OCI) cost reports (``reports/cost-csv/*.csv``), native columns.

Lands in ``raw.oci_cost_reports``. OCI writes no billing-period column, so the period is the
month of ``lineItem/intervalUsageStart``; it marks its own corrections with
``lineItem/isCorrection`` and ``lineItem/backreferenceNo``, which are kept. Interval starts may
omit seconds (``2023-11-13T10:00Z``). Tags are flattened as ``tags/<namespace>.<key>``.
"""

from __future__ import annotations

from ingest.load.spec import MONEY, Column, MapColumn, TableSpec, snake_name
from ingest.registry import Source, register

_ISO_NO_SECONDS = ("%Y-%m-%dT%H:%MZ", "%Y-%m-%dT%H:%M:%SZ")


def _t(name: str) -> Column:
    return Column(name, "VARCHAR")


SPEC = TableSpec(
    source="oci",
    table="raw.oci_cost_reports",
    columns=(
        _t("line_item_reference_no"),
        Column("line_item_tenant_id", "VARCHAR", required=True),
        Column(
            "line_item_interval_usage_start", "TIMESTAMP", required=True, formats=_ISO_NO_SECONDS
        ),
        Column("line_item_interval_usage_end", "TIMESTAMP", formats=_ISO_NO_SECONDS),
        _t("product_service"),
        _t("product_compartment_id"),
        _t("product_compartment_name"),
        _t("product_region"),
        _t("product_availability_domain"),
        _t("product_resource_id"),
        Column("usage_billed_quantity", "DOUBLE"),
        Column("usage_billed_quantity_overage", "DOUBLE"),
        _t("cost_subscription_id"),
        _t("cost_product_sku"),
        _t("product_description"),
        Column("cost_unit_price", MONEY),
        Column("cost_unit_price_overage", MONEY),
        Column("cost_my_cost", MONEY, required=True),
        Column("cost_my_cost_overage", MONEY),
        # Not required: a cost-0 line may leave it blank (the loader's currency check decides).
        Column("cost_currency_code", "VARCHAR"),
        _t("cost_billing_unit_readable"),
        _t("cost_sku_unit_description"),
        Column("cost_overage_flag", "VARCHAR"),
        Column("line_item_is_correction", "BOOLEAN"),
        _t("line_item_backreference_no"),
    ),
    maps=(MapColumn("tags", prefixes=("tags/",)),),
    normalise=snake_name,
    account_column="line_item_tenant_id",
    period_column="line_item_interval_usage_start",
    currency_column="cost_currency_code",
    billed_column="cost_my_cost",
    line_id=("line_item_reference_no",),
    provider="oci",
)


register(
    Source(
        SPEC,
        command="oci",
        label="an Oracle Cloud (OCI) cost report",
        help="Oracle Cloud cost report CSV (native columns)",
        description="Load an Oracle Cloud cost report CSV (native columns).",
    )
)
