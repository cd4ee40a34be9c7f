"""The bundled sample company: who it is, when it runs, and the seeded randomness every source uses.

A SaaS vendor with four products (``replay``, ``analytics``, ``flags``, ``ai_assistant``) on AWS
(two member accounts under one payer) and 40 fixed customers. This module owns the reference data
(products, teams, plans, customers), the generated calendar months and the DuckDB tables every
source module reads: ``months``, ``customers`` and ``customer_products``, plus the ``rnd`` /
``hexid`` / ``uuid_fmt`` macros. Every value comes from ``hash(key..., seed)``, so the same seed
always gives the same content.

Dependencies run one way: this module → the source modules (``cur``, ``query_log``, ``usage``,
``revenue``, ``customers``, ``otel``) → ``generator``. Nothing here imports a source.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import duckdb

# --------------------------------------------------------------------------------------------
# Reference data (other modules and the dbt project rely on these names and ids).
# --------------------------------------------------------------------------------------------
REGION = "us-east-1"
CURRENCY = "USD"
PAYER_ACCOUNT_ID = "111122223333"
PROD_ACCOUNT_ID = "444455556666"
STAGING_ACCOUNT_ID = "777788889999"

PRODUCTS: tuple[str, ...] = ("replay", "analytics", "flags", "ai_assistant")
PRODUCT_TEAMS: Mapping[str, str] = {
    "replay": "replay-team",
    "analytics": "analytics-team",
    "flags": "flags-team",
    "ai_assistant": "ml-team",
}
PLATFORM_TEAM = "platform"
PRODUCT_BILLING_UNITS: Mapping[str, str] = {
    "replay": "recordings",
    "analytics": "events",
    "flags": "flag_requests",
    "ai_assistant": "ai_requests",
}
AI_FEATURES: tuple[str, ...] = ("session_summary", "sql_assistant", "insight_chat")
TAG_KEYS: tuple[str, ...] = (
    "user_product",
    "user_team",
    "user_environment",
    "user_customer",
    "user_feature",
    "user_service",
)
PLAN_PRICES: Mapping[str, int] = {
    "free": 0,
    "starter": 49,
    "growth": 299,
    "scale": 9000,
    "enterprise": 5000,
}

_ALL_PRODUCTS = " ".join(PRODUCTS)
# (customer_id, name, plan, status, monthly MRR in USD, products used). Fixed reference data:
# it does not depend on the seed so that ids, names and MRR are stable for tests and docs.
# Churned customers pay and use the product only in the first generated month.
CUSTOMERS: tuple[tuple[str, str, str, str, int, str], ...] = (
    ("cust_001", "Acme Corp", "enterprise", "active", 5000, _ALL_PRODUCTS),
    ("cust_002", "Beta Inc", "growth", "active", 299, "replay analytics flags"),
    ("cust_003", "Gamma LLC", "starter", "active", 49, "analytics flags"),
    ("cust_004", "Delta Co", "free", "active", 0, "replay analytics"),
    ("cust_005", "Bluefin Labs", "scale", "active", 9000, "replay analytics ai_assistant"),
    ("cust_006", "Cedar & Pine", "starter", "active", 49, "analytics"),
    ("cust_007", "Driftwood Apps", "growth", "active", 299, "replay flags"),
    ("cust_008", "Ember Health", "enterprise", "active", 45000, _ALL_PRODUCTS),
    ("cust_009", "Fjord Logistics", "free", "active", 0, "analytics"),
    ("cust_010", "Granite Pay", "scale", "active", 9000, "analytics flags"),
    ("cust_011", "Harbor Learning", "starter", "churned", 49, "replay"),
    ("cust_012", "Ironleaf Games", "growth", "active", 299, "replay analytics flags"),
    ("cust_013", "Juniper Retail", "free", "active", 0, "flags"),
    ("cust_014", "Kestrel Travel", "growth", "active", 299, "analytics ai_assistant"),
    ("cust_015", "Lumen Media", "starter", "active", 49, "replay"),
    ("cust_016", "Maple Finance", "enterprise", "active", 60000, _ALL_PRODUCTS),
    ("cust_017", "Nimbus Foods", "free", "churned", 0, "analytics"),
    ("cust_018", "Orchid Studio", "starter", "active", 49, "replay analytics"),
    ("cust_019", "Pioneer Fleet", "scale", "active", 9000, "analytics flags ai_assistant"),
    ("cust_020", "Quartz Legal", "growth", "active", 299, "analytics"),
    ("cust_021", "Riverbend Realty", "free", "active", 0, "replay"),
    ("cust_022", "Summit Fitness", "starter", "active", 49, "flags"),
    ("cust_023", "Tidal Energy", "growth", "churned", 299, "replay analytics"),
    ("cust_024", "Upland Farms", "free", "active", 0, "analytics flags"),
    ("cust_025", "Vector Robotics", "scale", "active", 9000, "replay analytics flags"),
    ("cust_026", "Willow Insurance", "growth", "active", 299, "analytics ai_assistant"),
    ("cust_027", "Yellowtail Music", "starter", "active", 49, "replay"),
    ("cust_028", "Zephyr Mobility", "free", "active", 0, "replay analytics"),
    ("cust_029", "Aurora Clinics", "growth", "active", 299, "replay analytics flags"),
    ("cust_030", "Basalt Security", "starter", "active", 49, "flags ai_assistant"),
    ("cust_031", "Copper Kettle", "free", "active", 0, "analytics"),
    ("cust_032", "Dune Outdoor", "starter", "churned", 49, "replay analytics"),
    ("cust_033", "Evergreen Schools", "growth", "active", 299, "analytics flags"),
    ("cust_034", "Falcon Freight", "scale", "active", 9000, "replay analytics ai_assistant"),
    ("cust_035", "Glacier Data", "starter", "active", 49, "analytics"),
    ("cust_036", "Horizon Telecom", "growth", "active", 299, "replay flags"),
    ("cust_037", "Indigo Fashion", "free", "active", 0, "replay"),
    ("cust_038", "Jasper Biotech", "starter", "active", 49, "analytics ai_assistant"),
    ("cust_039", "Keystone Events", "free", "active", 0, "flags"),
    ("cust_040", "Lighthouse NGO", "free", "active", 0, "analytics"),
)
# How much each customer uses, relative to the others (tenant size). Usage scales with the plan so enterprise tenants dominate drivers, as in real SaaS; a few
# tenants use more than their plan pays for (the growth review's loss-makers): Gamma LLC is a
# heavy starter and every free tenant costs something. Acme is a small enterprise deal.
PLAN_SIZES: Mapping[str, float] = {
    "free": 0.25,
    "starter": 0.5,
    "growth": 2.0,
    "scale": 40.0,
    "enterprise": 250.0,
}
SIZE_OVERRIDES: Mapping[str, float] = {
    "cust_001": 10.0,
    "cust_003": 2.5,
    "cust_004": 0.6,
    "cust_016": 330.0,
}


@dataclass(frozen=True)
class Month:
    """One generated calendar month (a billing period for every source)."""

    idx: int
    billing_period: str  # YYYY-MM
    start: date
    end: date  # first day of the next month


def parse_month(value: str) -> date:
    try:
        year, month = (int(part) for part in value.split("-"))
        return date(year, month, 1)
    except ValueError as exc:
        raise ValueError(f"start_month must look like YYYY-MM, got {value!r}") from exc


def add_months(first: date, n: int) -> date:
    y, m = divmod(first.month - 1 + n, 12)
    return date(first.year + y, m + 1, 1)


def calendar_months(first: date, n_months: int) -> tuple[Month, ...]:
    """The ``n_months`` generated months starting at ``first``."""
    return tuple(
        Month(
            i,
            add_months(first, i).strftime("%Y-%m"),
            add_months(first, i),
            add_months(first, i + 1),
        )
        for i in range(n_months)
    )


def sql(text: str, **params: object) -> str:
    """Fill ``@name@`` placeholders; SQL keeps its braces (maps, structs) untouched."""
    for key, value in params.items():
        text = text.replace(f"@{key}@", str(value))
    leftover = re.search(r"@[a-z_]+@", text)
    if leftover:
        raise ValueError(f"unfilled SQL placeholder {leftover.group(0)}")
    return text


def q(value: str) -> str:
    """Quote a Python-side constant as a SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


# --------------------------------------------------------------------------------------------
# Shared DuckDB tables: seeded randomness, calendar, customers
# --------------------------------------------------------------------------------------------
_MACROS = r"""
-- Uniform [0, 1) from a hash of the keys and the seed: the only source of randomness.
CREATE MACRO rnd(a, b, c) AS (hash(a, b, c, @seed@) % 1000000007)::DOUBLE / 1000000007.0;
CREATE MACRO hexid(a, b) AS md5(concat('@seed@/', a, '/', b));
-- x must be a 32-char hex column (not an expression: the macro repeats its argument)
CREATE MACRO uuid_fmt(x) AS
    substr(x, 1, 8) || '-' || substr(x, 9, 4) || '-4' || substr(x, 14, 3) || '-a'
    || substr(x, 18, 3) || '-' || substr(x, 21, 12);
"""


def create_tables(con: duckdb.DuckDBPyConnection, months: Sequence[Month], seed: int) -> None:
    """Create the macros and the ``months``, ``customers`` and ``customer_products`` tables."""
    con.execute(sql(_MACROS, seed=seed))
    con.execute(
        """CREATE TABLE months (month_idx INTEGER, billing_period VARCHAR, period_start DATE,
        period_end DATE, is_last BOOLEAN)"""
    )
    con.executemany(
        "INSERT INTO months VALUES (?, ?, ?, ?, ?)",
        [(m.idx, m.billing_period, m.start, m.end, m.idx == len(months) - 1) for m in months],
    )
    con.execute(
        """CREATE TABLE customers (customer_id VARCHAR, name VARCHAR, plan VARCHAR,
        status VARCHAR, mrr DECIMAL(12, 2), products VARCHAR[], size DOUBLE)"""
    )
    con.executemany(
        "INSERT INTO customers VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (
                cid,
                name,
                plan_,
                status,
                mrr,
                products.split(),
                SIZE_OVERRIDES.get(cid, PLAN_SIZES[plan_]),
            )
            for cid, name, plan_, status, mrr, products in CUSTOMERS
        ],
    )
    con.execute(
        """
        CREATE TABLE customer_products AS
        SELECT c.customer_id, c.size, c.mrr, c.plan, m.month_idx, m.period_start, m.period_end,
               p.product, p.product_idx
        FROM customers c
        CROSS JOIN months m
        CROSS JOIN (SELECT unnest(['replay', 'analytics', 'flags', 'ai_assistant']) AS product,
                           generate_subscripts(['replay', 'analytics', 'flags', 'ai_assistant'], 1)
                               AS product_idx) p
        WHERE list_contains(c.products, p.product)
          AND (c.status = 'active' OR m.month_idx = 0)
        """
    )
