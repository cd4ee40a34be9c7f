"""The growth review: the unit-economics marts as a console table and a static HTML report.

``python -m ingest report`` reads the marts that ``dbt build`` wrote (read-only, plain DuckDB
queries) and prints, for one month and one billing currency: cost per product with cost per
unit, gross margin, the month-over-month trend and the cost range; every loss-making customer
(free tenants as one row); the biggest movers (product, customer, service); the worst-margin
customers; tag coverage and unallocated cost by reason; commitment utilisation and coverage;
the anomalies of the last 14 days; the team budgets. The same call writes a self-contained HTML
file (inline CSS, a small vanilla script drawing SVG charts from an embedded JSON blob and
adding a CSV download to every table, no network) for people who read reports rather than
terminals. Each section's SQL is one ``*_query`` function.

``python -m ingest assumptions`` prints every allocation assumption as Markdown and can write
it as the dbt docs block of ``fct_allocation_assumptions``.

Money stays ``Decimal`` in the billing currency until it is formatted; currencies are never
added together, so every figure is for the one currency the report is about.
"""

from __future__ import annotations

import functools
import html
import json
import logging
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import duckdb
import jinja2
from markupsafe import Markup

from ingest import report_charts
from ingest.load.db import database_path
from ingest.project import rules_folder
from ingest.publish import reader_path

logger = logging.getLogger(__name__)

SCHEMA = "marts"
# The customer marts' row for product cost no customer driver reached.
UNALLOCATED_CUSTOMER = "(unallocated)"
REQUIRED_TABLES = (
    "fct_product_economics_monthly",
    "fct_customer_economics_monthly",
    "fct_cost_ranges_monthly",
    "fct_team_showback_monthly",
    "fct_allocation_assumptions",
    "fct_cost_allocation",
)
# Optional: the monitoring marts are newer than the economics ones, and a warehouse built
# before them should still get its growth review.
ANOMALY_TABLE = "fct_cost_anomalies"
COMMITMENT_TABLES = ("fct_commitment_utilization_monthly", "fct_commitment_coverage_monthly")
ROBUSTNESS_TABLE = "fct_margin_robustness_monthly"
RATES_SCHEMA = "intermediate"
ONE_CURRENCY_HINT = (
    "for one total, set the dbt var reporting_currency and the month's rates in exchange_rates.csv"
)
RATES_TABLE = "int_unit_economics__reporting_rates"
OPTIONAL_TABLES = (ANOMALY_TABLE, *COMMITMENT_TABLES, ROBUSTNESS_TABLE)
# The loss-making customers' row standing for every free tenant (no revenue) together.
FREE_TENANTS = "(free tenants)"
MOVER_KINDS = ("product", "customer", "service")
ANOMALY_WINDOW_DAYS = 14
DOCS_PATH = "models/marts/unit_economics/assumptions.md"
DOCS_BLOCK = "allocation_assumptions"

TOPIC_TITLES = {
    "direct": "Direct cost (tag rules)",
    "dimension": "Dimensions (customer, team, feature, environment)",
    "component": "Cost components",
    "shared_pool": "Shared pools",
    "customer_split": "Split of product cost to customers",
    "volume": "Volume and units",
    "range": "Cost ranges (alternative drivers)",
    "storage_model": "Storage cost model",
    "convention": "Conventions",
    "exclusion": "Exclusions",
}
CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}
# Tableau 10 without its red: red is reserved for negative margins and overspent budgets.
PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#59a14f",
    "#76b7b2",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
    "#86bcb6",
)
CENT = Decimal("0.01")


class ReportError(Exception):
    """The report cannot be made: no warehouse, marts not built, or no data for the request."""


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class ProductRow:
    """One product in the report month (fct_product_economics_monthly + its cost range)."""

    product: str
    product_name: str
    color: str
    total_cost: Decimal
    unit_name: str | None
    unit_volume: float | None
    cost_per_unit: float | None
    unit_scale: int
    revenue: Decimal
    gross_margin: float | None
    previous_month_cost: Decimal | None
    mom_cost_change: float | None
    low_cost: Decimal | None
    high_cost: Decimal | None


@dataclass(frozen=True)
class CustomerRow:
    """One customer in the report month (fct_customer_economics_monthly + its cost range)."""

    customer_id: str
    customer_name: str | None
    plan: str | None
    mrr: Decimal
    allocated_cost: Decimal
    gross_margin: float | None
    margin_rank: int | None
    low_cost: Decimal | None
    high_cost: Decimal | None

    @property
    def label(self) -> str:
        """The name, or the id for a customer missing from the customers export."""
        return self.customer_name or self.customer_id


@dataclass(frozen=True)
class AnomalyRow:
    """One row of fct_cost_anomalies."""

    anomaly_id: str
    rule: str
    scope_type: str
    scope: str
    period_grain: str
    period_start: date
    value: float | None
    baseline: float | None
    change: float | None
    z_score: float | None
    severity: str
    description: str


@dataclass(frozen=True)
class AnomalyLabel:
    """An anomaly's scope and description with display names instead of product ids."""

    anomaly_id: str
    scope_label: str
    description: str


@dataclass(frozen=True)
class LossRow:
    """A loss-making paying customer, or every free tenant together (``FREE_TENANTS``)."""

    customer_id: str
    label: str
    plan: str | None
    customers: int
    mrr: Decimal
    cost: Decimal
    gross_profit: Decimal


@dataclass(frozen=True)
class MoverRow:
    """A product, customer or service whose cost moved most since the previous month."""

    kind: str
    item: str
    label: str
    previous_cost: Decimal
    current_cost: Decimal
    change: Decimal


@dataclass(frozen=True)
class ReasonRow:
    """Cost of the month with an unallocated reason (no_customer: the product keeps it)."""

    reason: str
    is_unallocated: bool
    cost: Decimal


@dataclass(frozen=True)
class TagCoverage:
    """How much of the month's allocated cost reached a product, and why the rest did not."""

    total_cost: Decimal
    product_cost: Decimal
    reasons: tuple[ReasonRow, ...]

    @property
    def share(self) -> float | None:
        """product cost / total cost."""
        return float(self.product_cost / self.total_cost) if self.total_cost else None


@dataclass(frozen=True)
class UtilizationRow:
    """One row of fct_commitment_utilization_monthly in the report month."""

    billing_account_id: str
    commitment_type: str
    n_commitments: int
    total_commitment_cost: Decimal
    used_commitment_cost: Decimal
    unused_commitment_cost: Decimal
    utilization: float | None


@dataclass(frozen=True)
class CoverageRow:
    """One row of fct_commitment_coverage_monthly in the report month."""

    billing_account_id: str
    commitment_type: str
    covered_list_cost: Decimal
    eligible_list_cost: Decimal
    commitment_savings: Decimal
    coverage: float | None


@dataclass(frozen=True)
class FragileRow:
    """A customer or feature whose margin conclusion depends on the allocation method (one
    fragile row of fct_margin_robustness_monthly)."""

    scope_type: str
    scope: str
    product: str | None
    label: str
    revenue: Decimal
    total_cost: Decimal
    min_cost: Decimal
    max_cost: Decimal
    rule_margin: float | None
    min_margin: float | None
    max_margin: float | None
    rule_rank: int
    best_rank: int
    worst_rank: int
    max_rank_move: int
    sign_change_alternative_id: str | None
    rank_move_alternative_id: str | None
    margin_sign_changes: bool
    rank_moves_beyond_threshold: bool

    @property
    def key(self) -> str:
        """customer:<id> or feature:<product>:<feature id>."""
        if self.scope_type == "customer":
            return f"customer:{self.scope}"
        return f"feature:{self.product}:{self.scope}"


@dataclass(frozen=True)
class Robustness:
    """The month's fragile margin conclusions and what they were judged against."""

    rank_move_threshold: int | None
    n_alternatives: int
    fragile: tuple[FragileRow, ...]


@dataclass(frozen=True)
class ReportingRate:
    """One billing currency of the month converted to the reporting currency."""

    from_currency: str
    # The month's locked rate (exchange_rates.csv); None when the rates model is not readable.
    rate: Decimal | None
    # The whole bill of the month in that currency (teams, unallocated buckets included).
    native_cost: Decimal
    reporting_cost: Decimal


@dataclass(frozen=True)
class ReportingRow:
    """One product of the month across its billing currencies, in the reporting currency."""

    product: str
    product_name: str
    billing_currencies: str
    total_cost: Decimal
    revenue: Decimal
    gross_profit: Decimal
    gross_margin: float | None


@dataclass(frozen=True)
class ReportingView:
    """The month's whole bill in the reporting currency (var reporting_currency): the
    marts' *_reporting columns, each row converted at its month's rate and rounded to the cent."""

    currency: str
    rates: tuple[ReportingRate, ...]
    products: tuple[ReportingRow, ...]
    # Σ team cost of the month in the reporting currency: the whole allocation.
    total_cost: Decimal

    @property
    def product_cost(self) -> Decimal:
        return sum((p.total_cost for p in self.products), Decimal(0))

    @property
    def revenue(self) -> Decimal:
        return sum((p.revenue for p in self.products), Decimal(0))

    @property
    def unallocated_cost(self) -> Decimal:
        return self.total_cost - self.product_cost

    @property
    def gross_margin(self) -> float | None:
        """Whole-bill margin: revenue less every cost, unallocated included."""
        if self.revenue <= 0:
            return None
        return float((self.revenue - self.total_cost) / self.revenue)


@dataclass(frozen=True)
class TeamRow:
    """One team in the report month (fct_team_showback_monthly)."""

    team: str
    team_cost: Decimal
    budget: Decimal | None
    budget_remaining: Decimal | None
    budget_used: float | None
    is_over_budget: bool
    # the month-end forecast (fct_cost_forecast_monthly) on the forecast's month, else None
    forecast_cost: Decimal | None = None
    forecast_low_cost: Decimal | None = None
    forecast_high_cost: Decimal | None = None
    forecast_over_budget: Decimal | None = None
    budget_status: str | None = None


@dataclass(frozen=True)
class Assumption:
    """One row of fct_allocation_assumptions."""

    assumption_id: str
    topic_order: int
    topic: str
    subject: str
    rule_source: str
    rule_order: int
    statement: str
    rationale: str | None


@dataclass(frozen=True)
class TrendPoint:
    """A product's cost and cost per unit in one month (for the charts)."""

    month: date
    product: str
    total_cost: Decimal
    cost_per_unit: float | None


@dataclass(frozen=True)
class ReportData:
    """Everything the console table and the HTML report show, for one month and currency."""

    db: Path
    month: date
    currency: str
    other_currencies: tuple[str, ...]
    top: int
    total_cost: Decimal
    products: tuple[ProductRow, ...]
    customers: tuple[CustomerRow, ...]
    customer_count: int
    negative_margin_count: int
    free_tenant_count: int
    free_tenant_cost: Decimal
    anomalies: tuple[AnomalyRow, ...] | None
    anomaly_window: tuple[date, date]
    teams: tuple[TeamRow, ...]
    trend: tuple[TrendPoint, ...]
    assumptions: tuple[Assumption, ...]
    # Product cost of the month no customer driver reached (the '(unallocated)' customer).
    unassigned_customer_cost: Decimal = Decimal(0)
    loss_makers: tuple[LossRow, ...] = ()
    movers: tuple[MoverRow, ...] = ()
    tag_coverage: TagCoverage | None = None
    # None: the commitment marts are not built.
    utilization: tuple[UtilizationRow, ...] | None = None
    coverage: tuple[CoverageRow, ...] | None = None
    anomaly_labels: tuple[AnomalyLabel, ...] = ()
    # None: fct_margin_robustness_monthly is not built.
    robustness: Robustness | None = None
    # None: no reporting currency (var reporting_currency unset, or marts built without it).
    reporting: ReportingView | None = None

    @property
    def previous_month(self) -> date:
        """The month before the report month (the movers' baseline)."""
        return (self.month - timedelta(days=1)).replace(day=1)

    @property
    def product_cost(self) -> Decimal:
        """Σ product cost of the month."""
        return sum((p.total_cost for p in self.products), Decimal(0))

    @property
    def revenue(self) -> Decimal:
        """Σ product revenue of the month (same currency only, as in the mart)."""
        return sum((p.revenue for p in self.products), Decimal(0))

    @property
    def unallocated_cost(self) -> Decimal:
        """Cost of the month no product took (the unallocated buckets)."""
        return self.total_cost - self.product_cost

    @property
    def months(self) -> tuple[date, ...]:
        """Every month with product cost in this currency, oldest first."""
        return tuple(sorted({t.month for t in self.trend}))


# --------------------------------------------------------------------------- queries


def open_marts(db: Path) -> duckdb.DuckDBPyConnection:
    """Open the warehouse read-only; a report never writes, and may run beside other readers."""
    if not db.exists():
        raise ReportError(
            f"{db} does not exist: load the exports and run `dbt build` first "
            "(or `python -m ingest demo` for the sample)"
        )
    try:
        return duckdb.connect(str(db), read_only=True)
    except duckdb.Error as exc:
        raise ReportError(
            f"{db}: cannot open read-only ({exc}); is a load or dbt build writing to it?"
        ) from None


def existing_tables(con: duckdb.DuckDBPyConnection, schema: str = SCHEMA) -> set[str]:
    """Names of the tables and views in ``schema`` (default: the marts)."""
    rows = con.execute(
        "select table_name from information_schema.tables where table_schema = ?", [schema]
    ).fetchall()
    return {name for (name,) in rows}


def require_tables(con: duckdb.DuckDBPyConnection, db: Path, names: Iterable[str]) -> None:
    """Raise a :class:`ReportError` naming the DB and the first missing mart, if any."""
    have = existing_tables(con)
    missing = [n for n in names if n not in have]
    if missing:
        more = f" (and {len(missing) - 1} more marts)" if len(missing) > 1 else ""
        raise ReportError(
            f"{db} has no table {SCHEMA}.{missing[0]}{more}: the marts are not built; "
            "run `dbt build` first (or `python -m ingest demo` for the sample)"
        )


def _empty_product_mart(con: duckdb.DuckDBPyConnection) -> str:
    """Why the product mart is empty: nothing built, or cost that no product rule reached."""
    unallocated = con.execute(
        f"""
        select billing_currency,
               sum(allocated_effective_cost) as cost,
               arg_max(unallocated_reason, allocated_effective_cost) as main_reason
        from (
            select billing_currency, unallocated_reason,
                   sum(allocated_effective_cost) as allocated_effective_cost
            from {SCHEMA}.fct_cost_allocation
            group by all
        )
        group by billing_currency
        having sum(abs(allocated_effective_cost)) > 0
        order by cost desc
        limit 1
        """
    ).fetchone()
    if unallocated is None:
        return "the product mart is empty: load cost and usage, then run `dbt build`"
    currency, cost, reason = unallocated
    return (
        f"no cost reached a product: all {currency} {cost:,.2f} of the bill is unallocated "
        f"(mostly '{reason}'): no product rule of {rules_folder()}/allocation_tag_rules.csv "
        "matches it; run `python -m ingest discover` for the bill's tag keys and a starter rule "
        f"and products, add them to {rules_folder()}/allocation_tag_rules.csv and "
        f"{rules_folder()}/products.csv, then `dbt build`"
    )


def resolve_period(
    con: duckdb.DuckDBPyConnection, month: date | None, currency: str | None
) -> tuple[date, str]:
    """The report's month and currency: the latest month with product cost (in ``currency``
    when given), then the reporting currency if that month has product cost in it, else the
    currency with the most product cost in that month.

    Product cost rather than the whole allocation: a shared sample's few cents of unallocated
    cost in an old month must not become a growth review without products.
    """
    rows = con.execute(
        f"""
        select cost_month, billing_currency, sum(total_cost) as cost
        from {SCHEMA}.fct_product_economics_monthly
        group by cost_month, billing_currency
        having sum(abs(total_cost)) > 0
        order by cost_month, billing_currency
        """
    ).fetchall()
    if not rows:
        raise ReportError(_empty_product_mart(con))
    if currency is not None:
        currencies = sorted({c for _, c, _ in rows})
        if currency not in currencies:
            raise ReportError(
                f"no product cost in {currency}; currencies with cost: {', '.join(currencies)}"
            )
        rows = [r for r in rows if r[1] == currency]
    if month is None:
        month = max(m for m, _, _ in rows)
    in_month = [r for r in rows if r[0] == month]
    if not in_month:
        months = sorted({f"{m:%Y-%m}" for m, _, _ in rows})
        what = f" in {currency}" if currency else ""
        raise ReportError(
            f"no product cost in {month:%Y-%m}{what}; months with cost: {', '.join(months)}"
        )
    if currency is None:
        # The reporting currency when the month has product cost in it, so the detailed
        # sections read in the same currency as the whole-bill headline.
        reporting = _reporting_currency(con, month)
        in_month_currencies = {c for _, c, _ in in_month}
        if reporting in in_month_currencies:
            currency = reporting
        else:
            currency = max(in_month, key=lambda r: (r[2], r[1]))[1]
    return month, currency


def _reporting_currency(con: duckdb.DuckDBPyConnection, month: date) -> str | None:
    """The marts' reporting currency in ``month``: None without var reporting_currency."""
    columns = {
        name
        for (name,) in con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = ? and table_name = 'fct_team_showback_monthly'",
            [SCHEMA],
        ).fetchall()
    }
    if "total_cost_reporting" not in columns:
        return None
    [(currency,)] = con.execute(
        f"""
        select max(reporting_currency) from {SCHEMA}.fct_team_showback_monthly
        where cost_month = ?
        """,
        [month],
    ).fetchall()
    return currency


def unit_scale(values: Iterable[float | None]) -> int:
    """1, 1,000, 1M or 1B: per how many units a cost per unit reads best (at least 0.1)."""
    present = [abs(v) for v in values if v]
    if not present:
        return 1
    top = max(present)
    for scale in (1, 1_000, 1_000_000, 1_000_000_000):
        if top * scale >= 0.1:
            return scale
    return 1_000_000_000


def _products(
    con: duckdb.DuckDBPyConnection, month: date, currency: str
) -> tuple[list[ProductRow], list[TrendPoint]]:
    trend_rows = con.execute(
        f"""
        select cost_month, product, total_cost, cost_per_unit
        from {SCHEMA}.fct_product_economics_monthly
        where billing_currency = ?
        order by cost_month, product
        """,
        [currency],
    ).fetchall()
    trend = [TrendPoint(m, p, c, cpu) for m, p, c, cpu in trend_rows]
    # Colours by product id over all months, so a product keeps its colour in every chart.
    products_ever = sorted({t.product for t in trend})
    colors = {p: PALETTE[i % len(PALETTE)] for i, p in enumerate(products_ever)}
    scales = {
        p: unit_scale(t.cost_per_unit for t in trend if t.product == p) for p in products_ever
    }
    rows = con.execute(
        f"""
        select
            e.product,
            coalesce(e.product_name, e.product),
            e.total_cost,
            e.unit_name,
            e.unit_volume,
            e.cost_per_unit,
            coalesce(e.revenue, 0),
            e.gross_margin,
            e.previous_month_cost,
            e.mom_cost_change,
            r.low_cost,
            r.high_cost
        from {SCHEMA}.fct_product_economics_monthly as e
        left join {SCHEMA}.fct_cost_ranges_monthly as r
            on
                r.scope_type = 'product'
                and r.scope = e.product
                and r.cost_month = e.cost_month
                and r.billing_currency = e.billing_currency
        where e.cost_month = ? and e.billing_currency = ?
        order by e.total_cost desc, e.product
        """,
        [month, currency],
    ).fetchall()
    products = [
        ProductRow(
            product=r[0],
            product_name=r[1],
            color=colors[r[0]],
            total_cost=r[2],
            unit_name=r[3],
            unit_volume=r[4],
            cost_per_unit=r[5],
            unit_scale=scales[r[0]],
            revenue=r[6],
            gross_margin=r[7],
            previous_month_cost=r[8],
            mom_cost_change=r[9],
            low_cost=r[10],
            high_cost=r[11],
        )
        for r in rows
    ]
    return products, trend


def _customers(
    con: duckdb.DuckDBPyConnection, month: date, currency: str, top: int
) -> tuple[list[CustomerRow], int, int, int, Decimal, Decimal]:
    """The worst-margin paying customers, plus counts. Free tenants (no MRR) are all −100 % by
    convention and would crowd out the paying customers a growth review is about: they are
    summed on their own line instead. The '(unallocated)' customer (product cost no customer
    driver reached) is no customer: it is left out of the counts and returned as its cost."""
    rows = con.execute(
        f"""
        select
            c.customer_id,
            c.customer_name,
            c.plan,
            coalesce(c.mrr, 0),
            coalesce(c.total_cost, 0),
            c.gross_margin,
            c.margin_rank,
            r.low_cost,
            r.high_cost
        from {SCHEMA}.fct_customer_economics_monthly as c
        left join {SCHEMA}.fct_cost_ranges_monthly as r
            on
                r.scope_type = 'customer'
                and r.scope = c.customer_id
                and r.cost_month = c.cost_month
                and r.billing_currency = c.billing_currency
        where c.cost_month = ? and c.billing_currency = ? and c.mrr > 0
        order by c.margin_rank nulls last, c.gross_margin nulls last, c.customer_id
        limit ?
        """,
        [month, currency, top],
    ).fetchall()
    real = f"customer_id <> '{UNALLOCATED_CUSTOMER}'"
    counts = con.execute(
        f"""
        select
            count(*) filter (where {real}),
            count(*) filter (where is_negative_margin and {real}),
            count(*) filter (where mrr = 0 and total_cost > 0 and {real}),
            coalesce(sum(total_cost) filter (where mrr = 0 and {real}), 0),
            coalesce(sum(total_cost) filter (where not {real}), 0)
        from {SCHEMA}.fct_customer_economics_monthly
        where cost_month = ? and billing_currency = ?
        """,
        [month, currency],
    ).fetchone() or (0, 0, 0, Decimal(0), Decimal(0))
    count, negative, free_count, free_cost, unassigned = counts
    return (
        [CustomerRow(*r) for r in rows],
        int(count),
        int(negative),
        int(free_count),
        Decimal(free_cost),
        Decimal(unassigned),
    )


def _unassigned_note(data: ReportData) -> str:
    """The labelled line for product cost no customer driver reached."""
    return (
        f"{UNALLOCATED_CUSTOMER}: {money(data.unassigned_customer_cost)} {data.currency} of "
        "product cost reached no customer (no customer driver; unallocated_reason no_customer)."
    )


def _anomaly_window(
    con: duckdb.DuckDBPyConnection, have: set[str], month: date, currency: str
) -> tuple[date, date]:
    """The 14 days up to the last day with cost in the month (else the month's last day)."""
    month_end = (month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    last = None
    if "fct_cost_allocation" in have:
        row = con.execute(
            f"""
            select max(period_start) from {SCHEMA}.fct_cost_allocation
            where period_grain = 'day' and cost_month = ? and billing_currency = ?
            """,
            [month, currency],
        ).fetchone()
        last = row[0] if row else None
    end = min(last or month_end, month_end)
    return end - timedelta(days=ANOMALY_WINDOW_DAYS - 1), end


def _anomalies(
    con: duckdb.DuckDBPyConnection, window: tuple[date, date], currency: str
) -> list[AnomalyRow]:
    # A week is in the window when it starts in it: 14 days hold exactly two week starts.
    rows = con.execute(
        f"""
        select anomaly_id, rule, scope_type, scope, period_grain, period_start, value,
               baseline, change, z_score, severity, description
        from {SCHEMA}.{ANOMALY_TABLE}
        where billing_currency = ? and period_start between ? and ?
        order by
            case severity when 'critical' then 0 when 'warning' then 1 else 2 end,
            period_start desc,
            abs(coalesce(z_score, change, 0)) desc,
            anomaly_id
        """,
        [currency, window[0], window[1]],
    ).fetchall()
    return [AnomalyRow(*r) for r in rows]


def _teams(con: duckdb.DuckDBPyConnection, month: date, currency: str) -> list[TeamRow]:
    rows = con.execute(
        f"""
        select team, total_cost, budget, budget_remaining, budget_used,
               coalesce(is_over_budget, false), forecast_cost, forecast_low_cost,
               forecast_high_cost, forecast_over_budget, budget_status
        from {SCHEMA}.fct_team_showback_monthly
        where cost_month = ? and billing_currency = ?
        order by
            coalesce(is_over_budget, false) desc,
            budget is null,
            budget_used desc nulls last,
            total_cost desc,
            team
        """,
        [month, currency],
    ).fetchall()
    return [TeamRow(*r) for r in rows]


def loss_makers_query(con: duckdb.DuckDBPyConnection, month: date, currency: str) -> list[LossRow]:
    """Every paying customer with gross_profit < 0, worst loss first; free tenants (no
    revenue) as one row with their count, cost and loss, placed by that loss."""
    rows = con.execute(
        f"""
        with month_customers as (
            select * from {SCHEMA}.fct_customer_economics_monthly
            where cost_month = ? and billing_currency = ? and customer_id <> ?
        ),
        losses as (
            select customer_id, coalesce(customer_name, customer_id) as label, plan,
                   1 as customers, mrr, total_cost as cost, gross_profit
            from month_customers
            where gross_profit < 0 and coalesce(mrr, 0) > 0
            union all
            select ?, 'Free tenants', string_agg(distinct plan, ', ' order by plan),
                   count(*), 0, sum(total_cost), sum(gross_profit)
            from month_customers
            where gross_profit < 0 and coalesce(mrr, 0) = 0
            having count(*) > 0
        )
        select * from losses order by gross_profit, customer_id
        """,
        [month, currency, UNALLOCATED_CUSTOMER, FREE_TENANTS],
    ).fetchall()
    return [LossRow(*r) for r in rows]


def movers_query(
    con: duckdb.DuckDBPyConnection, month: date, previous: date, currency: str, top: int
) -> list[MoverRow]:
    """The ``top`` products, customers and services (service_code) by absolute cost change
    from ``previous`` to ``month``; an item missing in one month counts 0 there."""
    rows = con.execute(
        f"""
        with costs as (
            select 'product' as kind, product as item, coalesce(product_name, product) as label,
                   cost_month, total_cost as cost
            from {SCHEMA}.fct_product_economics_monthly where billing_currency = $currency
            union all
            select 'customer', customer_id, coalesce(customer_name, customer_id),
                   cost_month, total_cost
            from {SCHEMA}.fct_customer_economics_monthly
            where billing_currency = $currency and customer_id <> $unallocated
            union all
            select 'service', service_code, service_code, cost_month,
                   allocated_effective_cost
            from {SCHEMA}.fct_cost_allocation where billing_currency = $currency
        ),
        pairs as (
            select kind, item, max(label) as label,
                   coalesce(sum(cost) filter (where cost_month = $previous), 0) as previous_cost,
                   coalesce(sum(cost) filter (where cost_month = $month), 0) as current_cost
            from costs where cost_month in ($previous, $month)
            group by kind, item
        ),
        ranked as (
            select *, current_cost - previous_cost as change,
                   row_number() over (
                       partition by kind order by abs(current_cost - previous_cost) desc, item
                   ) as position
            from pairs
        )
        select kind, item, label, previous_cost, current_cost, change from ranked
        where position <= $top and change <> 0
        order by kind, position
        """,
        {
            "currency": currency,
            "unallocated": UNALLOCATED_CUSTOMER,
            "previous": previous,
            "month": month,
            "top": top,
        },
    ).fetchall()
    return [MoverRow(*r) for r in rows]


def tag_coverage_query(con: duckdb.DuckDBPyConnection, month: date, currency: str) -> TagCoverage:
    """The month's allocated cost, the part that reached a product, and cost by unallocated
    reason (fct_cost_allocation, read once: the totals are sums of the reason groups)."""
    rows = con.execute(
        f"""
        select unallocated_reason, bool_or(is_unallocated) as is_unallocated,
               sum(allocated_effective_cost) as cost,
               coalesce(sum(allocated_effective_cost) filter (where not is_unallocated), 0)
                   as product_cost
        from {SCHEMA}.fct_cost_allocation
        where cost_month = ? and billing_currency = ?
        group by unallocated_reason
        order by cost desc, unallocated_reason
        """,
        [month, currency],
    ).fetchall()
    total = sum((Decimal(cost) for _, _, cost, _ in rows), Decimal(0))
    product = sum((Decimal(p) for _, _, _, p in rows), Decimal(0))
    reasons = tuple(ReasonRow(r, u, c) for r, u, c, _ in rows if r is not None)
    return TagCoverage(total, product, reasons)


def utilization_query(
    con: duckdb.DuckDBPyConnection, month: date, currency: str
) -> list[UtilizationRow]:
    """Commitments of the month with something committed, per account and type."""
    rows = con.execute(
        f"""
        select billing_account_id, commitment_type, n_commitments, total_commitment_cost,
               used_commitment_cost, unused_commitment_cost, utilization
        from {SCHEMA}.fct_commitment_utilization_monthly
        where cost_month = ? and billing_currency = ? and total_commitment_cost <> 0
        order by total_commitment_cost desc, billing_account_id, commitment_type
        """,
        [month, currency],
    ).fetchall()
    return [UtilizationRow(*r) for r in rows]


def coverage_query(con: duckdb.DuckDBPyConnection, month: date, currency: str) -> list[CoverageRow]:
    """Usage a commitment could cover in the month, per account and type, and how much was."""
    rows = con.execute(
        f"""
        select billing_account_id, commitment_type, covered_list_cost, eligible_list_cost,
               commitment_savings, coverage
        from {SCHEMA}.fct_commitment_coverage_monthly
        where cost_month = ? and billing_currency = ? and eligible_list_cost <> 0
        order by eligible_list_cost desc, billing_account_id, commitment_type
        """,
        [month, currency],
    ).fetchall()
    return [CoverageRow(*r) for r in rows]


def anomaly_labels_query(
    con: duckdb.DuckDBPyConnection, window: tuple[date, date], currency: str
) -> list[AnomalyLabel]:
    """Each anomaly's scope and description with the product's display name for its id
    ('replay' → 'Session Replay', 'replay/compute' → 'Session Replay / compute')."""
    rows = con.execute(
        f"""
        with names as (
            select product, max(product_name) as product_name
            from {SCHEMA}.fct_product_economics_monthly group by product
        ),
        labelled as (
            select a.anomaly_id, a.scope, a.description,
                   case
                       when a.scope_type = 'all' then 'All cost'
                       when n.product_name is null then a.scope
                       when a.scope_type = 'component'
                           then n.product_name || ' / ' || split_part(a.scope, '/', 2)
                       else n.product_name
                   end as scope_label
            from {SCHEMA}.{ANOMALY_TABLE} as a
            left join names as n on n.product = split_part(a.scope, '/', 1)
            where a.billing_currency = ? and a.period_start between ? and ?
        )
        -- 'Product analytics cost' reads 'Product Analytics cost', not 'Product Product ...'
        select anomaly_id, scope_label,
               replace(
                   replace(description, ' ' || scope || ' ', ' ' || scope_label || ' '),
                   'Product Product ', 'Product '
               )
        from labelled
        """,
        [currency, window[0], window[1]],
    ).fetchall()
    return [AnomalyLabel(*r) for r in rows]


def robustness_query(con: duckdb.DuckDBPyConnection, month: date, currency: str) -> Robustness:
    """Customers and features of the month whose margin sign flips, or whose margin rank
    moves more than the threshold, under one declared alternative pool driver: sign flips
    first, then by the largest rank move."""
    threshold, n_alternatives = con.execute(
        f"""
        select max(rank_move_threshold), coalesce(max(n_alternatives), 0)
        from {SCHEMA}.{ROBUSTNESS_TABLE}
        where cost_month = ? and billing_currency = ?
        """,
        [month, currency],
    ).fetchone()
    rows = con.execute(
        f"""
        select r.scope_type, r.scope, r.product,
               case
                   when r.scope_type = 'customer' then coalesce(c.customer_name, r.scope)
                   else coalesce(p.product_name, r.product) || ' · ' || r.scope
               end as label,
               r.revenue, r.total_cost, r.min_cost, r.max_cost,
               r.rule_margin, r.min_margin, r.max_margin,
               r.rule_rank, r.best_rank, r.worst_rank, r.max_rank_move,
               r.sign_change_alternative_id, r.rank_move_alternative_id,
               r.margin_sign_changes, r.rank_moves_beyond_threshold
        from {SCHEMA}.{ROBUSTNESS_TABLE} as r
        left join {SCHEMA}.fct_customer_economics_monthly as c
            on r.scope_type = 'customer' and c.customer_id = r.scope
            and c.cost_month = r.cost_month and c.billing_currency = r.billing_currency
        left join {SCHEMA}.fct_product_economics_monthly as p
            on r.scope_type = 'feature' and p.product = r.product
            and p.cost_month = r.cost_month and p.billing_currency = r.billing_currency
        where r.cost_month = ? and r.billing_currency = ? and r.is_fragile
        order by r.scope_type, r.margin_sign_changes desc, r.max_rank_move desc,
                 r.product nulls first, r.scope
        """,
        [month, currency],
    ).fetchall()
    return Robustness(threshold, n_alternatives, tuple(FragileRow(*r) for r in rows))


def reporting_query(con: duckdb.DuckDBPyConnection, month: date) -> ReportingView | None:
    """The month in the reporting currency, or None when the marts carry none."""
    currency = _reporting_currency(con, month)
    if currency is None:
        return None
    rates: dict[str, Decimal] = {}
    if RATES_TABLE in existing_tables(con, RATES_SCHEMA):
        rates = dict(
            con.execute(
                f"""
                select from_currency, rate from {RATES_SCHEMA}.{RATES_TABLE}
                where rate_month = ? and to_currency = ?
                """,
                [month, currency],
            ).fetchall()
        )
    bills = con.execute(
        f"""
        select billing_currency, sum(total_cost), sum(total_cost_reporting)
        from {SCHEMA}.fct_team_showback_monthly
        where cost_month = ?
        group by billing_currency
        order by billing_currency
        """,
        [month],
    ).fetchall()
    products = con.execute(
        f"""
        select product, max(product_name),
               string_agg(distinct billing_currency, ', ' order by billing_currency),
               sum(total_cost_reporting), sum(revenue_reporting), sum(gross_profit_reporting),
               max(gross_margin_reporting)
        from {SCHEMA}.fct_product_economics_monthly
        where cost_month = ?
        group by product
        order by sum(total_cost_reporting) desc, product
        """,
        [month],
    ).fetchall()
    return ReportingView(
        currency=currency,
        rates=tuple(ReportingRate(c, rates.get(c), native, rep) for c, native, rep in bills),
        products=tuple(ReportingRow(*r) for r in products),
        total_cost=sum((rep for _, _, rep in bills), Decimal(0)),
    )


def load_assumptions(con: duckdb.DuckDBPyConnection) -> list[Assumption]:
    """Every row of fct_allocation_assumptions, by topic and rule order."""
    rows = con.execute(
        f"""
        select assumption_id, topic_order, topic, subject, rule_source, rule_order,
               statement, rationale
        from {SCHEMA}.fct_allocation_assumptions
        order by topic_order, topic, rule_order, subject, assumption_id
        """
    ).fetchall()
    return [Assumption(*r) for r in rows]


def collect(
    db: Path, month: date | None = None, currency: str | None = None, top: int = 10
) -> ReportData:
    """Read everything the report shows from the marts of ``db``."""
    con = open_marts(db)
    try:
        require_tables(con, db, REQUIRED_TABLES)
        have = existing_tables(con)
        month, currency = resolve_period(con, month, currency)
        logger.info("report for %s %s from %s", f"{month:%Y-%m}", currency, db)
        products, trend = _products(con, month, currency)
        customers, count, negative, free_count, free_cost, unassigned = _customers(
            con, month, currency, top
        )
        teams = _teams(con, month, currency)
        others = con.execute(
            f"""
            select distinct billing_currency from {SCHEMA}.fct_team_showback_monthly
            where billing_currency <> ? order by 1
            """,
            [currency],
        ).fetchall()
        window = _anomaly_window(con, have, month, currency)
        anomalies = _anomalies(con, window, currency) if ANOMALY_TABLE in have else None
        labels = anomaly_labels_query(con, window, currency) if anomalies else []
        assumptions = load_assumptions(con)
        previous = (month - timedelta(days=1)).replace(day=1)
        loss_makers = loss_makers_query(con, month, currency)
        movers = movers_query(con, month, previous, currency, top)
        tag_coverage = tag_coverage_query(con, month, currency)
        commitments = all(t in have for t in COMMITMENT_TABLES)
        utilization = utilization_query(con, month, currency) if commitments else None
        coverage = coverage_query(con, month, currency) if commitments else None
        robustness = robustness_query(con, month, currency) if ROBUSTNESS_TABLE in have else None
        reporting = reporting_query(con, month)
    except duckdb.Error as exc:
        # A mart rebuilt by a newer or older model version: say so instead of a traceback.
        raise ReportError(
            f"{db}: cannot read the marts ({str(exc).splitlines()[0]}); "
            "rebuild them with `dbt build`"
        ) from None
    finally:
        con.close()
    # The teams of a month sum to the whole allocation, unallocated buckets included.
    if teams:
        total = sum((t.team_cost for t in teams), Decimal(0))
    else:
        total = sum((p.total_cost for p in products), Decimal(0))
    return ReportData(
        db=db,
        month=month,
        currency=currency,
        other_currencies=tuple(c for (c,) in others),
        top=top,
        total_cost=total,
        products=tuple(products),
        customers=tuple(customers),
        customer_count=count,
        negative_margin_count=negative,
        free_tenant_count=free_count,
        free_tenant_cost=free_cost,
        unassigned_customer_cost=unassigned,
        anomalies=None if anomalies is None else tuple(anomalies),
        anomaly_window=window,
        teams=tuple(teams),
        trend=tuple(trend),
        assumptions=tuple(assumptions),
        loss_makers=tuple(loss_makers),
        movers=tuple(movers),
        tag_coverage=tag_coverage,
        utilization=None if utilization is None else tuple(utilization),
        coverage=None if coverage is None else tuple(coverage),
        anomaly_labels=tuple(labels),
        robustness=robustness,
        reporting=reporting,
    )


# --------------------------------------------------------------------------- formatting


def money(value: Decimal | float | None) -> str:
    """12,345.67 (no symbol: the currency is in the heading)."""
    if value is None:
        return "—"
    return f"{Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP):,.2f}".replace("-", "−")


def signed_money(value: Decimal) -> str:
    """+1,020.08 / −50.33: a change, with its sign either way."""
    return ("+" if value > 0 else "") + money(value)


def symbol_money(value: Decimal | float | None, currency: str, decimals: int = 2) -> str:
    """$12,345.67 for the common currencies, CAD 12,345.67 otherwise."""
    if value is None:
        return "—"
    symbol = CURRENCY_SYMBOLS.get(currency)
    quantum = Decimal(1).scaleb(-decimals)
    amount = Decimal(str(value)).quantize(quantum, rounding=ROUND_HALF_UP)
    text = f"{abs(amount):,.{decimals}f}"
    sign = "−" if amount < 0 else ""
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{currency} {text}"


def money_range(low: Decimal | None, high: Decimal | None, currency: str) -> str:
    """A cost range as "$120–$135": whole units unless cents matter (amounts under 100)."""
    if low is None or high is None:
        return "—"
    decimals = 0 if max(abs(low), abs(high)) >= 100 else 2
    return f"{symbol_money(low, currency, decimals)}–{symbol_money(high, currency, decimals)}"


def pct(ratio: float | None, decimals: int = 1) -> str:
    """0.8312 → "83.1 %" (a true minus sign for negatives)."""
    if ratio is None or math.isnan(ratio):
        return "—"
    return f"{ratio * 100:.{decimals}f} %".replace("-", "−")


def trend_arrow(change: float | None) -> str:
    """MoM cost change as "↑ 5.3 %" / "↓ 4.3 %"; "new" without a previous month."""
    if change is None or math.isnan(change):
        return "new"
    if round(change * 100, 1) == 0:
        return "→ 0.0 %"
    return f"{'↑' if change > 0 else '↓'} {abs(change) * 100:.1f} %"


def significant(value: float, digits: int = 3) -> float:
    """``value`` rounded to ``digits`` significant digits."""
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, digits - 1 - math.floor(math.log10(abs(value))))


def format_significant(value: float, digits: int = 3) -> str:
    """9.2247 → "9.22", 0.74519 → "0.745", 1234.5 → "1,235"."""
    if value == 0:
        return "0"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
    return f"{significant(value, digits):,.{decimals}f}".replace("-", "−")


def plural(unit: str) -> str:
    """recording → recordings (unit names in seeds/rules/products.csv are simple nouns)."""
    return unit if unit.endswith("s") else unit + "s"


def per_units(unit_name: str | None, scale: int) -> str:
    """The unit label: "per recording", "per 1k AI requests", "per 1M events"."""
    unit = unit_name or "unit"
    if scale == 1:
        return f"per {unit}"
    label = {1_000: "1k", 1_000_000: "1M", 1_000_000_000: "1B"}.get(scale, f"{scale:,}")
    return f"per {label} {plural(unit)}"


def cost_per_unit_text(p: ProductRow, currency: str) -> str:
    """Cost per unit as "$9.45 per 1M events" (3 significant digits), or "no volume"."""
    if p.cost_per_unit is None:
        return "no volume"
    scaled = format_significant(p.cost_per_unit * p.unit_scale)
    symbol = CURRENCY_SYMBOLS.get(currency)
    amount = f"{symbol}{scaled}" if symbol else f"{currency} {scaled}"
    return f"{amount} {per_units(p.unit_name, p.unit_scale)}"


def product_margin(products: Sequence[ProductRow]) -> float | None:
    """Σ revenue − Σ cost over Σ revenue: the products' blended gross margin."""
    revenue = sum((p.revenue for p in products), Decimal(0))
    cost = sum((p.total_cost for p in products), Decimal(0))
    return float((revenue - cost) / revenue) if revenue > 0 else None


def total_mom(products: Sequence[ProductRow]) -> float | None:
    """Cost change of the products that had a previous month, taken together."""
    with_previous = [p for p in products if p.previous_month_cost]
    previous = sum((p.previous_month_cost or Decimal(0) for p in with_previous), Decimal(0))
    if not with_previous or previous == 0:
        return None
    return float(sum((p.total_cost for p in with_previous), Decimal(0)) / previous - 1)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> list[str]:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        out = [
            str(c).rjust(widths[i]) if i in right else str(c).ljust(widths[i])
            for i, c in enumerate(cells)
        ]
        return "  ".join(out).rstrip()

    return [line(header), *(line(r) for r in rows)]


def anomaly_text(data: ReportData, anomaly: AnomalyRow) -> tuple[str, str]:
    """The anomaly's scope and description with display names (raw when unlabelled)."""
    label = next((x for x in data.anomaly_labels if x.anomaly_id == anomaly.anomaly_id), None)
    if label is None:
        return anomaly.scope, anomaly.description
    return label.scope_label, label.description


def _text_extra_sections(data: ReportData) -> list[str]:
    """Loss-making customers, movers, tag coverage and commitments for the console."""
    cur = data.currency
    out = ["", f"customers who lose money, {data.month:%Y-%m} ({cur}), biggest loss first"]
    rows = [
        [
            f"{c.label} ({c.customers})" if c.customer_id == FREE_TENANTS else c.label,
            c.plan or "",
            money(c.mrr),
            money(c.cost),
            money(c.gross_profit),
        ]
        for c in data.loss_makers
    ]
    header = ["customer", "plan", "MRR", "cost", "gross profit"]
    out.extend("  " + line for line in _table(header, rows, {2, 3, 4}) if rows)
    if not rows:
        out.append("  none")
    for kind in MOVER_KINDS:
        out.append("")
        out.append(f"biggest {kind} movers, {data.previous_month:%Y-%m} → {data.month:%Y-%m}")
        rows = [
            [m.label, money(m.previous_cost), money(m.current_cost), signed_money(m.change)]
            for m in data.movers
            if m.kind == kind
        ]
        header = [kind, f"{data.previous_month:%Y-%m}", f"{data.month:%Y-%m}", "change"]
        out.extend("  " + line for line in _table(header, rows, {1, 2, 3}) if rows)
        if not rows:
            out.append("  none")
    cov = data.tag_coverage
    if cov is not None:
        out.append("")
        out.append(
            f"tag coverage: {pct(cov.share)} of {money(cov.total_cost)} {cur} reached a product"
        )
        for r in cov.reasons:
            effect = "" if r.is_unallocated else " (product keeps it, no customer)"
            out.append(f"  {r.reason:<24} {money(r.cost):>14}{effect}")
    out.append("")
    if data.utilization is None:
        out.append("commitments: commitment marts not built")
    elif not data.utilization:
        out.append(f"commitments: no commitments in this bill for {data.month:%Y-%m} ({cur})")
    else:
        out.append(f"commitments, {data.month:%Y-%m} ({cur})")
        coverage = {(c.billing_account_id, c.commitment_type): c for c in data.coverage or ()}
        for u in data.utilization:
            c = coverage.get((u.billing_account_id, u.commitment_type))
            out.append(
                f"  {u.billing_account_id}  {u.commitment_type:<18} utilisation "
                f"{pct(u.utilization)}, unused {money(u.unused_commitment_cost)}, coverage "
                f"{pct(c.coverage if c else None)}"
            )
    return out


ROBUSTNESS_TITLE = "These conclusions depend on the allocation method"
ROBUSTNESS_NONE = "no margin conclusion depends on the allocation method"


def fragile_reason(row: FragileRow) -> str:
    """Why a conclusion is fragile: "sign flips under X; rank moves 5 places under Y"."""
    reasons = []
    if row.margin_sign_changes:
        reasons.append(f"margin sign flips under {row.sign_change_alternative_id}")
    if row.rank_moves_beyond_threshold:
        reasons.append(
            f"rank moves {row.max_rank_move} places under {row.rank_move_alternative_id}"
        )
    return "; ".join(reasons)


def robustness_summary(data: ReportData) -> str:
    """The section's one-line verdict for the report month."""
    rob = data.robustness
    if rob is None:
        return f"margin robustness not built (no {SCHEMA}.{ROBUSTNESS_TABLE})"
    if rob.n_alternatives == 0:
        return f"{ROBUSTNESS_NONE}: no pool declares an alternative driver this month"
    if not rob.fragile:
        return (
            f"{ROBUSTNESS_NONE}: under each of {rob.n_alternatives} alternative pool drivers "
            f"no margin changes sign and no margin rank moves more than "
            f"{rob.rank_move_threshold} places"
        )
    customers = sum(r.scope_type == "customer" for r in rob.fragile)
    features = len(rob.fragile) - customers
    return (
        f"{customers} customers and {features} features: under one of {rob.n_alternatives} "
        f"alternative pool drivers the margin changes sign or the margin rank moves more than "
        f"{rob.rank_move_threshold} places (rank 1 = worst margin)"
    )


def _robustness_text(data: ReportData) -> list[str]:
    out = ["", f"{ROBUSTNESS_TITLE}, {data.month:%Y-%m} ({data.currency})"]
    out.append(f"  {robustness_summary(data)}")
    rob = data.robustness
    if rob is None or not rob.fragile:
        return out
    rows = [
        [
            r.scope_type,
            r.label,
            pct(r.rule_margin),
            f"{pct(r.min_margin)} to {pct(r.max_margin)}",
            str(r.rule_rank),
            f"{r.worst_rank}–{r.best_rank}",
            fragile_reason(r),
        ]
        for r in rob.fragile
    ]
    header = ["kind", "who", "margin", "margin range", "rank", "rank range", "why"]
    out.extend("  " + line for line in _table(header, rows, {2, 3, 4, 5}))
    return out


def rate_text(r: ReportingRate, currency: str) -> str:
    """``EUR 200.00 × 1.1 = USD 220.00`` (the rate as locked in exchange_rates.csv)."""
    rate = "?" if r.rate is None else f"{r.rate.normalize():f}"
    return (
        f"{r.from_currency} {money(r.native_cost)} × {rate} = {currency} {money(r.reporting_cost)}"
    )


def _reporting_text(data: ReportData) -> list[str]:
    rep = data.reporting
    if rep is None:
        return []
    cur = rep.currency
    out = [
        "",
        f"whole bill in {cur}, {data.month:%Y-%m} (reporting currency; every mart row converted "
        "at its month's locked rate, then rounded to the cent)",
        f"  total cost {money(rep.total_cost)} {cur} = products {money(rep.product_cost)} "
        f"+ unallocated {money(rep.unallocated_cost)}; revenue {money(rep.revenue)}; "
        f"gross margin {pct(rep.gross_margin)}",
        "  rates: " + "; ".join(rate_text(r, cur) for r in rep.rates),
    ]
    rows = [
        [
            p.product_name,
            p.billing_currencies,
            money(p.total_cost),
            money(p.revenue),
            pct(p.gross_margin),
        ]
        for p in rep.products
    ]
    header = ["product", "billed in", f"cost {cur}", f"revenue {cur}", "gross margin"]
    out.extend("  " + line for line in _table(header, rows, {2, 3, 4}))
    return out


def format_text(data: ReportData, html_path: Path | None = None, max_anomalies: int = 20) -> str:
    """The console report: products, worst customers, anomalies, team budgets."""
    cur = data.currency
    out: list[str] = []
    out.append(f"Growth review {data.month:%Y-%m}, {cur}. Warehouse: {data.db}")
    revenue = data.revenue
    gross = float((revenue - data.total_cost) / revenue) if revenue > 0 else None
    out.append(
        f"total cost {money(data.total_cost)} {cur} = products {money(data.product_cost)} "
        f"+ unallocated {money(data.unallocated_cost)}; revenue {money(revenue)}; "
        f"gross margin {pct(gross)} (products only {pct(product_margin(data.products))})"
    )
    if data.other_currencies:
        out.append(
            f"other billing currencies in this warehouse (reported separately, never added): "
            f"{', '.join(data.other_currencies)}; use --currency"
            + ("" if data.reporting else f"; {ONE_CURRENCY_HINT}")
        )
    out.extend(_reporting_text(data))

    out.append("")
    out.append(f"products, {data.month:%Y-%m} ({cur})")
    rows = [
        [
            p.product_name,
            money(p.total_cost),
            cost_per_unit_text(p, cur),
            pct(p.gross_margin),
            trend_arrow(p.mom_cost_change),
            money_range(p.low_cost, p.high_cost, cur),
        ]
        for p in data.products
    ]
    rows.append(
        [
            "total",
            money(data.product_cost),
            "",
            pct(product_margin(data.products)),
            trend_arrow(total_mom(data.products)),
            "",
        ]
    )
    header = ["product", "total cost", "cost per unit", "gross margin", "MoM cost", "cost range"]
    out.extend("  " + line for line in _table(header, rows, {1, 3, 4}))

    out.append("")
    out.append(
        f"worst {len(data.customers)} paying customers by gross margin "
        f"({data.negative_margin_count} of {data.customer_count} customers have a negative margin, "
        f"{data.free_tenant_count} of them free tenants costing {money(data.free_tenant_cost)} "
        f"{cur} in all)"
    )
    rows = [
        [
            str(c.margin_rank or ""),
            c.label,
            c.plan or "",
            money(c.mrr),
            money(c.allocated_cost),
            pct(c.gross_margin),
            money_range(c.low_cost, c.high_cost, cur),
        ]
        for c in data.customers
    ]
    header = ["#", "customer", "plan", "MRR", "cost", "gross margin", "cost range"]
    out.extend("  " + line for line in _table(header, rows, {0, 3, 4, 5}))
    if data.unassigned_customer_cost:
        out.append(f"  {_unassigned_note(data)}")

    out.extend(_robustness_text(data))
    out.extend(_text_extra_sections(data))

    out.append("")
    start, end = data.anomaly_window
    if data.anomalies is None:
        out.append(f"anomalies: anomaly monitoring not built (no {SCHEMA}.{ANOMALY_TABLE})")
    elif not data.anomalies:
        out.append(f"anomalies {start:%Y-%m-%d} to {end:%Y-%m-%d}: none")
    else:
        critical = sum(a.severity == "critical" for a in data.anomalies)
        out.append(
            f"anomalies {start:%Y-%m-%d} to {end:%Y-%m-%d}: {len(data.anomalies)} "
            f"({critical} critical), critical first"
        )
        for a in data.anomalies[:max_anomalies]:
            when = f"{a.period_start:%Y-%m-%d}" + (" wk" if a.period_grain == "week" else "   ")
            _, description = anomaly_text(data, a)
            out.append(f"  {a.severity:<8}  {when}  {a.rule:<24}  {description}")
        if len(data.anomalies) > max_anomalies:
            out.append(f"  … and {len(data.anomalies) - max_anomalies} more in the HTML report")

    out.append("")
    out.append(f"team budgets, {data.month:%Y-%m} ({cur})")
    rows = []
    for t in data.teams:
        status, _ = budget_status_text(t)
        rows.append(
            [
                t.team,
                money(t.team_cost),
                money(t.forecast_cost),
                money(t.budget),
                pct(t.budget_used),
                status,
            ]
        )
    header = ["team", "cost", "forecast", "budget", "used", "status"]
    out.extend("  " + line for line in _table(header, rows, {1, 2, 3, 4}))
    if html_path is not None:
        out.append("")
        out.append(f"HTML report: {html_path}")
    return "\n".join(out)


# --------------------------------------------------------------------------- assumptions


_JINJA_OPEN = re.compile(r"\{(?=[{%#])")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*\[\]<])")


def escape_jinja(text: str) -> str:
    """Make text safe inside a dbt docs block, which dbt renders with Jinja.

    Every ``{`` that would open ``{{``, ``{%`` or ``{#`` becomes ``{{ '{' }}``, which Jinja
    renders back to a single brace; the text reads the same in the docs site.
    """
    return _JINJA_OPEN.sub("{{ '{' }}", text)


def markdown_escape(text: str) -> str:
    """Backslash-escape the characters that would turn a statement into Markdown markup."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text.strip())


def topic_title(topic: str) -> str:
    """Heading for a topic; a topic added to the mart later gets a readable default."""
    return TOPIC_TITLES.get(topic, topic.replace("_", " ").capitalize())


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def assumptions_markdown(assumptions: Sequence[Assumption]) -> str:
    """A ``###`` heading per topic (in topic order), a bullet per statement with its rationale
    in italics and the rule source it was written from."""
    out: list[str] = []
    current: str | None = None
    for a in assumptions:
        if a.topic != current:
            if out:
                out.append("")
            out.append(f"### {topic_title(a.topic)}")
            out.append("")
            current = a.topic
        line = f"- {markdown_escape(_sentence(a.statement))}"
        if a.rationale and a.rationale.strip():
            line += f" *{markdown_escape(_sentence(a.rationale))}*"
        line += f" (`{a.rule_source}`: {markdown_escape(a.subject)})"
        out.append(line)
    return "\n".join(out) + "\n"


def assumptions_docs_block(assumptions: Sequence[Assumption]) -> str:
    """The dbt docs block file for ``fct_allocation_assumptions``."""
    # The intro names the committed path, not the one written, so a regenerated file
    # compares equal wherever it was written.
    intro = (
        f"Generated by `python -m ingest assumptions --write-docs {DOCS_PATH}` from the rules; "
        "do not edit by hand."
    )
    body = escape_jinja(assumptions_markdown(assumptions))
    return f"{{% docs {DOCS_BLOCK} %}}\n{intro}\n\n{body}{{% enddocs %}}\n"


def run_assumptions(db_arg: str | None, write_docs: Path | None) -> int:
    """``python -m ingest assumptions``: print the Markdown, or write the docs block."""
    db = reader_path(db_arg)
    con = open_marts(db)
    try:
        require_tables(con, db, ["fct_allocation_assumptions"])
        assumptions = load_assumptions(con)
    except duckdb.Error as exc:
        raise ReportError(
            f"{db}: cannot read {SCHEMA}.fct_allocation_assumptions "
            f"({str(exc).splitlines()[0]}); rebuild it with `dbt build`"
        ) from None
    finally:
        con.close()
    if not assumptions:
        raise ReportError(f"{db}: {SCHEMA}.fct_allocation_assumptions is empty")
    if write_docs is None:
        print(assumptions_markdown(assumptions), end="")
        return 0
    try:
        write_docs.parent.mkdir(parents=True, exist_ok=True)
        write_docs.write_text(assumptions_docs_block(assumptions), encoding="utf-8")
    except OSError as exc:
        raise ReportError(f"cannot write {write_docs}: {exc}") from None
    topics = len({a.topic for a in assumptions})
    print(f"wrote {len(assumptions)} assumptions in {topics} topics to {write_docs}")
    return 0


# --------------------------------------------------------------------------- HTML


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _raw(value: object) -> str:
    """The data-value of a table cell: the mart's number as stored, '' for null."""
    if value is None:
        return ""
    if isinstance(value, float) and not math.isfinite(value):
        return ""
    return str(value)


def _num_td(value: object, text: str, field: str, extra_class: str = "") -> str:
    cls = f"num {extra_class}".strip()
    return f'<td class="{cls}" data-field="{field}" data-value="{_e(_raw(value))}">{_e(text)}</td>'


def _month_label(month: date) -> str:
    return f"{month:%b %Y}"


def _short_money(symbol: str) -> Callable[[float], str]:
    """An axis tick: $1.2k, $3M (axis labels only; marks carry the exact amount)."""

    def short(v: float) -> str:
        a, sign = abs(v), "−" if v < 0 else ""
        for size, suffix in ((1e6, "M"), (1e3, "k")):
            if a >= size:
                return f"{sign}{symbol}{round(a / size, 1):g}{suffix}"
        return f"{sign}{symbol}{round(a, 1):g}"

    return short


def charts(data: ReportData) -> dict[str, Any]:
    """The three charts as static SVG (pygal), from the marts' numbers rounded as displayed."""
    months = data.months
    cur = data.currency
    symbol = CURRENCY_SYMBOLS.get(cur, cur + " ")
    names = {p.product: p.product_name for p in data.products}
    colors = {p.product: p.color for p in data.products}
    units = {p.product: p.unit_name for p in data.products}
    products_ever = sorted({t.product for t in data.trend})
    by_key = {(t.product, t.month): t for t in data.trend}
    trend, panels = [], []
    for i, product in enumerate(products_ever):
        color = colors.get(product, PALETTE[i % len(PALETTE)])
        name = names.get(product, product)
        points = [by_key.get((product, m)) for m in months]
        trend.append(
            report_charts.Series(
                product,
                name,
                color,
                [None if p is None else p.total_cost.quantize(CENT, ROUND_HALF_UP) for p in points],
            )
        )
        scale = unit_scale(t.cost_per_unit for t in data.trend if t.product == product)
        panels.append(
            report_charts.Series(
                product,
                name,
                color,
                [
                    None
                    if p is None or p.cost_per_unit is None
                    else Decimal(repr(significant(p.cost_per_unit * scale)))
                    for p in points
                ],
                per=scale,
                label=per_units(units.get(product), scale),
            )
        )
    bars = [
        report_charts.Bar(
            c.customer_id,
            c.label,
            Decimal(repr(round(c.gross_margin, 4))),
            f"{c.label} ({c.plan or ''}): gross margin {pct(c.gross_margin, 2)}; "
            f"MRR {symbol_money(c.mrr, cur)}, cost {symbol_money(c.allocated_cost, cur)}",
        )
        for c in data.customers
        if c.gross_margin is not None
    ]
    return {
        "cost_trend": Markup(
            report_charts.cost_trend(
                trend, months, data.month, cur, lambda v: symbol_money(v, cur), _short_money(symbol)
            )
        ),
        "customer_margin": Markup(report_charts.customer_margin(bars, lambda r: pct(r, 0))),
        "cost_per_unit": [
            (
                s,
                Markup(
                    report_charts.cost_per_unit_panel(
                        s, months, data.month, cur, lambda v: format_significant(float(v))
                    )
                ),
            )
            for s in panels
        ],
    }


def _kpis(data: ReportData) -> str:
    cur = data.currency
    revenue = data.revenue
    gross = float((revenue - data.total_cost) / revenue) if revenue > 0 else None
    over = [t for t in data.teams if t.is_over_budget]
    cards = [
        (
            "Total cost to serve",
            symbol_money(data.total_cost, cur),
            f"products {symbol_money(data.product_cost, cur, 0)} · unallocated "
            f"{symbol_money(data.unallocated_cost, cur, 0)}",
            "total_cost",
            data.total_cost,
        ),
        (
            "Revenue",
            symbol_money(revenue, cur),
            f"{len(data.products)} products",
            "revenue",
            revenue,
        ),
        (
            "Gross margin",
            pct(gross),
            f"products only {pct(product_margin(data.products))}",
            "gross_margin",
            gross,
        ),
        (
            "Negative-margin customers",
            f"{data.negative_margin_count} of {data.customer_count}",
            f"cost more to serve than they pay ({data.free_tenant_count} free tenants: "
            f"{money(data.free_tenant_cost)} {data.currency})",
            "negative_margin_customers",
            data.negative_margin_count,
        ),
        (
            "Teams over budget",
            f"{len(over)} of {sum(t.budget is not None for t in data.teams)}",
            ", ".join(t.team for t in over) or "all within budget",
            "teams_over_budget",
            len(over),
        ),
    ]
    return "\n".join(
        f'<div class="kpi" data-kpi="{key}" data-value="{_e(_raw(value))}">'
        f'<div class="kpi-label">{_e(label)}</div><div class="kpi-value">{_e(text)}</div>'
        f'<div class="kpi-sub">{_e(sub)}</div></div>'
        for label, text, sub, key, value in cards
    )


def _cost_per_unit_td(p: ProductRow, currency: str) -> str:
    if p.cost_per_unit is None:
        text, unit = "no volume", ""
    else:
        text, _, unit = cost_per_unit_text(p, currency).partition(" ")
    return (
        f'<td class="num" data-field="cost_per_unit" data-value="{_e(_raw(p.cost_per_unit))}" '
        f'data-per="{p.unit_scale}">{_e(text)}<div class="unit">{_e(unit)}</div></td>'
    )


def _product_table(data: ReportData) -> str:
    cur = data.currency
    rows = []
    total = data.product_cost
    for p in data.products:
        share = float(p.total_cost / total) if total else None
        mom_class = "up" if (p.mom_cost_change or 0) > 0 else "down"
        rows.append(
            f'<tr data-product="{_e(p.product)}">'
            f'<th scope="row"><span class="swatch" style="background:{p.color}"></span>'
            f"{_e(p.product_name)}</th>"
            + _num_td(p.total_cost, money(p.total_cost), "total_cost")
            + _num_td(share, pct(share), "share")
            + _cost_per_unit_td(p, cur)
            + _num_td(
                p.gross_margin,
                pct(p.gross_margin),
                "gross_margin",
                "neg" if (p.gross_margin or 0) < 0 else "",
            )
            + _num_td(
                p.mom_cost_change, trend_arrow(p.mom_cost_change), "mom_cost_change", mom_class
            )
            + f'<td class="num range" data-field="cost_range" data-low="{_e(_raw(p.low_cost))}" '
            f'data-high="{_e(_raw(p.high_cost))}">{_e(money_range(p.low_cost, p.high_cost, cur))}'
            "</td></tr>"
        )
    margin = product_margin(data.products)
    mom = total_mom(data.products)
    foot = (
        '<tr class="total" data-product="(total)"><th scope="row">All products</th>'
        + _num_td(total, money(total), "total_cost")
        + _num_td(1.0 if total else None, "100.0 %" if total else "—", "share")
        + "<td></td>"
        + _num_td(margin, pct(margin), "gross_margin")
        + _num_td(mom, trend_arrow(mom), "mom_cost_change")
        + "<td></td></tr>"
    )
    return (
        '<table class="data" data-table="products"><thead><tr><th>Product</th>'
        f"<th class=num>Cost ({_e(cur)})</th><th class=num>Share</th>"
        "<th class=num>Cost per unit</th><th class=num>Gross margin</th>"
        "<th class=num>MoM cost</th><th class=num>Cost range</th></tr></thead><tbody>"
        + "".join(rows)
        + f"</tbody><tfoot>{foot}</tfoot></table>"
    )


def _customer_table(data: ReportData) -> str:
    cur = data.currency
    rows = []
    for c in data.customers:
        neg = "neg" if (c.gross_margin or 0) < 0 else ""
        rows.append(
            f'<tr data-customer="{_e(c.customer_id)}">'
            + _num_td(c.margin_rank, str(c.margin_rank or ""), "margin_rank")
            + f'<th scope="row" title="{_e(c.customer_id)}">{_e(c.label)}</th>'
            f"<td>{_e(c.plan or '')}</td>"
            + _num_td(c.mrr, money(c.mrr), "mrr")
            + _num_td(c.allocated_cost, money(c.allocated_cost), "allocated_cost")
            + _num_td(c.gross_margin, pct(c.gross_margin), "gross_margin", neg)
            + f'<td class="num range" data-field="cost_range" data-low="{_e(_raw(c.low_cost))}" '
            f'data-high="{_e(_raw(c.high_cost))}">{_e(money_range(c.low_cost, c.high_cost, cur))}'
            "</td></tr>"
        )
    return (
        '<table class="data" data-table="customers"><thead><tr><th class=num>#</th>'
        f"<th>Customer</th><th>Plan</th><th class=num>MRR ({_e(cur)})</th>"
        f"<th class=num>Cost ({_e(cur)})</th><th class=num>Gross margin</th>"
        "<th class=num>Cost range</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def _unit_table(data: ReportData) -> str:
    months = data.months
    by_key = {(t.product, t.month): t for t in data.trend}
    head = "".join(f"<th class=num>{_e(_month_label(m))}</th>" for m in months)
    rows = []
    for p in data.products:
        cells = []
        for m in months:
            t = by_key.get((p.product, m))
            cpu = t.cost_per_unit if t else None
            text = "—" if cpu is None else format_significant(cpu * p.unit_scale)
            cells.append(
                f'<td class="num" data-field="cost_per_unit" data-month="{m:%Y-%m}" '
                f'data-value="{_e(_raw(cpu))}">{_e(text)}</td>'
            )
        rows.append(
            f'<tr data-product="{_e(p.product)}"><th scope="row">'
            f'<span class="swatch" style="background:{p.color}"></span>{_e(p.product_name)}'
            f'<div class="unit">{_e(data.currency)} {_e(per_units(p.unit_name, p.unit_scale))}'
            "</div></th>" + "".join(cells) + "</tr>"
        )
    return (
        '<table class="data" data-table="cost-per-unit"><thead><tr><th>Product</th>'
        + head
        + "</tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def _anomaly_section(data: ReportData) -> str:
    start, end = data.anomaly_window
    if data.anomalies is None:
        return (
            '<p class="empty" data-anomalies="not-built">Anomaly monitoring not built: this '
            f"warehouse has no {SCHEMA}.{ANOMALY_TABLE}. Run <code>dbt build</code> with the "
            "monitoring models to see anomalies here.</p>"
        )
    window = f"{start:%d %b %Y} – {end:%d %b %Y}"
    if not data.anomalies:
        return f'<p class="empty" data-anomalies="none">No anomalies from {_e(window)}.</p>'
    rows = []
    for a in data.anomalies:
        scope, description = anomaly_text(data, a)
        when = (
            f"{a.period_start:%Y-%m-%d}"
            if a.period_grain == "day"
            else (f"week of {a.period_start:%Y-%m-%d}")
        )
        rows.append(
            f'<tr data-anomaly="{_e(a.anomaly_id)}" data-severity="{_e(a.severity)}">'
            f'<td><span class="badge {_e(a.severity)}">{_e(a.severity)}</span></td>'
            f"<td>{_e(when)}</td><td>{_e(a.rule.replace('_', ' '))}</td>"
            f'<td title="{_e(a.scope)}">{_e(scope)}</td>'
            + _num_td(a.value, "—" if a.value is None else f"{a.value:,.2f}", "value")
            + _num_td(a.baseline, "—" if a.baseline is None else f"{a.baseline:,.2f}", "baseline")
            + _num_td(
                a.change,
                "—" if a.change is None else f"{a.change * 100:+.1f} %".replace("-", "−"),
                "change",
            )
            + f'<td class="desc">{_e(description)}</td></tr>'
        )
    critical = sum(a.severity == "critical" for a in data.anomalies)
    return (
        f'<p class="note">{len(data.anomalies)} anomalies ({critical} critical) whose day or '
        f"week starts between {_e(window)}, critical first.</p>"
        '<table class="data" data-table="anomalies"><thead><tr><th>Severity</th><th>Period</th>'
        "<th>Rule</th><th>Scope</th><th class=num>Value</th><th class=num>Baseline</th>"
        "<th class=num>Change</th><th>What happened</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def _data_table(name: str, header: str, rows: Sequence[str]) -> str:
    """A ``table.data``; the page script adds its CSV download link."""
    return (
        f'<table class="data" data-table="{_e(name)}"><thead><tr>{header}</tr></thead><tbody>'
        + "".join(rows)
        + "</tbody></table>"
    )


def _loss_section(data: ReportData) -> str:
    cur = data.currency
    if not data.loss_makers:
        return f'<p class="empty" data-loss-makers="none">No customer lost money in {_e(cur)}.</p>'
    rows = []
    for c in data.loss_makers:
        who = f"{c.label} ({c.customers})" if c.customer_id == FREE_TENANTS else c.label
        rows.append(
            f'<tr data-row="{_e(c.customer_id)}"><th scope="row" title="{_e(c.customer_id)}">'
            f"{_e(who)}</th><td>{_e(c.plan or '')}</td>"
            + _num_td(c.customers, str(c.customers), "customers")
            + _num_td(c.mrr, money(c.mrr), "mrr")
            + _num_td(c.cost, money(c.cost), "cost")
            + _num_td(c.gross_profit, money(c.gross_profit), "gross_profit", "neg")
            + "</tr>"
        )
    lost = sum((c.gross_profit for c in data.loss_makers), Decimal(0))
    header = (
        "<th>Customer</th><th>Plan</th><th class=num>Customers</th>"
        f"<th class=num>MRR ({_e(cur)})</th><th class=num>Cost ({_e(cur)})</th>"
        f"<th class=num>Gross profit ({_e(cur)})</th>"
    )
    return (
        f'<p class="note" data-lost="{_e(lost)}">{_e(symbol_money(-lost, cur))} lost in all on '
        f"{sum(c.customers for c in data.loss_makers)} customers.</p>"
        + _data_table("loss-makers", header, rows)
    )


def _robustness_section(data: ReportData) -> str:
    rob = data.robustness
    summary = _e(robustness_summary(data))
    if rob is None:
        return f'<p class="empty" data-robustness="not-built">{summary}.</p>'
    if not rob.fragile:
        return f'<p class="empty" data-robustness="none">{summary[:1].upper() + summary[1:]}.</p>'
    rows = []
    for r in rob.fragile:
        neg = "neg" if (r.min_margin or 0) < 0 else ""
        rows.append(
            f'<tr data-row="{_e(r.key)}"><td>{_e(r.scope_type)}</td>'
            f'<th scope="row" title="{_e(r.scope)}">{_e(r.label)}</th>'
            + _num_td(r.total_cost, money(r.total_cost), "total_cost")
            + _num_td(r.min_cost, money(r.min_cost), "min_cost")
            + _num_td(r.max_cost, money(r.max_cost), "max_cost")
            + _num_td(r.rule_margin, pct(r.rule_margin), "rule_margin")
            + _num_td(r.min_margin, pct(r.min_margin), "min_margin", neg)
            + _num_td(r.max_margin, pct(r.max_margin), "max_margin")
            + _num_td(r.rule_rank, str(r.rule_rank), "rule_rank")
            + _num_td(r.worst_rank, str(r.worst_rank), "worst_rank")
            + _num_td(r.best_rank, str(r.best_rank), "best_rank")
            + f'<td data-field="why">{_e(fragile_reason(r))}</td></tr>'
        )
    cur = _e(data.currency)
    header = (
        "<th>Kind</th><th>Customer or feature</th>"
        f"<th class=num>Cost ({cur})</th><th class=num>Min cost</th><th class=num>Max cost</th>"
        "<th class=num>Gross margin</th><th class=num>Min margin</th>"
        "<th class=num>Max margin</th><th class=num>Rank</th><th class=num>Worst rank</th>"
        "<th class=num>Best rank</th><th>Why</th>"
    )
    return (
        f'<p class="note" data-robustness="{len(rob.fragile)}" '
        f'data-threshold="{_e(_raw(rob.rank_move_threshold))}">{summary[:1].upper() + summary[1:]}.'
        "</p>" + _data_table("fragile-margins", header, rows)
    )


def _movers_section(data: ReportData) -> str:
    cur = data.currency
    prev = _month_label(data.previous_month)
    now = _month_label(data.month)
    titles = {"product": "Products", "customer": "Customers", "service": "Services"}
    out = []
    for kind in MOVER_KINDS:
        movers = [m for m in data.movers if m.kind == kind]
        out.append(f'<div class="mover"><h3>{titles[kind]}</h3>')
        if not movers:
            out.append(f'<p class="empty">No {kind} cost changed from {_e(prev)}.</p></div>')
            continue
        rows = [
            f'<tr data-row="{_e(m.item)}"><th scope="row" title="{_e(m.item)}">{_e(m.label)}</th>'
            + _num_td(m.previous_cost, money(m.previous_cost), "previous_cost")
            + _num_td(m.current_cost, money(m.current_cost), "current_cost")
            + _num_td(m.change, signed_money(m.change), "change")
            + "</tr>"
            for m in movers
        ]
        header = (
            f"<th>{_e(kind.capitalize())}</th><th class=num>{_e(prev)} ({_e(cur)})</th>"
            f"<th class=num>{_e(now)} ({_e(cur)})</th><th class=num>Change</th>"
        )
        out.append(_data_table(f"movers-{kind}", header, rows) + "</div>")
    return '<div class="movers">' + "".join(out) + "</div>"


def _coverage_section(data: ReportData) -> str:
    cov = data.tag_coverage
    if cov is None:
        return ""
    cur = data.currency
    rows = [
        f'<tr data-row="{_e(r.reason)}"><th scope="row">{_e(r.reason.replace("_", " "))}</th>'
        + _num_td(r.cost, money(r.cost), "cost")
        + _num_td(
            float(r.cost / cov.total_cost) if cov.total_cost else None,
            pct(float(r.cost / cov.total_cost) if cov.total_cost else None),
            "share",
        )
        + f"<td>{'no product' if r.is_unallocated else 'product keeps it, no customer'}</td></tr>"
        for r in cov.reasons
    ]
    header = (
        f"<th>Reason</th><th class=num>Cost ({_e(cur)})</th><th class=num>Share of cost</th>"
        "<th>Effect</th>"
    )
    table = (
        _data_table("unallocated", header, rows)
        if rows
        else '<p class="empty">No unallocated cost this month.</p>'
    )
    return (
        f'<p class="note" data-coverage="{_e(_raw(cov.share))}" '
        f'data-total="{_e(cov.total_cost)}" data-product-cost="{_e(cov.product_cost)}">'
        f"<strong>{_e(pct(cov.share))}</strong> of {_e(symbol_money(cov.total_cost, cur))} "
        f"reached a product ({_e(symbol_money(cov.product_cost, cur))}); "
        f"{_e(symbol_money(cov.total_cost - cov.product_cost, cur))} did not.</p>" + table
    )


def _commitment_section(data: ReportData) -> str:
    cur = data.currency
    if data.utilization is None or data.coverage is None:
        return (
            '<p class="empty" data-commitments="not-built">Commitment marts not built '
            f"({_e(', '.join(COMMITMENT_TABLES))}).</p>"
        )
    out = []
    if not data.utilization:
        out.append(
            '<p class="empty" data-commitments="none">No commitments in this bill for '
            f"{_e(f'{data.month:%B %Y}')} ({_e(cur)}): no Savings Plan or reservation.</p>"
        )
    else:
        rows = [
            f'<tr data-row="{_e(u.billing_account_id)}/{_e(u.commitment_type)}">'
            f'<th scope="row">{_e(u.billing_account_id)}</th>'
            f"<td>{_e(u.commitment_type.replace('_', ' '))}</td>"
            + _num_td(u.n_commitments, str(u.n_commitments), "n_commitments")
            + _num_td(u.total_commitment_cost, money(u.total_commitment_cost), "total")
            + _num_td(u.used_commitment_cost, money(u.used_commitment_cost), "used")
            + _num_td(u.unused_commitment_cost, money(u.unused_commitment_cost), "unused")
            + _num_td(u.utilization, pct(u.utilization), "utilization")
            + "</tr>"
            for u in data.utilization
        ]
        header = (
            "<th>Account</th><th>Type</th><th class=num>Commitments</th>"
            f"<th class=num>Committed ({_e(cur)})</th><th class=num>Used</th>"
            "<th class=num>Unused</th><th class=num>Utilisation</th>"
        )
        out.append("<h3>Utilisation</h3>" + _data_table("commitment-utilization", header, rows))
    if data.coverage:
        rows = [
            f'<tr data-row="{_e(c.billing_account_id)}/{_e(c.commitment_type)}">'
            f'<th scope="row">{_e(c.billing_account_id)}</th>'
            f"<td>{_e(c.commitment_type.replace('_', ' '))}</td>"
            + _num_td(c.covered_list_cost, money(c.covered_list_cost), "covered")
            + _num_td(c.eligible_list_cost, money(c.eligible_list_cost), "eligible")
            + _num_td(c.coverage, pct(c.coverage), "coverage")
            + _num_td(c.commitment_savings, money(c.commitment_savings), "savings")
            + "</tr>"
            for c in data.coverage
        ]
        header = (
            "<th>Account</th><th>Type</th>"
            f"<th class=num>Covered, list ({_e(cur)})</th><th class=num>Eligible, list</th>"
            "<th class=num>Coverage</th><th class=num>Saved vs on demand</th>"
        )
        out.append("<h3>Coverage</h3>" + _data_table("commitment-coverage", header, rows))
    return "".join(out)


def _reporting_section(data: ReportData) -> str:
    """The whole bill in the reporting currency, or nothing without one."""
    rep = data.reporting
    if rep is None:
        return ""
    cur = _e(rep.currency)
    rates = "; ".join(_e(rate_text(r, rep.currency)) for r in rep.rates)
    rows = [
        f'<tr data-reporting-product="{_e(p.product)}"><th scope="row">{_e(p.product_name)}</th>'
        f"<td>{_e(p.billing_currencies)}</td>"
        + _num_td(p.total_cost, money(p.total_cost), "total_cost_reporting")
        + _num_td(p.revenue, money(p.revenue), "revenue_reporting")
        + _num_td(p.gross_margin, pct(p.gross_margin), "gross_margin_reporting")
        + "</tr>"
        for p in rep.products
    ]
    foot = (
        '<tfoot><tr data-reporting-product="(all products)"><th scope="row">All products</th>'
        "<td></td>"
        + _num_td(rep.product_cost, money(rep.product_cost), "total_cost_reporting")
        + _num_td(rep.revenue, money(rep.revenue), "revenue_reporting")
        + "<td></td></tr>"
        '<tr data-reporting-product="(whole bill)"><th scope="row">Whole bill</th><td></td>'
        + _num_td(rep.total_cost, money(rep.total_cost), "total_cost_reporting")
        + _num_td(rep.revenue, money(rep.revenue), "revenue_reporting")
        + _num_td(rep.gross_margin, pct(rep.gross_margin), "gross_margin_reporting")
        + "</tr></tfoot>"
    )
    return (
        f'<h2>The whole bill in {cur}</h2>\n<p class="lead" data-reporting="{cur}">Every billing '
        f"currency converted to the reporting currency {cur} at the month's locked rate "
        "(<code>exchange_rates.csv</code>), each mart row rounded to the cent: "
        f"{rates}. The rest of the report stays in {_e(data.currency)}.</p>\n"
        '<table class="data" data-table="reporting"><thead><tr><th>Product</th>'
        f"<th>Billed in</th><th class=num>Cost ({cur})</th><th class=num>Revenue ({cur})</th>"
        "<th class=num>Gross margin</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody>"
        + foot
        + "</table>"
    )


def budget_status_text(t: TeamRow) -> tuple[str, str]:
    """The team's budget status for people, and its CSS class: from the mart's budget_status
    and the month-end forecast on the forecast's month, from the actual cost otherwise."""
    if t.budget is None:
        return "no budget", "muted"
    if t.is_over_budget:
        return f"OVER by {money(-(t.budget_remaining or 0))}", "neg"
    if t.forecast_cost is None:
        return f"under by {money(t.budget_remaining)}", "pos"
    if t.budget_status == "on_track_to_exceed":
        return f"on track to exceed by {money(t.forecast_over_budget)}", "neg"
    if t.budget_status == "may_exceed":
        return f"within budget, band up to {money(t.forecast_high_cost)}", "warn"
    return f"within budget (forecast {money(t.forecast_cost)})", "pos"


def _team_table(data: ReportData) -> str:
    rows = []
    for t in data.teams:
        status, cls = budget_status_text(t)
        band = (
            f"band {money(t.forecast_low_cost)} – {money(t.forecast_high_cost)}"
            if t.forecast_low_cost is not None
            else "no band"
        )
        used = t.budget_used
        bar = ""
        if used is not None:
            width = max(0.0, min(used, 1.5)) / 1.5 * 100
            bar = (
                f'<div class="meter" title="{_e(pct(used))} of budget">'
                f'<div class="meter-fill {cls}" style="width:{width:.1f}%"></div>'
                '<div class="meter-budget" style="left:66.667%"></div></div>'
            )
        rows.append(
            f'<tr data-team="{_e(t.team)}"><th scope="row">{_e(t.team)}</th>'
            + _num_td(t.team_cost, money(t.team_cost), "team_cost")
            + f'<td class="num" data-field="forecast_cost" title="{_e(band)}"'
            f' data-value="{_e(_raw(t.forecast_cost))}">{_e(money(t.forecast_cost))}</td>'
            + _num_td(t.budget, money(t.budget), "budget")
            + _num_td(t.budget_used, pct(t.budget_used), "budget_used")
            + f"<td>{bar}</td>"
            + f'<td class="{cls}" data-field="status" data-over="{str(t.is_over_budget).lower()}"'
            f' data-budget-status="{_e(t.budget_status or "")}">'
            f"{_e(status)}</td></tr>"
        )
    return (
        '<table class="data" data-table="teams"><thead><tr><th>Team</th>'
        f"<th class=num>Cost ({_e(data.currency)})</th><th class=num>Month-end forecast</th>"
        "<th class=num>Budget</th>"
        "<th class=num>Used</th><th>vs budget (line = 100 %)</th><th>Status</th></tr></thead>"
        "<tbody>" + "".join(rows) + "</tbody></table>"
    )


def _assumption_section(data: ReportData) -> str:
    out: list[str] = []
    current: str | None = None
    for a in data.assumptions:
        if a.topic != current:
            if current is not None:
                out.append("</ul></div>")
            out.append(
                f'<div class="topic" data-topic="{_e(a.topic)}"><h3>{_e(topic_title(a.topic))}'
                "</h3><ul>"
            )
            current = a.topic
        why = f" <em>{_e(_sentence(a.rationale))}</em>" if a.rationale else ""
        out.append(
            f'<li data-assumption="{_e(a.assumption_id)}">{_e(_sentence(a.statement))}{why} '
            f'<span class="src">{_e(a.rule_source)}: {_e(a.subject)}</span></li>'
        )
    if current is not None:
        out.append("</ul></div>")
    return "\n".join(out)


def render_html(data: ReportData, generated_at: datetime | None = None) -> str:
    """The self-contained HTML report (no network: inline CSS, static SVG charts, one inline
    script for the CSV links), rendered from ingest/templates/report.html.j2."""
    generated = (generated_at or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    cur = data.currency
    others = ""
    if data.other_currencies:
        others = (
            '<p class="meta">Other billing currencies in this warehouse '
            f"({_e(', '.join(data.other_currencies))})"
            " are reported separately (<code>--currency</code>): amounts in different "
            "currencies are never added"
            + (
                f"; the whole bill in {_e(data.reporting.currency)} is below."
                if data.reporting
                else f"; {_e(ONE_CURRENCY_HINT)}."
            )
            + "</p>"
        )
    title = f"Cost-to-serve growth review — {data.month:%B %Y} ({cur})"
    sections = {
        "others": others,
        "kpis": _kpis(data),
        "reporting": _reporting_section(data),
        "product_table": _product_table(data),
        "customer_table": _customer_table(data),
        "unit_table": _unit_table(data),
        "anomalies": _anomaly_section(data),
        "losses": _loss_section(data),
        "robustness": _robustness_section(data),
        "movers": _movers_section(data),
        "coverage": _coverage_section(data),
        "commitments": _commitment_section(data),
        "teams": _team_table(data),
        "assumptions": _assumption_section(data),
    }
    return (
        _templates()
        .get_template("report.html.j2")
        .render(
            title=title,
            month_long=f"{data.month:%B %Y}",
            month=f"{data.month:%Y-%m}",
            currency=cur,
            db=data.db,
            db_name=data.db.name,
            generated=generated,
            top=data.top,
            free_note=(
                f"Free tenants (no revenue) count as −100 % and are left out here: "
                f"{data.free_tenant_count} of them cost {money(data.free_tenant_cost)} {cur} in all."
                + (f" {_unassigned_note(data)}" if data.unassigned_customer_cost else "")
            ),
            prev_month=f"{data.previous_month:%B %Y}",
            n_assumptions=len(data.assumptions),
            # The sections' HTML is built above with every value escaped (_e).
            sections={k: Markup(v) for k, v in sections.items()},
            charts=charts(data),
        )
    )


@functools.cache
def _templates() -> jinja2.Environment:
    """The page template, its CSS and its script (ingest/templates), autoescaped."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("ingest", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def default_html_path(db: Path) -> Path:
    """report.html next to the warehouse file."""
    return db.resolve().parent / "report.html"


def run_report(
    db_arg: str | None,
    month: date | None,
    currency: str | None,
    html_path: Path | None,
    top: int,
    *,
    as_json: bool = False,
) -> int:
    """``python -m ingest report``: print the growth review (or its data as JSON) and write
    the HTML report."""
    data = collect(reader_path(db_arg), month, currency, top)
    target = html_path or default_html_path(database_path(db_arg))
    # Write then rename: a browser refreshing the report never sees half a file.
    tmp = target.with_name(target.name + ".tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(render_html(data), encoding="utf-8")
        tmp.replace(target)
    except OSError as exc:
        raise ReportError(f"cannot write the HTML report {target}: {exc}") from None
    logger.info("wrote %s", target)
    print(report_json(data, target) if as_json else format_text(data, target))
    return 0


def report_json(data: ReportData, html_path: Path) -> str:
    """The review's data as JSON: money as exact decimal strings, dates as ISO."""

    def plain(value: object) -> object:
        if isinstance(value, Decimal | Path):
            return str(value)
        if isinstance(value, date):
            return value.isoformat()
        raise TypeError(f"not JSON: {type(value).__name__}")

    doc = {
        **asdict(data),
        "product_cost": data.product_cost,
        "revenue": data.revenue,
        "unallocated_cost": data.unallocated_cost,
        "html": html_path,
    }
    if data.reporting is not None:
        doc["reporting"] = {
            **asdict(data.reporting),
            "product_cost": data.reporting.product_cost,
            "revenue": data.reporting.revenue,
            "unallocated_cost": data.reporting.unallocated_cost,
            "gross_margin": data.reporting.gross_margin,
        }
    return json.dumps(doc, indent=2, default=plain)
