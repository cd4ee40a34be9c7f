"""fct_margin_robustness_monthly on the built sample: the mart agrees with a recomputation in
Python from the pool alternatives, the customer shares and the economics marts; it sits inside
fct_cost_ranges_monthly's ranges; the sample has fragile conclusions; the growth review shows
exactly the mart's fragile rows in text, --json and HTML; the rank threshold is a dbt var."""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import duckdb
import pytest

from ingest import report
from ingest.demo import run_dbt
from ingest.tests.test_report import run_cli

MART = "marts.fct_margin_robustness_monthly"
CENT = Decimal("0.01")
PICO = Decimal("1e-12")
RULE = ("", "")  # the rule as a scenario next to the (pool_id, alternative_id) ones


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _margin(revenue: Decimal, cost: Decimal) -> float | None:
    """macros/unit_economics/gross_margin.sql."""
    if revenue > 0:
        return round(float((revenue - cost) / revenue), 4)
    if revenue == 0 and cost > 0:
        return -1.0
    return None


def recompute(con: duckdb.DuckDBPyConnection) -> dict[tuple, dict[str, Any]]:
    """The mart, from int_cost_ranges__pool_alternatives, the rule's customer shares and the
    customer / feature marts, without the mart's SQL."""
    alternatives = _rows(con, "select * from intermediate.int_cost_ranges__pool_alternatives")
    pool_drivers = dict(
        con.execute("select pool_id, driver from seeds.allocation_pools").fetchall()
    )
    shares: dict[tuple, list[tuple[str, float]]] = defaultdict(list)
    for r in _rows(con, "select * from intermediate.int_allocation__customer_shares"):
        key = (r["product"], r["pool_driver"], r["period_grain"], r["period_start"])
        shares[key].append((r["customer_id"], r["customer_share"]))

    deltas: dict[tuple, Decimal] = defaultdict(Decimal)
    month_alternatives: dict[tuple, set[tuple[str, str]]] = defaultdict(set)
    for a in alternatives:
        month = a["period_start"].replace(day=1)
        cur = a["billing_currency"]
        alt = (a["pool_id"], a["alternative_id"])
        month_alternatives[(month, cur)].add(alt)
        own = (a["product"], pool_drivers[a["pool_id"]], a["share_grain"], a["period_start"])
        share_key = own if own in shares else (a["product"], "*", *own[2:])
        for customer, share in shares.get(share_key, []):
            amount = Decimal(a["alternative_delta"] * share).quantize(PICO)
            deltas[(month, cur, "customer", None, customer, alt)] += amount
        feature = (month, cur, "feature", a["product"], "(no feature)", alt)
        deltas[feature] += Decimal(a["alternative_delta"]).quantize(PICO)

    scopes = [
        (r["cost_month"], r["billing_currency"], "customer", None, r["customer_id"], r["mrr"], r["total_cost"])
        for r in _rows(con, "select * from marts.fct_customer_economics_monthly where not is_unallocated")
    ] + [
        (r["cost_month"], r["billing_currency"], "feature", r["product"], r["feature_id"], r["revenue_attributed"], r["total_cost"])
        for r in _rows(con, "select * from marts.fct_feature_economics_monthly")
    ]  # fmt: skip
    groups: dict[tuple, list[tuple]] = defaultdict(list)
    for s in scopes:
        groups[s[:3]].append(s)

    out: dict[tuple, dict[str, Any]] = {}
    for (month, cur, _kind), members in groups.items():
        scenarios: dict[tuple[str, str], dict[tuple, tuple[Decimal, float | None, int]]] = {}
        for alt in [RULE, *sorted(month_alternatives[(month, cur)])]:
            priced = []
            for m in members:
                delta = Decimal(0) if alt == RULE else deltas.get((*m[:5], alt), Decimal(0))
                cost = m[6] + delta
                priced.append((m, cost, _margin(m[5], cost)))
            # rank 1 = worst margin; ties by gross profit, then product and id (nulls last)
            priced.sort(key=lambda x: (x[2] or 0.0, x[0][5] - x[1], x[0][3] or "\uffff", x[0][4]))
            scenarios[alt] = {p[0][:5]: (p[1], p[2], i + 1) for i, p in enumerate(priced)}
        for m in members:
            key = m[:5]
            total_cost, rule_margin, rule_rank = scenarios[RULE][key]
            others = {alt: s[key] for alt, s in scenarios.items() if alt != RULE}
            every = [scenarios[RULE][key], *others.values()]
            margins = [x[1] for x in every if x[1] is not None]
            flips = {
                alt: abs((v[1] or 0) - (rule_margin or 0))
                for alt, v in others.items()
                if ((v[1] or 0) < 0) != ((rule_margin or 0) < 0)
            }
            moves = {alt: abs(v[2] - rule_rank) for alt, v in others.items()}
            top_move = max(moves.values(), default=0)
            out[key] = {
                "total_cost": total_cost,
                "min_cost": min(x[0] for x in every).quantize(CENT, ROUND_HALF_UP),
                "max_cost": max(x[0] for x in every).quantize(CENT, ROUND_HALF_UP),
                "rule_margin": rule_margin,
                "min_margin": min(margins, default=None),
                "max_margin": max(margins, default=None),
                "rule_rank": rule_rank,
                "worst_rank": min(x[2] for x in every),
                "best_rank": max(x[2] for x in every),
                "max_rank_move": top_move,
                "n_alternatives": len(others),
                "sign_change_alternative_id": (
                    min(flips, key=lambda a: (-flips[a], a))[1] if flips else None
                ),
                "rank_move_alternative_id": (
                    min(moves, key=lambda a: (-moves[a], a))[1] if top_move else None
                ),
                "margin_sign_changes": bool(flips),
                "rank_moves_beyond_threshold": top_move > 3,
            }
    return out


@pytest.fixture(scope="module")
def mart(built_sample: Path) -> dict[tuple, dict[str, Any]]:
    con = duckdb.connect(str(built_sample), read_only=True)
    try:
        rows = _rows(con, f"select * from {MART}")
    finally:
        con.close()
    return {
        (r["cost_month"], r["billing_currency"], r["scope_type"], r["product"], r["scope"]): r
        for r in rows
    }


def test_mart_agrees_with_a_recomputation_from_the_alternatives(
    built_sample: Path, mart: dict[tuple, dict[str, Any]]
) -> None:
    con = duckdb.connect(str(built_sample), read_only=True)
    try:
        expected = recompute(con)
    finally:
        con.close()
    assert mart.keys() == expected.keys()
    for key, want in expected.items():
        got = mart[key]
        for column, value in want.items():
            assert got[column] == value, (key, column, got[column], value)
        assert got["is_fragile"] == (want["margin_sign_changes"] or want["max_rank_move"] > 3)


def test_rule_columns_are_the_economics_marts_and_inside_the_cost_ranges(
    built_sample: Path, mart: dict[tuple, dict[str, Any]]
) -> None:
    con = duckdb.connect(str(built_sample), read_only=True)
    try:
        customers = {
            (r["cost_month"], r["billing_currency"], r["customer_id"]): r
            for r in _rows(
                con, "select * from marts.fct_customer_economics_monthly where not is_unallocated"
            )
        }
        ranges = {
            (r["cost_month"], r["billing_currency"], r["scope"]): r
            for r in _rows(
                con, "select * from marts.fct_cost_ranges_monthly where scope_type = 'customer'"
            )
        }
    finally:
        con.close()
    checked = 0
    for (month, cur, kind, _, scope), row in mart.items():
        if kind != "customer":
            continue
        c = customers[(month, cur, scope)]
        assert (row["revenue"], row["total_cost"]) == (c["mrr"], c["total_cost"])
        assert (row["rule_margin"], row["rule_rank"]) == (c["gross_margin"], c["margin_rank"])
        # each alternative alone lies inside the range of every combination of alternatives
        r = ranges.get((month, cur, scope))
        if r is not None and r["pools_with_alternatives"]:
            assert r["low_cost"] <= row["min_cost"] <= row["max_cost"] <= r["high_cost"], scope
            checked += 1
    assert checked > 0


def test_the_sample_has_conclusions_that_depend_on_the_method(
    mart: dict[tuple, dict[str, Any]],
) -> None:
    """The sample's ClickHouse alternatives (CPU time, wall time) reorder the many customers
    whose margins lie within a few tenths of a percent of each other; no sample margin sits
    close enough to zero for a single pool's driver to flip it."""
    fragile = [k for k, r in mart.items() if r["is_fragile"]]
    assert any(k[2] == "customer" for k in fragile)
    assert all(mart[k]["max_rank_move"] > 3 for k in fragile)
    stable = [r for r in mart.values() if r["n_alternatives"] and not r["is_fragile"]]
    assert stable


class _Cells(HTMLParser):
    """data-value of every data-field cell in table data-table="fragile-margins", by row."""

    def __init__(self) -> None:
        super().__init__()
        self.in_table = False
        self.row: str | None = None
        self.rows: dict[str, dict[str, str]] = {}
        self.marker: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "data-robustness" in a:
            self.marker = a
        if tag == "table":
            self.in_table = a.get("data-table") == "fragile-margins"
        elif self.in_table and tag == "tr" and "data-row" in a:
            self.row = a["data-row"]
            self.rows[self.row] = {}
        elif self.in_table and self.row and tag == "td" and "data-value" in a:
            self.rows[self.row][a["data-field"]] = a["data-value"]

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.in_table = False


def _fragile_fields(row: dict[str, Any]) -> dict[str, Any]:
    fields = report.FragileRow.__dataclass_fields__
    return {k: row.get(k, "") for k in fields}


def _report_month(built_sample: Path) -> tuple[date, str]:
    con = report.open_marts(built_sample)
    try:
        return report.resolve_period(con, None, None)
    finally:
        con.close()


def test_report_shows_the_marts_fragile_rows(
    built_sample: Path, mart: dict[tuple, dict[str, Any]], tmp_path: Path
) -> None:
    month, cur = _report_month(built_sample)
    want = {
        (f"customer:{k[4]}" if k[2] == "customer" else f"feature:{k[3]}:{k[4]}"): r
        for k, r in mart.items()
        if k[:2] == (month, cur) and r["is_fragile"]
    }
    assert want, "the sample's report month has fragile conclusions"

    page = tmp_path / "r.html"
    text = run_cli("report", "--db", str(built_sample), "--html", str(page))
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    start = lines.index(f"{report.ROBUSTNESS_TITLE}, {month:%Y-%m} ({cur})")
    block = lines[start : start + 3 + len(want)]
    customers = sum(k.startswith("customer:") for k in want)
    assert f"{customers} customers and {len(want) - customers} features" in block[1]
    for r in want.values():
        assert any(
            f"{r['worst_rank']}–{r['best_rank']}" in line
            and report.fragile_reason(report.FragileRow(**_fragile_fields(r))) in line
            for line in block[3:]
        ), r

    doc = json.loads(
        run_cli("report", "--db", str(built_sample), "--json", "--html", str(page)).stdout
    )["robustness"]
    assert doc["rank_move_threshold"] == 3
    got = {f"customer:{f['scope']}" if f["scope_type"] == "customer" else f"feature:{f['product']}:{f['scope']}": f for f in doc["fragile"]}  # fmt: skip
    assert got.keys() == want.keys()
    for key, f in got.items():
        m = want[key]
        for column in ("revenue", "total_cost", "min_cost", "max_cost"):
            assert Decimal(f[column]) == m[column], (key, column)
        for column in ("rule_margin", "min_margin", "max_margin", "rule_rank", "best_rank",
                       "worst_rank", "max_rank_move", "sign_change_alternative_id",
                       "rank_move_alternative_id", "margin_sign_changes"):  # fmt: skip
            assert f[column] == m[column], (key, column)

    cells = _Cells()
    cells.feed(page.read_text(encoding="utf-8"))
    assert cells.marker.get("data-robustness") == str(len(want))
    assert cells.rows.keys() == want.keys()
    for key, row in cells.rows.items():
        m = want[key]
        for column in ("total_cost", "min_cost", "max_cost"):
            assert Decimal(row[column]) == m[column], (key, column)
        for column in ("rule_margin", "min_margin", "max_margin"):
            assert float(row[column]) == m[column], (key, column)
        for column in ("rule_rank", "worst_rank", "best_rank"):
            assert int(row[column]) == m[column], (key, column)


def test_report_says_when_no_conclusion_depends_on_the_method(
    built_sample: Path, tmp_path: Path
) -> None:
    db = tmp_path / "copy.duckdb"
    shutil.copyfile(built_sample, db)
    con = duckdb.connect(str(db))
    con.execute(
        f"update {MART} set is_fragile = false, margin_sign_changes = false, "
        "rank_moves_beyond_threshold = false"
    )
    con.close()
    page = tmp_path / "r.html"
    proc = run_cli("report", "--db", str(db), "--html", str(page))
    assert proc.returncode == 0, proc.stderr
    assert f"  {report.ROBUSTNESS_NONE}: under each of 6 alternative" in proc.stdout
    assert 'data-robustness="none"' in page.read_text(encoding="utf-8")

    con = duckdb.connect(str(db))
    con.execute(f"drop table {MART}")
    con.close()
    proc = run_cli("report", "--db", str(db), "--html", str(page))
    assert proc.returncode == 0, proc.stderr
    assert "margin robustness not built" in proc.stdout
    assert 'data-robustness="not-built"' in page.read_text(encoding="utf-8")


def test_rank_move_threshold_is_a_var(built_sample: Path, tmp_path: Path) -> None:
    db = tmp_path / "copy.duckdb"
    shutil.copyfile(built_sample, db)
    select = ("--select", "fct_margin_robustness_monthly")
    bad = run_dbt(db, "run", *select, "--vars", "{margin_rank_move_threshold: -2}", capture=True)
    assert bad.returncode != 0
    assert "margin_rank_move_threshold: -2 is not a number of places" in bad.stdout

    def fragile() -> int:
        con = duckdb.connect(str(db), read_only=True)
        try:
            return con.execute(f"select count(*) from {MART} where is_fragile").fetchone()[0]
        finally:
            con.close()

    before = fragile()
    done = run_dbt(db, "run", *select, "--vars", "{margin_rank_move_threshold: 0}", capture=True)
    assert done.returncode == 0, done.stdout
    assert fragile() > before
