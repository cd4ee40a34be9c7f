"""``python -m ingest explain``: why a customer's, product's, feature's or team's cost is what it is.

Reads the built warehouse and breaks one target's cost for one month and currency down the way
the allocation made it, from ``marts.fct_cost_allocation`` (every mart sums that fact):

- direct: bill lines a tag rule gave the target's product (and customer), per rule, service and
  component, with the top bill lines (resource id, tags) and the rule that claimed them;
- shared pools: each pool's contribution, with its driver, the target's driver quantity against
  the pool's, the share it got, the pool's cost and the rule's description;
- customer split: how each product's cost reached the customer (customer driver, quantity, share);
- unallocated parts with their reason.

The parts add up to the mart's figure to the cent; the explanation says so, and exits 1 if they
ever do not. ``--trace ALLOCATION_KEY`` follows one allocated amount down to its bill lines.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from ingest.publish import reader_path

MARTS = "marts"
INTERMEDIATE = "intermediate"
SEEDS = "seeds"
CENT = Decimal("0.01")
KINDS = ("customer", "product", "feature", "team")
# The team a row counts for in the showback mart: the tag rule's, else the product's owner.
SHOWBACK_TEAM = (
    "case when a.is_unallocated then '(unallocated)' "
    "else coalesce(a.team, p.owner_team, '(no owner)') end"
)


class ExplainError(Exception):
    """The warehouse, target, month or key cannot be explained; the message says what to do."""


@dataclass(frozen=True)
class Target:
    kind: str
    value: str
    product: str | None = None  # narrows a feature to one product

    @property
    def label(self) -> str:
        extra = f" of product {self.product}" if self.product else ""
        return f"{self.kind} {self.value}{extra}"


@dataclass(frozen=True)
class DirectGroup:
    rule_id: str
    product: str | None
    service_code: str | None
    component: str
    line_groups: int
    cost: Decimal
    largest_allocation_key: str


@dataclass(frozen=True)
class BillLine:
    cost_line_key: str
    charge_date: date
    rule_id: str
    product: str | None
    service_code: str | None
    resource_id: str | None
    usage_type: str | None
    tags: dict[str, str]
    line_cost: Decimal
    share: float
    cost_to_target: Decimal


@dataclass(frozen=True)
class PoolPart:
    pool_id: str
    description: str | None
    method: str
    driver_name: str | None
    share_grain: str
    product: str | None
    periods: int
    share_bases: dict[str, int]
    target_driver_quantity: float | None
    pool_driver_quantity: float | None
    pool_cost: Decimal
    product_cost: Decimal
    cost: Decimal
    largest_allocation_key: str
    # for a pool that serves other pools: the hop paths of its largest row, e.g.
    # "monitoring → clickhouse → replay 12.5%; monitoring → replay 40.1%" (share of the source)
    service_path: str | None = None

    @property
    def product_share(self) -> float | None:
        """The product's share of the pool's month (the driver's split, summed over periods)."""
        return float(self.product_cost / self.pool_cost) if self.pool_cost else None

    @property
    def customer_share(self) -> float | None:
        """The target's share of the product's part (1 for a product)."""
        return float(self.cost / self.product_cost) if self.product_cost else None


@dataclass(frozen=True)
class CustomerSplit:
    product: str
    customer_driver_name: str
    customer_quantity: float | None
    product_quantity: float | None
    product_cost: Decimal
    cost: Decimal

    @property
    def share(self) -> float | None:
        return float(self.cost / self.product_cost) if self.product_cost else None


@dataclass(frozen=True)
class UnallocatedPart:
    reason: str
    rule_id: str
    product: str | None
    cost: Decimal
    largest_allocation_key: str


@dataclass
class Explanation:
    target: Target
    month: date
    currency: str
    mart: str
    mart_cost: Decimal
    total_cost: Decimal
    direct_cost: Decimal
    shared_cost: Decimal
    unallocated_cost: Decimal
    direct: list[DirectGroup] = field(default_factory=list)
    top_lines: list[BillLine] = field(default_factory=list)
    pools: list[PoolPart] = field(default_factory=list)
    customer_splits: list[CustomerSplit] = field(default_factory=list)
    unallocated: list[UnallocatedPart] = field(default_factory=list)
    other_currencies: list[str] = field(default_factory=list)

    @property
    def ties(self) -> bool:
        return self.total_cost == self.mart_cost and (
            self.direct_cost + self.shared_cost + self.unallocated_cost == self.total_cost
        )


@dataclass
class Trace:
    allocation: dict[str, Any]
    source_lines: int
    source_line_cost: Decimal
    lines: list[BillLine]

    @property
    def ties(self) -> bool:
        return self.source_line_cost == self.allocation["source_effective_cost"]


def open_warehouse(db: Path) -> duckdb.DuckDBPyConnection:
    """Open read-only; the allocation fact must be built."""
    if not db.exists():
        raise ExplainError(
            f"{db} does not exist: load the exports and run `dbt build` first "
            "(or `python -m ingest demo` for the sample)"
        )
    try:
        con = duckdb.connect(str(db), read_only=True)
    except duckdb.Error as exc:
        raise ExplainError(f"{db}: cannot open read-only ({exc}); is dbt build writing?") from None
    have = {
        (schema, name)
        for schema, name in con.execute(
            "select table_schema, table_name from information_schema.tables"
        ).fetchall()
    }
    for schema, name in (
        (MARTS, "fct_cost_allocation"),
        (INTERMEDIATE, "int_allocation__lines"),
        (SEEDS, "products"),
        (SEEDS, "allocation_pools"),
    ):
        if (schema, name) not in have:
            con.close()
            raise ExplainError(f"{db} has no table {schema}.{name}: run `dbt build` first")
    return con


def _predicate(target: Target) -> tuple[str, list[object]]:
    """SQL (over alias ``a``, products ``p``) selecting the fact rows the target's mart sums."""
    if target.kind == "product":
        return "a.product = ?", [target.value]
    if target.kind == "customer":
        if target.value == "(unallocated)":
            return "a.customer_id is null and a.unallocated_reason = 'no_customer'", []
        return "a.customer_id = ?", [target.value]
    if target.kind == "feature":
        sql = "a.product is not null and coalesce(a.feature_id, '(no feature)') = ?"
        if target.product:
            return sql + " and a.product = ?", [target.value, target.product]
        return sql, [target.value]
    return f"{SHOWBACK_TEAM} = ?", [target.value]


def _mart(target: Target) -> tuple[str, str, list[object]]:
    """The mart that reports the target's cost: (name, where clause, params)."""
    if target.kind == "product":
        return "fct_product_economics_monthly", "product = ?", [target.value]
    if target.kind == "customer":
        return "fct_customer_economics_monthly", "customer_id = ?", [target.value]
    if target.kind == "feature":
        if target.product:
            return (
                "fct_feature_economics_monthly",
                "feature_id = ? and product = ?",
                [target.value, target.product],
            )
        return "fct_feature_economics_monthly", "feature_id = ?", [target.value]
    return "fct_team_showback_monthly", "team = ?", [target.value]


def _target_rows(target: Target) -> tuple[str, list[object]]:
    """A ``target_rows`` CTE: the target's fact rows of one month and currency (params after)."""
    predicate, params = _predicate(target)
    sql = f"""
        target_rows as (
            select a.*
            from {MARTS}.fct_cost_allocation as a
            left join {SEEDS}.products as p on a.product = p.product
            where a.cost_month = ? and a.billing_currency = ? and {predicate}
        )"""
    return sql, params


def resolve(
    con: duckdb.DuckDBPyConnection, target: Target, month: date | None, currency: str | None
) -> tuple[date, str, list[str]]:
    """The month (default: the latest with cost) and currency (default: the largest) to explain."""
    predicate, params = _predicate(target)
    rows = con.execute(
        f"""
        select a.cost_month, a.billing_currency, sum(abs(a.allocated_effective_cost))
        from {MARTS}.fct_cost_allocation as a
        left join {SEEDS}.products as p on a.product = p.product
        where {predicate}
        group by 1, 2
        order by 1 desc, 3 desc
        """,
        params,
    ).fetchall()
    if not rows:
        raise ExplainError(
            f"no allocated cost for {target.label}: check the id "
            f"(`python -m ingest explain --list {target.kind}` lists them)"
        )
    months = sorted({r[0] for r in rows}, reverse=True)
    chosen_month = month or months[0]
    in_month = [r for r in rows if r[0] == chosen_month]
    if not in_month:
        shown = ", ".join(m.strftime("%Y-%m") for m in months[:6])
        raise ExplainError(
            f"{target.label} has no allocated cost in {chosen_month:%Y-%m}; months with cost: "
            f"{shown}"
        )
    currencies = [r[1] for r in in_month]
    chosen_currency = currency or currencies[0]
    if chosen_currency not in currencies:
        raise ExplainError(
            f"{target.label} has no {chosen_currency} cost in {chosen_month:%Y-%m}; its "
            f"currencies that month: {', '.join(currencies)}"
        )
    return chosen_month, chosen_currency, [c for c in currencies if c != chosen_currency]


def list_targets(con: duckdb.DuckDBPyConnection, kind: str) -> list[tuple[str, Decimal]]:
    """Every id of one kind with its all-time cost, largest first (for ``--list``)."""
    column = {
        "product": "a.product",
        "customer": "coalesce(a.customer_id, '(unallocated)')",
        "feature": "coalesce(a.feature_id, '(no feature)')",
        "team": SHOWBACK_TEAM,
    }[kind]
    where = {
        "product": "a.product is not null",
        "customer": "a.customer_id is not null or a.unallocated_reason = 'no_customer'",
        "feature": "a.product is not null",
        "team": "true",
    }[kind]
    return con.execute(
        f"""
        select {column}, sum(a.allocated_effective_cost)
        from {MARTS}.fct_cost_allocation as a
        left join {SEEDS}.products as p on a.product = p.product
        where {where}
        group by 1
        order by 2 desc, 1
        """
    ).fetchall()


def _direct(con, cte: str, params: list[object]) -> list[DirectGroup]:  # type: ignore[no-untyped-def]
    rows = con.execute(
        f"""
        with {cte}
        select rule_id, product, service_code, component, count(*), sum(allocated_effective_cost),
            arg_max(allocation_key, abs(allocated_effective_cost))
        from target_rows
        where source_kind = 'line_group' and method = 'direct'
        group by all
        order by 6 desc, 1, 2, 3, 4
        """,
        params,
    ).fetchall()
    return [DirectGroup(*r) for r in rows]


# The bill lines of a line group: int_allocation__lines rows with the group's values.
_LINE_GROUP_JOIN = """
    d.charge_date = l.charge_date
    and d.billing_currency = l.billing_currency
    and d.billing_period is not distinct from l.billing_period
    and d.billing_account_id is not distinct from l.billing_account_id
    and d.rule_id = coalesce(l.product_rule_id, 'untagged')
    and l.allocation_path in ('direct', 'untagged')
    and d.product is not distinct from l.product
    and d.customer_id is not distinct from l.customer_id
    and d.team is not distinct from l.team
    and d.feature_id is not distinct from l.feature_id
    and d.environment is not distinct from l.environment
    and d.service_code is not distinct from l.service_code
    and d.component = l.component
"""

_LINE_COLUMNS = """
    l.cost_line_key, l.charge_date,
    case when l.allocation_path = 'pool' then l.pool_id
        else coalesce(l.product_rule_id, 'untagged') end,
    l.product,
    l.service_code, c.resource_id, c.usage_type, c.tags, l.effective_cost
"""


def _bill_line(row: tuple[Any, ...], share: float, cost: Decimal) -> BillLine:
    *head, tags, line_cost = row
    return BillLine(
        *head, tags=dict(tags or {}), line_cost=line_cost, share=share, cost_to_target=cost
    )


def _top_lines(con, cte: str, params: list[object], top: int) -> list[BillLine]:  # type: ignore[no-untyped-def]
    rows = con.execute(
        f"""
        with {cte},
        groups as (
            select source_key, sum(share) as target_share
            from target_rows
            where source_kind = 'line_group' and method = 'direct'
            group by source_key
        )
        select {_LINE_COLUMNS}, g.target_share,
            cast(l.effective_cost * g.target_share as decimal(38, 12)) as to_target
        from groups as g
        inner join {INTERMEDIATE}.int_allocation__direct as d on d.line_group_key = g.source_key
        inner join {INTERMEDIATE}.int_allocation__lines as l on {_LINE_GROUP_JOIN}
        inner join {MARTS}.fct_cost_line_items as c on c.cost_line_key = l.cost_line_key
        order by abs(to_target) desc, l.cost_line_key
        limit ?
        """,
        [*params, top],
    ).fetchall()
    return [_bill_line(r[:-2], r[-2], r[-1]) for r in rows]


def _pools(con, cte: str, params: list[object]) -> list[PoolPart]:  # type: ignore[no-untyped-def]
    """Per pool (and product): the target's part, the pool's cost and both driver quantities.

    The pool's cost counts each source (pool group) once; driver quantities count each period
    and product once (a period's pool groups per service and component repeat them).
    """
    rows = con.execute(
        f"""
        with {cte},
        parts as (
            select
                rule_id, product, period_grain, method,
                count(distinct period_start) as periods,
                sum(allocated_effective_cost) as cost,
                arg_max(allocation_key, abs(allocated_effective_cost)) as largest_key,
                arg_max(service_path, abs(allocated_effective_cost)) as service_path
            from target_rows
            where source_kind = 'pool_group' and not is_unallocated
            group by all
        ),
        pool_rows as (
            -- every pool row of the month and currency of the pools the target got money from:
            -- read once, for the pools' cost, the products' parts and the driver quantities
            select *
            from {MARTS}.fct_cost_allocation
            where source_kind = 'pool_group' and cost_month = ? and billing_currency = ?
                and rule_id in (select rule_id from parts)
        ),
        pool_sources as (
            select rule_id, source_key, max(source_effective_cost) as source_cost
            from pool_rows
            group by all
        ),
        pool_costs as (
            select rule_id, sum(source_cost) as pool_cost from pool_sources group by all
        ),
        product_costs as (
            select rule_id, product, sum(allocated_effective_cost) as product_cost
            from pool_rows
            where not is_unallocated
            group by all
        ),
        period_quantities as (
            select distinct rule_id, period_start, product, driver_name, driver_quantity,
                share_basis
            from pool_rows
        ),
        pool_quantities as (
            select rule_id, sum(driver_quantity) as pool_quantity,
                max(driver_name) as driver_name
            from period_quantities group by all
        ),
        target_quantities as (
            select q.rule_id, q.product, sum(q.driver_quantity) as target_quantity
            from period_quantities as q
            where exists (
                select 1 from target_rows as t
                where t.rule_id = q.rule_id and t.product = q.product
                    and t.period_start = q.period_start
            )
            group by all
        ),
        bases as (
            select rule_id, product, share_basis, count(distinct period_start) as periods
            from target_rows
            where source_kind = 'pool_group' and not is_unallocated
            group by all
        )
        select
            parts.rule_id, pools.description, parts.method, pool_quantities.driver_name,
            parts.period_grain, parts.product, parts.periods,
            (select list(struct_pack(basis := b.share_basis, n := b.periods))
                from bases as b
                where b.rule_id = parts.rule_id and b.product is not distinct from parts.product),
            target_quantities.target_quantity, pool_quantities.pool_quantity,
            pool_costs.pool_cost, product_costs.product_cost, parts.cost, parts.largest_key,
            parts.service_path
        from parts
        left join {SEEDS}.allocation_pools as pools on parts.rule_id = pools.pool_id
        left join pool_costs on parts.rule_id = pool_costs.rule_id
        left join pool_quantities on parts.rule_id = pool_quantities.rule_id
        left join product_costs
            on parts.rule_id = product_costs.rule_id
            and parts.product is not distinct from product_costs.product
        left join target_quantities
            on parts.rule_id = target_quantities.rule_id
            and parts.product is not distinct from target_quantities.product
        order by parts.cost desc, parts.rule_id, parts.product
        """,
        [*params, *params[:2]],
    ).fetchall()
    out = []
    for r in rows:
        bases = {b["basis"] or "-": int(b["n"]) for b in (r[7] or [])}
        out.append(PoolPart(*r[:7], bases, *r[8:]))
    return out


def _customer_splits(con, cte: str, params: list[object]) -> list[CustomerSplit]:  # type: ignore[no-untyped-def]
    """How each product's cost reached the customer: the product's split cost, the customer's
    part, and the customer driver's quantities over the month."""
    rows = con.execute(
        f"""
        with {cte},
        parts as (
            select product, customer_driver_name, sum(allocated_effective_cost) as cost
            from target_rows
            where customer_driver_name is not null
            group by all
        ),
        product_costs as (
            select product, customer_driver_name, sum(allocated_effective_cost) as product_cost
            from {MARTS}.fct_cost_allocation
            where cost_month = ? and billing_currency = ? and customer_driver_name is not null
                and product in (select product from parts)
            group by all
        ),
        quantities as (
            select
                s.product,
                s.customer_driver_name,
                sum(case when s.customer_id = ? then s.quantity end) as customer_quantity,
                sum(s.quantity) as product_quantity
            from {INTERMEDIATE}.int_allocation__customer_shares as s
            where s.pool_driver = '*' and s.period_grain = 'day'
                and s.period_start >= ? and s.period_start < ? + interval 1 month
                and s.product in (select product from parts)
            group by all
        )
        select parts.product, parts.customer_driver_name, quantities.customer_quantity,
            quantities.product_quantity, product_costs.product_cost, parts.cost
        from parts
        inner join product_costs
            on parts.product = product_costs.product
            and parts.customer_driver_name = product_costs.customer_driver_name
        left join quantities
            on parts.product = quantities.product
            and parts.customer_driver_name = quantities.customer_driver_name
        order by parts.cost desc, parts.product
        """,
        [*params, params[0], params[1], params[2], params[0], params[0]],
    ).fetchall()
    return [CustomerSplit(*r) for r in rows]


def _unallocated(con, cte: str, params: list[object]) -> list[UnallocatedPart]:  # type: ignore[no-untyped-def]
    rows = con.execute(
        f"""
        with {cte}
        select unallocated_reason, rule_id, product, sum(allocated_effective_cost),
            arg_max(allocation_key, abs(allocated_effective_cost))
        from target_rows
        where unallocated_reason is not null
        group by all
        order by 4 desc, 1, 2
        """,
        params,
    ).fetchall()
    return [UnallocatedPart(*r) for r in rows]


def explain(
    con: duckdb.DuckDBPyConnection,
    target: Target,
    month: date | None = None,
    currency: str | None = None,
    top: int = 10,
) -> Explanation:
    """The target's cost for one month and currency, part by part, and the mart's figure."""
    month, currency, others = resolve(con, target, month, currency)
    cte, predicate_params = _target_rows(target)
    params: list[object] = [month, currency, *predicate_params]
    zero = Decimal(0)
    totals = con.execute(
        f"""
        with {cte}
        select
            coalesce(sum(allocated_effective_cost), 0),
            coalesce(sum(case when source_kind = 'line_group' and unallocated_reason is null
                then allocated_effective_cost end), 0),
            coalesce(sum(case when source_kind = 'pool_group' and unallocated_reason is null
                then allocated_effective_cost end), 0),
            coalesce(sum(case when unallocated_reason is not null
                then allocated_effective_cost end), 0)
        from target_rows
        """,
        params,
    ).fetchone()
    mart, where, mart_params = _mart(target)
    (mart_cost,) = con.execute(
        f"select sum(total_cost) from {MARTS}.{mart} "
        f"where cost_month = ? and billing_currency = ? and {where}",
        [month, currency, *mart_params],
    ).fetchone()
    explanation = Explanation(
        target=target,
        month=month,
        currency=currency,
        mart=mart,
        mart_cost=mart_cost if mart_cost is not None else zero,
        total_cost=totals[0],
        direct_cost=totals[1],
        shared_cost=totals[2],
        unallocated_cost=totals[3],
        other_currencies=others,
    )
    explanation.direct = _direct(con, cte, params)
    explanation.top_lines = _top_lines(con, cte, params, top) if top else []
    explanation.pools = _pools(con, cte, params)
    if target.kind == "customer" and target.value != "(unallocated)":
        explanation.customer_splits = _customer_splits(con, cte, params)
    explanation.unallocated = _unallocated(con, cte, params)
    return explanation


def trace(con: duckdb.DuckDBPyConnection, allocation_key: str, top: int = 10) -> Trace:
    """One allocated amount down to the bill lines of its source."""
    cursor = con.execute(
        f"select * from {MARTS}.fct_cost_allocation where allocation_key = ?", [allocation_key]
    )
    row = cursor.fetchone()
    if row is None:
        raise ExplainError(
            f"no allocation row with key {allocation_key!r}: copy a key from "
            "`explain --json` (allocation keys) or marts.fct_cost_allocation.allocation_key"
        )
    allocation = dict(zip([d[0] for d in cursor.description], row, strict=True))
    if allocation["source_kind"] == "line_group":
        source = f"""
            select l.*
            from {INTERMEDIATE}.int_allocation__direct as d
            inner join {INTERMEDIATE}.int_allocation__lines as l on {_LINE_GROUP_JOIN}
            where d.line_group_key = ?
        """
        source_params: list[object] = [allocation["source_key"]]
    else:
        day = allocation["period_grain"] == "day"
        source = f"""
            select l.*
            from {INTERMEDIATE}.int_allocation__pool_costs as g
            inner join {INTERMEDIATE}.int_allocation__lines as l
                on l.allocation_path = 'pool'
                and l.pool_id = g.pool_id
                and {"l.charge_date" if day else "l.cost_month"} = g.period_start
                and l.billing_currency = g.billing_currency
                and l.billing_period is not distinct from g.billing_period
                and l.billing_account_id is not distinct from g.billing_account_id
                and l.service_code is not distinct from g.service_code
                and l.component = g.component
            where g.pool_group_key = ?
        """
        source_params = [allocation["source_key"]]
    n_lines, line_cost = con.execute(
        f"select count(*), coalesce(sum(effective_cost), 0) from ({source})", source_params
    ).fetchone()
    share = float(allocation["share"])
    rows = con.execute(
        f"""
        select {_LINE_COLUMNS}
        from ({source}) as l
        inner join {MARTS}.fct_cost_line_items as c on c.cost_line_key = l.cost_line_key
        order by abs(l.effective_cost) desc, l.cost_line_key
        limit ?
        """,
        [*source_params, top],
    ).fetchall()
    lines = [
        _bill_line(r, share, (r[-1] * Decimal(repr(share))).quantize(Decimal("1e-12")))
        for r in rows
    ]
    return Trace(allocation, n_lines, line_cost, lines)


# ---------------------------------------------------------------------------------- rendering


def _money(value: Decimal | None) -> str:
    return "—" if value is None else f"{value.quantize(CENT):,}"


def _qty(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.4g}"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.2%}"


def _tags(tags: dict[str, str], limit: int = 4) -> str:
    items = [f"{k}={v}" for k, v in sorted(tags.items())]
    more = f" +{len(items) - limit}" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more if items else "—"


def _table(header: Sequence[str], rows: list[Sequence[str]], markdown: bool) -> list[str]:
    """A table as Markdown pipes, or as aligned text columns (numbers right-aligned)."""
    if markdown:
        out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        out += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows]
        return out
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=True)]

    def numeric(text: str) -> bool:
        return (
            bool(text) and text.lstrip("-").replace(",", "").replace(".", "").rstrip("%").isdigit()
        )

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(w) if numeric(c) else c.ljust(w) for c, w in zip(cells, widths, strict=True)
        ).rstrip()

    return ["  " + line(header)] + ["  " + line(r) for r in rows]


def render(e: Explanation, *, markdown: bool = False) -> str:
    """The explanation as text (default) or Markdown."""
    cur = e.currency
    h1, h2 = ("### ", "#### ") if markdown else ("", "")
    out = [
        f"{h1}Why {e.target.label} cost {_money(e.total_cost)} {cur} in {e.month:%Y-%m}",
        "",
        f"direct {_money(e.direct_cost)} + shared pools {_money(e.shared_cost)} + unallocated "
        f"{_money(e.unallocated_cost)} = {_money(e.total_cost)} {cur}; "
        + (
            f"ties to marts.{e.mart} ({_money(e.mart_cost)}) to the cent."
            if e.ties
            else f"DOES NOT TIE to marts.{e.mart} ({_money(e.mart_cost)}): rebuild with "
            "`dbt build`; if it persists, report it."
        ),
    ]
    if e.other_currencies:
        out.append(
            f"Also cost in {', '.join(e.other_currencies)} that month (currencies are never "
            "added): --currency CODE explains it."
        )
    if e.direct:
        out += ["", f"{h2}Direct: bill lines a tag rule claimed ({_money(e.direct_cost)} {cur})"]
        out += _table(
            ["rule", "product", "service", "component", "line groups", f"cost {cur}"],
            [
                [
                    d.rule_id,
                    d.product or "—",
                    d.service_code or "—",
                    d.component,
                    f"{d.line_groups:,}",
                    _money(d.cost),
                ]
                for d in e.direct
            ],
            markdown,
        )
    if e.top_lines:
        out += [
            "",
            f"{h2}Top {len(e.top_lines)} direct bill lines (to this {e.target.kind} = "
            "line cost × its share of the line's group, before rounding to the cent)",
        ]
        out += _table(
            [
                "date",
                "rule",
                "service",
                "resource id",
                "tags",
                "line cost",
                "share",
                f"to target {cur}",
            ],
            [
                [
                    f"{b.charge_date}",
                    b.rule_id,
                    b.service_code or "—",
                    b.resource_id or "—",
                    _tags(b.tags),
                    _money(b.line_cost),
                    _pct(b.share),
                    _money(b.cost_to_target),
                ]
                for b in e.top_lines
            ],
            markdown,
        )
    if e.pools:
        customer = e.target.kind == "customer"
        out += ["", f"{h2}Shared pools ({_money(e.shared_cost)} {cur})"]
        out += _table(
            [
                "pool",
                "product",
                "method",
                "driver",
                "product qty",
                "pool qty",
                "pool cost",
                "product share",
                *(["customer share"] if customer else []),
                f"cost {cur}",
            ],
            [
                [
                    p.pool_id,
                    p.product or "—",
                    p.method,
                    p.driver_name or "—",
                    _qty(p.target_driver_quantity),
                    _qty(p.pool_driver_quantity),
                    _money(p.pool_cost),
                    _pct(p.product_share),
                    *([_pct(p.customer_share)] if customer else []),
                    _money(p.cost),
                ]
                for p in e.pools
            ],
            markdown,
        )
        out += ["", "Pool rules (seeds allocation_pools.csv):"]
        seen: set[str] = set()
        for p in e.pools:
            if p.pool_id in seen:
                continue
            seen.add(p.pool_id)
            bases = ", ".join(f"{k} {n}" for k, n in sorted(p.share_bases.items()))
            out.append(
                f"{'- ' if markdown else '  '}{p.pool_id}: {p.description or '(no description)'} "
                f"[split per {p.share_grain}; share basis per period: {bases}]"
            )
        paths = [p for p in e.pools if p.service_path]
        if paths:
            out += ["", "Pools that serve pools: how each part got here (its largest day):"]
            for p in paths:
                out.append(
                    f"{'- ' if markdown else '  '}{p.pool_id} → {p.product or '—'}: "
                    f"{p.service_path}"
                )
    if e.customer_splits:
        out += ["", f"{h2}Customer split: each product's cost to customers"]
        out += _table(
            [
                "product",
                "customer driver",
                "customer qty",
                "product qty",
                "product cost",
                "share",
                f"cost {cur}",
            ],
            [
                [
                    c.product,
                    c.customer_driver_name,
                    _qty(c.customer_quantity),
                    _qty(c.product_quantity),
                    _money(c.product_cost),
                    _pct(c.share),
                    _money(c.cost),
                ]
                for c in e.customer_splits
            ],
            markdown,
        )
    if e.unallocated:
        out += ["", f"{h2}Unallocated ({_money(e.unallocated_cost)} {cur})"]
        out += _table(
            ["reason", "rule", "product", f"cost {cur}"],
            [[u.reason, u.rule_id, u.product or "—", _money(u.cost)] for u in e.unallocated],
            markdown,
        )
    keys = (
        [(abs(d.cost), d.largest_allocation_key) for d in e.direct]
        + [(abs(p.cost), p.largest_allocation_key) for p in e.pools]
        + [(abs(u.cost), u.largest_allocation_key) for u in e.unallocated]
    )
    out += [
        "",
        "Trace any amount to its bill lines: `python -m ingest explain --trace KEY` "
        "(every part's largest allocation key is in --json; keys are "
        "marts.fct_cost_allocation.allocation_key)",
    ]
    if keys:
        out.append(f"e.g. python -m ingest explain --trace '{max(keys)[1]}'")
    return "\n".join(out)


def render_trace(t: Trace, *, markdown: bool = False) -> str:
    a = t.allocation
    cur = a["billing_currency"]
    h1 = "### " if markdown else ""
    target = a["product"] or "(unallocated)"
    if a["customer_id"]:
        target += f" / {a['customer_id']}"
    out = [
        f"{h1}Allocation {a['allocation_key']}",
        "",
        f"{_money(a['allocated_effective_cost'])} {cur} to {target} "
        f"({a['unallocated_reason'] or 'allocated'}) by rule {a['rule_id']} ({a['method']}, "
        f"driver {a['driver_name'] or '—'}): share {a['share']:.6f} = product share "
        f"{a['product_share']:.6f} × customer share {a['customer_share']:.6f} of source "
        f"{a['source_key']} ({_money(a['source_effective_cost'])} {cur}).",
        f"The source is {t.source_lines:,} bill line(s) totalling {_money(t.source_line_cost)} "
        f"{cur}: " + ("ties to the source to the cent." if t.ties else "DOES NOT TIE."),
        "",
    ]
    out += _table(
        ["date", "rule", "service", "resource id", "tags", "line cost", f"× share {cur}"],
        [
            [
                f"{b.charge_date}",
                b.rule_id,
                b.service_code or "—",
                b.resource_id or "—",
                _tags(b.tags),
                _money(b.line_cost),
                _money(b.cost_to_target),
            ]
            for b in t.lines
        ],
        markdown,
    )
    if t.source_lines > len(t.lines):
        more = f"… and {t.source_lines - len(t.lines):,} more line(s)"
        out.append(more if markdown else "  " + more)
    return "\n".join(out)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)  # exact: JSON readers re-add the parts to the cent
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def to_json(e: Explanation) -> str:
    body = _plain(asdict(e))
    body["ties"] = e.ties
    body["pools"] = [
        {**_plain(asdict(p)), "product_share": p.product_share, "customer_share": p.customer_share}
        for p in e.pools
    ]
    body["customer_splits"] = [{**_plain(asdict(c)), "share": c.share} for c in e.customer_splits]
    return json.dumps(body, indent=2)


def trace_json(t: Trace) -> str:
    return json.dumps({**_plain(asdict(t)), "ties": t.ties}, indent=2)


# ---------------------------------------------------------------------------------------- CLI


def _month(text: str) -> date:
    try:
        year, month = text.split("-")
        return date(int(year), int(month), 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a month: use YYYY-MM") from None


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "explain",
        help="why a customer's, product's, feature's or team's cost is what it is",
        description="Break one target's cost for a month down the way the allocation made it: "
        "direct bill lines (top N, with the rule that claimed them), each shared pool's "
        "contribution (driver, quantities, share, pool cost, the rule's description), each "
        "customer split, each unallocated part with its reason. The parts tie to the mart to "
        "the cent (exit 1 if not). --trace follows one allocated amount to its bill lines.",
    )
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--customer", metavar="ID", help="a customer id ('(unallocated)' too)")
    who.add_argument("--product", metavar="P", help="a product id (seeds products.csv)")
    who.add_argument("--feature", metavar="F", help="a feature id ('(no feature)' too)")
    who.add_argument("--team", metavar="T", help="a team, as in the showback mart")
    who.add_argument("--trace", metavar="ALLOCATION_KEY", help="one allocation row's bill lines")
    who.add_argument("--list", choices=KINDS, help="list the ids of one kind, largest cost first")
    p.add_argument("--of-product", metavar="P", help="with --feature: only that product's feature")
    p.add_argument("--month", type=_month, metavar="YYYY-MM", help="default: latest with cost")
    p.add_argument("--currency", type=str.upper, metavar="CODE", help="default: the largest")
    p.add_argument("--top", type=int, default=10, metavar="N", help="bill lines shown (10)")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--markdown", action="store_true", help="Markdown (for an issue or PR)")
    fmt.add_argument("--json", action="store_true", help="JSON")
    p.add_argument("--db", help="DuckDB file (default: the published copy or the warehouse)")


def run(args: argparse.Namespace) -> int:
    """Print the explanation; 1 when its parts do not tie to the mart (never silently)."""
    if args.top < 0:
        raise ExplainError("--top must be 0 or more")
    if args.of_product and not args.feature:
        raise ExplainError("--of-product narrows --feature; give --feature F too")
    con = open_warehouse(reader_path(args.db))
    try:
        if args.list:
            rows = list_targets(con, args.list)
            if args.json:
                print(json.dumps([{"id": i, "cost": _plain(c)} for i, c in rows], indent=2))
            else:
                for ident, cost in rows:
                    print(f"{ident}\t{_money(cost)}")
            return 0
        if args.trace:
            t = trace(con, args.trace, args.top)
            print(trace_json(t) if args.json else render_trace(t, markdown=args.markdown))
            return 0 if t.ties else 1
        kind = next(k for k in KINDS if getattr(args, k))
        target = Target(kind, getattr(args, kind), args.of_product)
        e = explain(con, target, args.month, args.currency, args.top)
        print(to_json(e) if args.json else render(e, markdown=args.markdown))
        return 0 if e.ties else 1
    finally:
        con.close()
