"""Usage driver metrics: ``date, metric, product, customer_id, feature_id, quantity``.

Requests per customer, events ingested, recordings, GB stored, active tenants: whatever a shared
cost is split by. ``product``, ``customer_id`` and ``feature_id`` may be empty. A load replaces
the (metric, date) partitions it contains, so a re-export of a day restates that day.
"""

from __future__ import annotations

from ingest.core import Column, TableSpec, snake_name

SPEC = TableSpec(
    source="usage",
    table="raw.usage_metrics",
    columns=(
        Column("date", "DATE", required=True, formats=("%Y-%m-%d", "%m/%d/%Y")),
        Column("metric", "VARCHAR", required=True),
        Column("product", "VARCHAR"),
        Column("customer_id", "VARCHAR"),
        Column("feature_id", "VARCHAR"),
        Column("quantity", "DOUBLE", required=True),
    ),
    maps=(),
    normalise=snake_name,
    account_column="metric",
    period_column="date",
    period_grain="day",
    currency_column=None,
    billed_column=None,
    natural_key=("date", "metric", "product", "customer_id", "feature_id"),
)
