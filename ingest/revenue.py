"""Revenue (``month, customer_id, product, amount, currency``) and the customer list
(``customer_id, name, plan, status``).

Revenue is replaced per month delivered; the customer list is a snapshot, so each load replaces
it whole.
"""

from __future__ import annotations

from ingest.load.spec import CUSTOMER_LOOK_ALIKES, MONEY, Column, TableSpec, snake_name
from ingest.registry import Source, register

REVENUE = TableSpec(
    source="revenue",
    table="raw.revenue",
    columns=(
        Column("month", "DATE", required=True, formats=("%Y-%m-%d", "%Y-%m")),
        Column("customer_id", "VARCHAR", required=True, look_alikes=CUSTOMER_LOOK_ALIKES),
        Column(
            "product",
            "VARCHAR",
            look_alikes=("product_id",),
            if_missing="revenue cannot be matched to products (no product revenue or margin)",
        ),
        Column("amount", MONEY, required=True, look_alikes=("revenue", "value", "total")),
        Column("currency", "VARCHAR", look_alikes=("ccy",)),  # checked by the currency check
    ),
    maps=(),
    normalise=snake_name,
    account_column=None,
    period_column="month",
    currency_column="currency",
    billed_column="amount",
    natural_key=("month", "customer_id", "product", "currency"),
    narrow=True,
)

CUSTOMERS = TableSpec(
    source="customers",
    table="raw.customers",
    columns=(
        Column("customer_id", "VARCHAR", required=True, look_alikes=CUSTOMER_LOOK_ALIKES),
        Column(
            "name",
            "VARCHAR",
            look_alikes=("customer_name", "customer"),
            if_missing="reports show customer ids instead of names",
        ),
        Column(
            "plan",
            "VARCHAR",
            look_alikes=("tier", "plan_name"),
            if_missing="customers have no plan in reports",
        ),
        Column("status", "VARCHAR", if_missing="customers have no status in reports"),
    ),
    maps=(),
    normalise=snake_name,
    account_column=None,
    period_column=None,
    period_grain="all",
    currency_column=None,
    billed_column=None,
    narrow=True,
)


register(
    Source(
        REVENUE,
        command="revenue",
        label="a revenue file",
        help="revenue: month, customer_id, product, amount, currency",
        description="Load revenue (columns month, customer_id, product, amount, currency).",
    )
)

register(
    Source(
        CUSTOMERS,
        command="customers",
        label="a customer list",
        help="customer list: customer_id, name, plan, status",
        description="Load the customer list (columns customer_id, name, plan, status).",
    )
)
