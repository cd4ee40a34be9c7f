"""Usage driver metrics: ``date, metric, product, customer_id, feature_id, quantity``.

Requests per customer, events ingested, recordings, GB stored, active tenants: whatever a shared
cost is split by. ``product``, ``customer_id`` and ``feature_id`` may be empty, or absent (a
warning says what is lost); a header that misspells one (``customerid``) is refused. A load replaces
the (metric, date) partitions it contains, so a re-export of a day restates that day.
"""

from __future__ import annotations

from ingest.load.spec import CUSTOMER_LOOK_ALIKES, Column, TableSpec, snake_name
from ingest.registry import Source, register

SPEC = TableSpec(
    source="usage",
    table="raw.usage_metrics",
    columns=(
        Column("date", "DATE", required=True, formats=("%Y-%m-%d", "%m/%d/%Y")),
        Column("metric", "VARCHAR", required=True, look_alikes=("metric_name", "driver")),
        Column(
            "product",
            "VARCHAR",
            look_alikes=("product_id",),
            if_missing="this metric cannot split a pool's cost between products",
        ),
        Column(
            "customer_id",
            "VARCHAR",
            look_alikes=CUSTOMER_LOOK_ALIKES,
            if_missing="this metric cannot split cost to customers",
        ),
        Column(
            "feature_id",
            "VARCHAR",
            look_alikes=("feature",),
            if_missing="this metric cannot split cost to features",
        ),
        Column("quantity", "DOUBLE", required=True, look_alikes=("qty", "value", "count")),
    ),
    maps=(),
    normalise=snake_name,
    account_column="metric",
    period_column="date",
    period_grain="day",
    currency_column=None,
    billed_column=None,
    natural_key=("date", "metric", "product", "customer_id", "feature_id"),
    narrow=True,
)


register(
    Source(
        SPEC,
        command="usage",
        label="a usage metrics file",
        help="usage driver metrics: date, metric, product, customer_id, ...",
        description="Load usage driver metrics (columns date, metric, product, customer_id, ...).",
    )
)
