"""``python -m ingest check-rules``: what each allocation rule does on the loaded bill.

Reads the built warehouse (run it after ``dbt build``): the coverage of every tag rule and pool
(``intermediate.int_allocation__rule_coverage``: lines and cost matched, cost actually won),
the dead and shadowed ones, and every error and warning of
``intermediate.int_allocation__rule_checks`` (the same messages ``dbt build`` prints). Per
currency, the cost won by product rules + pools + untagged ties to the allocatable cost; the
tie is printed. Exit code 1 when there is any error, so a CI job can gate on it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path

import duckdb

from ingest.publish import reader_path

log = logging.getLogger(__name__)

SCHEMA = "intermediate"
CHECKS = "int_allocation__rule_checks"
COVERAGE = "int_allocation__rule_coverage"
SIGNATURE_DAYS = "int_allocation__signature_days"


class RulesError(Exception):
    """The warehouse cannot be read or is not built; the message says what to do."""


@dataclass(frozen=True)
class Problem:
    """One row of the check model: an error (money could move silently) or a warning."""

    severity: str
    seed_file: str
    rule_id: str | None
    column_name: str | None
    bad_value: str | None
    message: str


@dataclass(frozen=True)
class Coverage:
    """One tag rule, pool or ``(untagged)`` in one currency (currency None: matches nothing)."""

    rule_kind: str
    rule_id: str
    dimension: str | None
    priority: int | None
    currency: str | None
    lines_matched: int
    matched_cost: Decimal
    lines_won: int
    won_cost: Decimal
    status: str


@dataclass(frozen=True)
class Tie:
    """Per currency: product rules + pools + untagged = the allocatable cost of the bill."""

    currency: str
    direct_cost: Decimal
    pool_cost: Decimal
    untagged_cost: Decimal
    allocatable_cost: Decimal

    @property
    def won_cost(self) -> Decimal:
        return self.direct_cost + self.pool_cost + self.untagged_cost

    @property
    def ties(self) -> bool:
        return self.won_cost == self.allocatable_cost


@dataclass(frozen=True)
class RuleReport:
    problems: list[Problem]
    coverage: list[Coverage]
    ties: list[Tie]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warn"]

    @property
    def notes(self) -> list[Problem]:
        """Rules that change nothing on this bill (match nothing, or always beaten)."""
        return [p for p in self.problems if p.severity == "note"]


def open_warehouse(db: Path) -> duckdb.DuckDBPyConnection:
    """Open read-only and check the rule models are built."""
    if not db.exists():
        raise RulesError(f"{db} does not exist: load the exports and run `dbt build` first")
    try:
        con = duckdb.connect(str(db), read_only=True)
    except duckdb.Error as exc:
        raise RulesError(f"{db}: cannot open read-only ({exc}); is dbt build writing?") from None
    have = {
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables where table_schema = ?", [SCHEMA]
        ).fetchall()
    }
    for name in (CHECKS, COVERAGE, SIGNATURE_DAYS):
        if name not in have:
            con.close()
            raise RulesError(f"{db} has no table {SCHEMA}.{name}: run `dbt build` first")
    return con


def read_problems(con: duckdb.DuckDBPyConnection) -> list[Problem]:
    rows = con.execute(
        f"select severity, seed_file, rule_id, column_name, bad_value, message "
        f"from {SCHEMA}.{CHECKS} order by severity, seed_file, message"
    ).fetchall()
    return [Problem(*row) for row in rows]


def read_coverage(con: duckdb.DuckDBPyConnection) -> list[Coverage]:
    rows = con.execute(
        f"""
        select
            rule_kind, rule_id, dimension, priority, billing_currency,
            n_lines_matched, matched_cost, n_lines_won, won_cost,
            case
                when rule_kind = 'untagged' then ''
                when sum(n_signatures_matched) over (partition by rule_kind, rule_id) = 0
                    then 'dead'
                when sum(n_signatures_won) over (partition by rule_kind, rule_id) = 0
                    then 'shadowed'
                else ''
            end as status
        from {SCHEMA}.{COVERAGE}
        order by
            case rule_kind when 'tag_rule' then 1 when 'pool' then 2 else 3 end,
            dimension, priority, rule_id, billing_currency
        """
    ).fetchall()
    return [
        Coverage(k, i, d, p, c, int(lm), Decimal(mc), int(lw), Decimal(wc), s)
        for (k, i, d, p, c, lm, mc, lw, wc, s) in rows
    ]


def read_ties(con: duckdb.DuckDBPyConnection) -> list[Tie]:
    rows = con.execute(
        f"""
        with won as (
            select
                billing_currency,
                sum(case when rule_kind = 'tag_rule' and dimension = 'product'
                    then won_cost else 0 end) as direct_cost,
                sum(case when rule_kind = 'pool' then won_cost else 0 end) as pool_cost,
                sum(case when rule_kind = 'untagged' then won_cost else 0 end) as untagged_cost
            from {SCHEMA}.{COVERAGE}
            where billing_currency is not null
            group by billing_currency
        ),
        bill as (
            select billing_currency, sum(effective_cost) as allocatable_cost
            from {SCHEMA}.{SIGNATURE_DAYS}
            group by billing_currency
        )
        select
            bill.billing_currency,
            coalesce(won.direct_cost, 0),
            coalesce(won.pool_cost, 0),
            coalesce(won.untagged_cost, 0),
            bill.allocatable_cost
        from bill
        left join won on bill.billing_currency = won.billing_currency
        order by bill.billing_currency
        """
    ).fetchall()
    return [Tie(c, Decimal(d), Decimal(p), Decimal(u), Decimal(a)) for (c, d, p, u, a) in rows]


def check(db: Path) -> RuleReport:
    """Everything check-rules prints, read from the built warehouse."""
    con = open_warehouse(db)
    try:
        return RuleReport(read_problems(con), read_coverage(con), read_ties(con))
    finally:
        con.close()


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def coverage_table(rows: list[Coverage]) -> list[str]:
    header = (
        "kind", "rule / pool", "dimension", "prio", "cur",
        "lines", "cost matched", "lines won", "cost won", "status",
    )  # fmt: skip
    cells = [
        (
            r.rule_kind,
            r.rule_id,
            r.dimension or "",
            "" if r.priority is None else str(r.priority),
            r.currency or "",
            f"{r.lines_matched:,}",
            _money(r.matched_cost),
            f"{r.lines_won:,}",
            _money(r.won_cost),
            r.status,
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in [header, *cells]) for i in range(len(header))]
    numeric = {3, 5, 6, 7, 8}

    def line(row: tuple[str, ...]) -> str:
        return "  ".join(
            c.rjust(w) if i in numeric else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()

    return [line(header), *(line(row) for row in cells)]


def render_text(report: RuleReport) -> str:
    out = ["rule coverage (effective cost of the loaded bill; won = the rule decided the line)"]
    out += ["  " + row for row in coverage_table(report.coverage)]
    out.append("")
    for tie in report.ties:
        mark = "ties" if tie.ties else "DOES NOT TIE"
        out.append(
            f"{tie.currency}: product rules {_money(tie.direct_cost)} + pools "
            f"{_money(tie.pool_cost)} + untagged {_money(tie.untagged_cost)} = "
            f"{_money(tie.won_cost)}; allocatable {_money(tie.allocatable_cost)} ({mark})"
        )
    dead = sorted({r.rule_id for r in report.coverage if r.status == "dead"})
    shadowed = sorted({r.rule_id for r in report.coverage if r.status == "shadowed"})
    out.append(f"dead (match nothing): {', '.join(dead) or 'none'}")
    out.append(f"shadowed (never win): {', '.join(shadowed) or 'none'}")
    out.append("")
    out.append(f"errors ({len(report.errors)}):")
    out += [f"  {p.message}" for p in report.errors] or ["  none"]
    out.append(f"warnings ({len(report.warnings)}):")
    out += [f"  {p.message}" for p in report.warnings] or ["  none"]
    out.append(f"notes ({len(report.notes)}):")
    out += [f"  {p.message}" for p in report.notes] or ["  none"]
    return "\n".join(out)


def render_json(report: RuleReport) -> str:
    def plain(obj: object) -> dict[str, object]:
        return {k: str(v) if isinstance(v, Decimal) else v for k, v in asdict(obj).items()}  # type: ignore[call-overload]

    return json.dumps(
        {
            "errors": [plain(p) for p in report.errors],
            "warnings": [plain(p) for p in report.warnings],
            "notes": [plain(p) for p in report.notes],
            "coverage": [plain(c) for c in report.coverage],
            "ties": [{**plain(t), "ties": t.ties} for t in report.ties],
        },
        indent=2,
    )


def run(db_arg: str | None, *, as_json: bool = False) -> int:
    """Print the report; 1 when a rule has an error (or the warehouse is not built)."""
    report = check(reader_path(db_arg))
    print(render_json(report) if as_json else render_text(report))
    return 1 if report.errors else 0
