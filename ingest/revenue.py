"""Revenue (``month, customer_id, product, amount, currency``) and the customer list
(``customer_id, name, plan, status``).

Revenue is replaced per month delivered; the customer list is a snapshot, so each load replaces
it whole.
"""

from __future__ import annotations

from ingest.core import MONEY, Column, TableSpec, snake_name

REVENUE = TableSpec(
    source="revenue",
    table="raw.revenue",
    columns=(
        Column("month", "DATE", required=True, formats=("%Y-%m-%d", "%Y-%m")),
        Column("customer_id", "VARCHAR", required=True),
        Column("product", "VARCHAR"),
        Column("amount", MONEY, required=True),
        Column("currency", "VARCHAR"),  # checked by the loader's currency check
    ),
    maps=(),
    normalise=snake_name,
    account_column=None,
    period_column="month",
    currency_column="currency",
    billed_column="amount",
    natural_key=("month", "customer_id", "product", "currency"),
)

CUSTOMERS = TableSpec(
    source="customers",
    table="raw.customers",
    columns=(
        Column("customer_id", "VARCHAR", required=True),
        Column("name", "VARCHAR"),
        Column("plan", "VARCHAR"),
        Column("status", "VARCHAR"),
    ),
    maps=(),
    normalise=snake_name,
    account_column=None,
    period_column=None,
    period_grain="all",
    currency_column=None,
    billed_column=None,
)
