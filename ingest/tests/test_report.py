"""The growth review and the assumptions docs, against the built sample warehouse.

The console table and the HTML report must show the marts' numbers (not re-computed ones), the
HTML must draw its charts in a real browser with no network, and the committed docs block of
``fct_allocation_assumptions`` must be what the rules generate today.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import duckdb
import pytest

from ingest import report, report_charts
from ingest.cli import build_parser
from ingest.tests.conftest import PROJECT_DIR

COMMITTED_DOCS = PROJECT_DIR / report.DOCS_PATH
CHARTS = ("cost-trend", "customer-margin", "cost-per-unit")
TOP = 8


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m ingest <args>`` in a child process, as a user would run it."""
    return subprocess.run(
        [sys.executable, "-m", "ingest", *args],
        cwd=PROJECT_DIR,
        env={**os.environ, "PYTHONPATH": str(PROJECT_DIR)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def to_cent(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@dataclass
class Marts:
    """What the report should show, read straight from the marts."""

    month: date
    currency: str
    products: dict[str, tuple[Any, ...]]
    product_costs: dict[tuple[str, str], Decimal]
    cost_per_unit: dict[tuple[str, str], float | None]
    customers: list[tuple[Any, ...]]
    teams: dict[str, Decimal]
    assumptions: list[tuple[str, ...]]
    has_anomalies: bool


@pytest.fixture(scope="module")
def marts(built_sample: Path) -> Marts:
    con = duckdb.connect(str(built_sample), read_only=True)
    try:
        month, currency = con.execute(
            """
            select cost_month, billing_currency from marts.fct_product_economics_monthly
            group by all order by cost_month desc, sum(total_cost) desc limit 1
            """
        ).fetchone()
        products = {
            r[0]: r
            for r in con.execute(
                """
                select product, product_name, total_cost, gross_margin, mom_cost_change,
                       cost_per_unit
                from marts.fct_product_economics_monthly
                where cost_month = ? and billing_currency = ?
                """,
                [month, currency],
            ).fetchall()
        }
        trend = con.execute(
            """
            select product, strftime(cost_month, '%Y-%m'), total_cost, cost_per_unit
            from marts.fct_product_economics_monthly where billing_currency = ?
            """,
            [currency],
        ).fetchall()
        customers = con.execute(
            """
            select customer_id, coalesce(customer_name, customer_id), mrr, total_cost,
                   gross_margin, margin_rank
            from marts.fct_customer_economics_monthly
            where cost_month = ? and billing_currency = ? and mrr > 0
            order by margin_rank
            """,
            [month, currency],
        ).fetchall()
        teams = dict(
            con.execute(
                """
                select team, total_cost from marts.fct_team_showback_monthly
                where cost_month = ? and billing_currency = ?
                """,
                [month, currency],
            ).fetchall()
        )
        assumptions = con.execute(
            "select assumption_id, topic, subject, rule_source, statement "
            "from marts.fct_allocation_assumptions"
        ).fetchall()
        has_anomalies = report.ANOMALY_TABLE in report.existing_tables(con)
    finally:
        # Closed before any child process opens the same file.
        con.close()
    return Marts(
        month=month,
        currency=currency,
        products=products,
        product_costs={(p, m): c for p, m, c, _ in trend},
        cost_per_unit={(p, m): cpu for p, m, _, cpu in trend},
        customers=customers,
        teams=teams,
        assumptions=assumptions,
        has_anomalies=has_anomalies,
    )


@dataclass
class Report:
    proc: subprocess.CompletedProcess[str]
    html: Path
    seconds: float


@pytest.fixture(scope="module")
def report_run(built_sample: Path, tmp_path_factory: pytest.TempPathFactory) -> Report:
    out = tmp_path_factory.mktemp("report") / "report.html"
    started = time.monotonic()
    proc = run_cli("report", "--db", str(built_sample), "--html", str(out), "--top", str(TOP))
    return Report(proc, out, time.monotonic() - started)


def section(stdout: str, heading_start: str) -> list[str]:
    """The lines of the console section whose heading starts with ``heading_start``."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(heading_start))
    out = []
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        out.append(line)
    return out


def cells(line: str) -> list[str]:
    return re.split(r"\s{2,}", line.strip())


def number(text: str) -> float:
    return float(text.replace(",", "").replace("−", "-").replace("%", "").strip())


# --------------------------------------------------------------------------- console


def test_report_and_assumptions_have_help() -> None:
    for command in ("report", "assumptions"):
        with pytest.raises(SystemExit) as exit_info:
            build_parser().parse_args([command, "--help"])
        assert exit_info.value.code == 0


def test_cli_prints_the_marts_numbers(report_run: Report, marts: Marts) -> None:
    proc = report_run.proc
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.startswith(f"Growth review {marts.month:%Y-%m}, {marts.currency}.")

    rows = section(out, f"products, {marts.month:%Y-%m}")
    header, body = cells(rows[0]), [cells(r) for r in rows[1:]]
    assert header[:3] == ["product", "total cost", "cost per unit"]
    by_name = {r[0]: r for r in body}
    assert len(by_name) == len(marts.products) + 1  # + the total line
    for _, name, cost, margin, mom, cpu in marts.products.values():
        line = by_name[name]
        assert Decimal(line[1].replace(",", "")) == to_cent(cost), name
        if margin is not None:
            assert number(line[3]) == pytest.approx(margin * 100, abs=0.051), name
        if mom is not None and round(mom * 100, 1) != 0:
            arrow = "↑" if mom > 0 else "↓"
            assert line[4].startswith(arrow) and number(line[4][1:]) == pytest.approx(
                abs(mom) * 100, abs=0.051
            ), name
        if cpu is not None:
            assert " per " in line[2] and line[2][0] in "$€£¥" + marts.currency[0]
        assert re.fullmatch(r".+–.+", line[5]), f"{name}: no cost range in {line}"
    total = sum(p[2] for p in marts.products.values())
    assert Decimal(by_name["total"][1].replace(",", "")) == to_cent(total)

    rows = section(out, "worst ")
    body = [cells(r) for r in rows[1:]]
    expected = marts.customers[:TOP]
    assert [r[1] for r in body] == [c[1] for c in expected]
    assert [int(r[0]) for r in body] == [c[5] for c in expected]
    margins = [number(r[5]) for r in body]
    assert margins == sorted(margins), "worst margin first"
    for r, c in zip(body, expected, strict=True):
        assert Decimal(r[4].replace(",", "")) == to_cent(c[3])
        assert number(r[5]) == pytest.approx(c[4] * 100, abs=0.051)

    teams = section(out, "team budgets")
    shown = {cells(r)[0]: cells(r)[1] for r in teams[1:]}
    assert {t: Decimal(v.replace(",", "")) for t, v in shown.items()} == {
        t: to_cent(c) for t, c in marts.teams.items()
    }
    if marts.has_anomalies:
        assert "anomaly monitoring not built" not in out
        assert re.search(r"^anomalies \d{4}-\d\d-\d\d to \d{4}-\d\d-\d\d", out, re.M)
    else:
        assert "anomaly monitoring not built" in out
    assert f"HTML report: {report_run.html}" in out
    assert report_run.html.is_file()


def test_cli_fails_clearly_on_an_empty_warehouse(tmp_path: Path) -> None:
    db = tmp_path / "empty.duckdb"
    duckdb.connect(str(db)).close()
    proc = run_cli("report", "--db", str(db), "--html", str(tmp_path / "r.html"))
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"error: {db} has no table marts.")
    assert "fct_product_economics_monthly" in proc.stderr and "dbt build" in proc.stderr
    assert not (tmp_path / "r.html").exists()

    missing = run_cli("report", "--db", str(tmp_path / "nowhere.duckdb"))
    assert missing.returncode == 1 and "does not exist" in missing.stderr
    assert not (tmp_path / "nowhere.duckdb").exists(), "a report must not create a warehouse"


def test_unknown_month_or_currency_exit_1(built_sample: Path, tmp_path: Path) -> None:
    proc = run_cli("report", "--db", str(built_sample), "--month", "1999-01")
    assert proc.returncode == 1 and "no product cost in 1999-01" in proc.stderr
    proc = run_cli("report", "--db", str(built_sample), "--currency", "XTS")
    assert proc.returncode == 1 and "no product cost in XTS" in proc.stderr
    assert run_cli("report", "--db", str(built_sample), "--month", "2026-13").returncode == 2


def test_report_without_anomaly_monitoring_or_commitments(built_sample: Path, tmp_path: Path):
    # A warehouse built before the monitoring marts existed: the report still works. And a
    # bill without Savings Plans or reservations says so in one line.
    db = tmp_path / "no_monitoring.duckdb"
    shutil.copyfile(built_sample, db)
    con = duckdb.connect(str(db))
    con.execute(f"drop table if exists marts.{report.ANOMALY_TABLE}")
    for table in report.COMMITMENT_TABLES:
        con.execute(f"delete from marts.{table}")
    con.close()
    proc = run_cli("report", "--db", str(db))
    assert proc.returncode == 0, proc.stderr
    assert "anomaly monitoring not built" in proc.stdout
    assert re.search(r"^commitments: no commitments in this bill for \d{4}-\d\d", proc.stdout, re.M)
    written = (tmp_path / "report.html").read_text()
    assert "Anomaly monitoring not built" in written
    assert 'data-commitments="none">No commitments in this bill for' in written
    assert 'data-table="commitment-utilization"' not in written


# --------------------------------------------------------------------------- HTML


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    parent: Node | None
    text: list[str] = field(default_factory=list)
    # Text and child elements in document order.
    parts: list[Node | str] = field(default_factory=list)

    def children(self) -> list[Node]:
        return [p for p in self.parts if isinstance(p, Node)]

    def text_content(self, skip_class: str | None = None) -> str:
        """The DOM's textContent, leaving out elements of class ``skip_class``."""
        out = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
            elif skip_class is None or skip_class not in part.attrs.get("class", "").split():
                out.append(part.text_content(skip_class))
        return "".join(out)

    def ancestor(self, key: str) -> Node | None:
        node = self.parent
        while node is not None and key not in node.attrs:
            node = node.parent
        return node


class DomIndex(HTMLParser):
    """Every element of the dumped DOM with its attributes and its parent."""

    VOID = {"meta", "link", "br", "img", "input", "hr", "col", "area", "base", "wbr", "source"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.nodes: list[Node] = []
        self.stack: list[Node] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        parent = self.stack[-1] if self.stack else None
        node = Node(tag, {k: v or "" for k, v in attrs}, parent)
        self.nodes.append(node)
        if parent is not None:
            parent.parts.append(node)
        if tag not in self.VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        if self.stack:
            self.stack[-1].text.append(data)
            self.stack[-1].parts.append(data)

    def select(self, **attrs: str) -> list[Node]:
        return [n for n in self.nodes if all(n.attrs.get(k) == v for k, v in attrs.items())]


def chromium() -> str:
    found = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )
    if not found:
        pytest.skip("chromium is not installed (CI installs it: apt-get install chromium)")
    return found


def headless(html: Path, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--virtual-time-budget=5000",
            *args,
            html.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def rendered(report_run: Report, tmp_path_factory: pytest.TempPathFactory) -> DomIndex:
    assert report_run.proc.returncode == 0, report_run.proc.stderr
    proc = headless(report_run.html, tmp_path_factory.mktemp("chromium-dom"), "--dump-dom")
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = DomIndex()
    dom.feed(proc.stdout)
    return dom


def test_html_is_self_contained(report_run: Report) -> None:
    text = report_run.html.read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text), "no network"
    assert "@import" not in text and "url(" not in text
    # The charts are in the file as drawn SVG, not drawn by a script in the browser.
    for chart in CHARTS:
        start = text.index(f'data-chart="{chart}"')
        assert 0 <= text.find("<svg", start) < text.find("</figure>", start), f"{chart}: no SVG"
    assert '<desc class="value">' in text
    assert not re.search(r"<script[^>]*\bsrc\s*=", text), "no script loaded from anywhere"


def test_chromium_shows_the_charts(rendered: DomIndex) -> None:
    body = next(n for n in rendered.nodes if n.tag == "body")
    assert body.attrs.get("data-rendered") == "true", "the page script did not finish"
    for chart in CHARTS:
        holders = [n for n in rendered.nodes if n.attrs.get("data-chart") == chart]
        assert len(holders) == 1, chart
        assert [n for n in rendered.nodes if n.tag == "svg" and _in(n, holders[0])], chart
        assert _marks(rendered, chart), f"{chart}: no marks drawn"


def _in(node: Node, ancestor: Node) -> bool:
    parent = node.parent
    while parent is not None:
        if parent is ancestor:
            return True
        parent = parent.parent
    return False


@dataclass
class Mark:
    """One plotted bar or point, as pygal writes it: the group holding its shape and the
    ``<desc>`` elements next to it (value: the number plotted, label: the product or customer
    key, x_label: the month or customer axis label)."""

    node: Node
    shape: Node
    value: str
    key: str
    x_label: str

    def month(self) -> str:
        return datetime.strptime(self.x_label, "%b %Y").strftime("%Y-%m")


def _marks(dom: DomIndex, chart: str) -> list[Mark]:
    holder = next(n for n in dom.nodes if n.attrs.get("data-chart") == chart)
    out = []
    for node in dom.nodes:
        if node.tag != "g" or not _in(node, holder):
            continue
        desc = {
            c.attrs.get("class", "").strip(): c.text_content()
            for c in node.children()
            if c.tag == "desc"
        }
        shapes = [c for c in node.children() if c.tag in ("rect", "circle", "path")]
        if "value" in desc and shapes:
            out.append(Mark(node, shapes[0], desc["value"], desc["label"], desc["x_label"]))
    return out


def test_chart_marks_match_the_marts(rendered: DomIndex, marts: Marts) -> None:
    drawn = {(m.key, m.month()): Decimal(m.value) for m in _marks(rendered, "cost-trend")}
    assert drawn.keys() == marts.product_costs.keys()
    for key, cost in marts.product_costs.items():
        assert abs(drawn[key] - cost) <= Decimal("0.005"), key

    # Top to bottom on screen: worst margin first.
    bars = sorted(_marks(rendered, "customer-margin"), key=lambda m: float(m.shape.attrs["y"]))
    expected = [c for c in marts.customers[:TOP] if c[4] is not None]
    assert [b.key for b in bars] == [c[0] for c in expected]
    for bar, customer in zip(bars, expected, strict=True):
        assert float(bar.value) == pytest.approx(customer[4], abs=1e-4)
        assert bar.x_label.rstrip("…") in (customer[1] or customer[0])
        red = bar.shape.attrs["fill"].lower() == "#c62828"
        assert red == (customer[4] < 0), f"{customer[0]}: negative margins are red"

    points = _marks(rendered, "cost-per-unit")
    assert points
    for point in points:
        key = (point.key, point.month())
        panel = point.node.ancestor("data-per")
        assert panel is not None and panel.attrs["data-product"] == point.key
        shown = float(point.value) / float(panel.attrs["data-per"])
        assert shown == pytest.approx(marts.cost_per_unit[key], rel=5e-3), key


def _table_values(dom: DomIndex, table: str, row_key: str) -> dict[str, dict[str, str]]:
    node = next(n for n in dom.nodes if n.attrs.get("data-table") == table)
    out: dict[str, dict[str, str]] = {}
    for cell in dom.nodes:
        if "data-field" in cell.attrs and "data-value" in cell.attrs and _in(cell, node):
            row = cell.ancestor(row_key)
            assert row is not None
            out.setdefault(row.attrs[row_key], {})[cell.attrs["data-field"]] = cell.attrs[
                "data-value"
            ]
    return out


def test_table_values_match_the_marts(rendered: DomIndex, marts: Marts) -> None:
    products = _table_values(rendered, "products", "data-product")
    for product, (_, _, cost, margin, mom, cpu) in marts.products.items():
        row = products[product]
        assert Decimal(row["total_cost"]) == cost
        assert (float(row["gross_margin"]) if row["gross_margin"] else None) == margin
        assert (float(row["mom_cost_change"]) if row["mom_cost_change"] else None) == mom
        assert (float(row["cost_per_unit"]) if row["cost_per_unit"] else None) == cpu
    assert Decimal(products["(total)"]["total_cost"]) == sum(p[2] for p in marts.products.values())

    customers = _table_values(rendered, "customers", "data-customer")
    assert list(customers) == [c[0] for c in marts.customers[:TOP]]
    for customer_id, _, mrr, cost, margin, rank in marts.customers[:TOP]:
        row = customers[customer_id]
        assert Decimal(row["mrr"]) == mrr and Decimal(row["allocated_cost"]) == cost
        assert abs(float(row["gross_margin"]) - margin) <= 1e-4
        assert int(row["margin_rank"]) == rank

    teams = _table_values(rendered, "teams", "data-team")
    assert {t: Decimal(v["team_cost"]) for t, v in teams.items()} == marts.teams

    listed = {n.attrs["data-assumption"] for n in rendered.nodes if "data-assumption" in n.attrs}
    assert listed == {a[0] for a in marts.assumptions}


def test_anomalies_critical_first(rendered: DomIndex, marts: Marts) -> None:
    if not marts.has_anomalies:
        assert rendered.select(**{"data-anomalies": "not-built"})
        return
    rows = [n for n in rendered.nodes if "data-anomaly" in n.attrs]
    severities = [r.attrs["data-severity"] for r in rows]
    assert severities == sorted(severities, key=lambda s: s != "critical")


def test_screenshot(report_run: Report, tmp_path: Path) -> None:
    png = tmp_path / "report.png"
    proc = headless(
        report_run.html,
        tmp_path / "profile",
        "--hide-scrollbars",
        f"--screenshot={png}",
        "--window-size=1280,2400",
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (1280, 2400)
    # A blank page compresses to a few KB; charts, tables and text do not.
    assert len(data) > 100_000, f"screenshot is only {len(data)} bytes"
    keep = os.environ.get("REPORT_SCREENSHOT")
    if keep:
        shutil.copyfile(png, keep)


# --------------------------------------------------------------------------- CFO sections


@dataclass
class CfoMarts:
    """The CFO sections' figures, each read straight from its mart for the report month."""

    losses: list[tuple[str, Decimal, Decimal]]  # customer_id, cost, gross_profit (paying)
    free_count: int
    free_cost: Decimal
    movers: dict[str, list[tuple[str, Decimal, Decimal]]]  # kind -> (item, previous, current)
    allocation_total: Decimal
    product_cost: Decimal
    reasons: dict[str, Decimal]
    utilization: dict[str, tuple[Decimal, Decimal, float | None]]
    coverage: dict[str, tuple[Decimal, float | None]]
    product_names: dict[str, str]


def _month_costs(con: duckdb.DuckDBPyConnection, sql: str, month: date, currency: str):
    return dict(con.execute(sql, [month, currency]).fetchall())


@pytest.fixture(scope="module")
def cfo(built_sample: Path, marts: Marts) -> CfoMarts:
    month, currency = marts.month, marts.currency
    previous = date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)
    con = duckdb.connect(str(built_sample), read_only=True)
    try:
        customers = "from marts.fct_customer_economics_monthly where cost_month = ? "
        customers += "and billing_currency = ? and customer_id <> '(unallocated)'"
        losses = con.execute(
            f"select customer_id, total_cost, gross_profit {customers} "
            "and mrr > 0 and gross_profit < 0",
            [month, currency],
        ).fetchall()
        free_count, free_cost = con.execute(
            f"select count(*), sum(total_cost) {customers} and mrr = 0 and total_cost > 0",
            [month, currency],
        ).fetchone()
        sources = {
            "product": "select product, total_cost from marts.fct_product_economics_monthly "
            "where cost_month = ? and billing_currency = ?",
            "customer": f"select customer_id, total_cost {customers}",
            "service": "select service_code, sum(allocated_effective_cost) "
            "from marts.fct_cost_allocation where cost_month = ? and billing_currency = ? "
            "group by service_code",
        }
        movers = {}
        for kind, sql in sources.items():
            now = _month_costs(con, sql, month, currency)
            before = _month_costs(con, sql, previous, currency)
            changed = [
                (item, before.get(item, Decimal(0)), now.get(item, Decimal(0)))
                for item in now.keys() | before.keys()
                if now.get(item, 0) != before.get(item, 0)
            ]
            changed.sort(key=lambda r: (-abs(r[2] - r[1]), r[0]))
            movers[kind] = changed[:TOP]
        allocation = "from marts.fct_cost_allocation where cost_month = ? "
        allocation += "and billing_currency = ?"
        total, product = con.execute(
            f"select sum(allocated_effective_cost), "
            f"sum(allocated_effective_cost) filter (where not is_unallocated) {allocation}",
            [month, currency],
        ).fetchone()
        reasons = _month_costs(
            con,
            f"select unallocated_reason, sum(allocated_effective_cost) {allocation} "
            "and unallocated_reason is not null group by all",
            month,
            currency,
        )
        utilization = {
            f"{a}/{t}": (c, u, r)
            for a, t, c, u, r in con.execute(
                "select billing_account_id, commitment_type, total_commitment_cost, "
                "unused_commitment_cost, utilization from marts.fct_commitment_utilization_monthly "
                "where cost_month = ? and billing_currency = ? and total_commitment_cost <> 0",
                [month, currency],
            ).fetchall()
        }
        coverage = {
            f"{a}/{t}": (e, c)
            for a, t, e, c in con.execute(
                "select billing_account_id, commitment_type, eligible_list_cost, coverage "
                "from marts.fct_commitment_coverage_monthly "
                "where cost_month = ? and billing_currency = ? and eligible_list_cost <> 0",
                [month, currency],
            ).fetchall()
        }
        names = dict(
            con.execute(
                "select distinct product, product_name from marts.fct_product_economics_monthly"
            ).fetchall()
        )
    finally:
        con.close()
    return CfoMarts(
        losses=losses,
        free_count=free_count,
        free_cost=free_cost or Decimal(0),
        movers=movers,
        allocation_total=total,
        product_cost=product,
        reasons=reasons,
        utilization=utilization,
        coverage=coverage,
        product_names=names,
    )


def _rows(dom: DomIndex, table: str) -> dict[str, dict[str, str]]:
    return _table_values(dom, table, "data-row")


def test_every_loss_making_customer_by_dollars_lost(
    rendered: DomIndex, report_run: Report, cfo: CfoMarts
) -> None:
    rows = _rows(rendered, "loss-makers")
    expected = {c: (cost, gp) for c, cost, gp in cfo.losses}
    if cfo.free_count:
        expected[report.FREE_TENANTS] = (cfo.free_cost, -cfo.free_cost)
        assert int(rows[report.FREE_TENANTS]["customers"]) == cfo.free_count
    assert expected, "the sample has loss-making customers"
    assert {k: (Decimal(v["cost"]), Decimal(v["gross_profit"])) for k, v in rows.items()} == (
        expected
    )
    losses = [Decimal(v["gross_profit"]) for v in rows.values()]
    assert losses == sorted(losses), "biggest loss first"

    lines = section(report_run.proc.stdout, "customers who lose money")
    assert len(lines) == 1 + len(expected)
    assert lines[1].split()[:3] == ["Free", "tenants", f"({cfo.free_count})"]


def test_biggest_movers_per_product_customer_and_service(
    rendered: DomIndex, report_run: Report, cfo: CfoMarts
) -> None:
    for kind in report.MOVER_KINDS:
        rows = _rows(rendered, f"movers-{kind}")
        shown = [
            (item, Decimal(v["previous_cost"]), Decimal(v["current_cost"]))
            for item, v in rows.items()
        ]
        assert shown == cfo.movers[kind], kind
        for v in rows.values():
            assert Decimal(v["change"]) == Decimal(v["current_cost"]) - Decimal(v["previous_cost"])
        assert section(report_run.proc.stdout, f"biggest {kind} movers")
    # Movers show display names, with the id in the tooltip.
    product_rows = [n for n in rendered.nodes if n.attrs.get("title") in cfo.product_names]
    assert {n.text_content() for n in product_rows} <= set(cfo.product_names.values())


def test_tag_coverage_and_unallocated_by_reason(rendered: DomIndex, cfo: CfoMarts) -> None:
    [note] = [n for n in rendered.nodes if "data-coverage" in n.attrs]
    assert Decimal(note.attrs["data-total"]) == cfo.allocation_total
    assert Decimal(note.attrs["data-product-cost"]) == cfo.product_cost
    assert float(note.attrs["data-coverage"]) == pytest.approx(
        float(cfo.product_cost / cfo.allocation_total)
    )
    rows = _rows(rendered, "unallocated")
    assert {k: Decimal(v["cost"]) for k, v in rows.items()} == cfo.reasons
    assert cfo.reasons, "the sample has untagged cost"


def test_commitment_utilisation_and_coverage(rendered: DomIndex, cfo: CfoMarts) -> None:
    assert cfo.utilization, "the sample has Savings Plans and reservations"
    rows = _rows(rendered, "commitment-utilization")
    shown = {
        k: (
            Decimal(v["total"]),
            Decimal(v["unused"]),
            float(v["utilization"]) if v["utilization"] else None,
        )
        for k, v in rows.items()
    }
    assert shown == cfo.utilization
    rows = _rows(rendered, "commitment-coverage")
    shown_coverage = {
        k: (Decimal(v["eligible"]), float(v["coverage"]) if v["coverage"] else None)
        for k, v in rows.items()
    }
    assert shown_coverage == cfo.coverage
    assert not rendered.select(**{"data-commitments": "none"})


def test_anomalies_show_display_names(rendered: DomIndex, cfo: CfoMarts) -> None:
    rows = [n for n in rendered.nodes if "data-anomaly" in n.attrs]
    assert rows, "the sample raises anomalies in the report window"
    for row in rows:
        scope_cell = next(c for c in row.children() if "title" in c.attrs)
        scope = scope_cell.attrs["title"]
        product, _, component = scope.partition("/")
        if product in cfo.product_names:
            name = cfo.product_names[product]
            label = f"{name} / {component}" if component else name
            assert scope_cell.text_content() == label
            description = next(c for c in row.children() if c.attrs.get("class") == "desc")
            text = description.text_content()
            assert f" {scope} " not in text and f"{label} " in text
            assert "Product Product " not in text


def _csv_cell(cell: Node) -> str:
    if "data-value" in cell.attrs:
        return cell.attrs["data-value"]
    return cell.text_content(skip_class="unit").strip()


def test_every_table_has_a_csv_download_equal_to_it(
    rendered: DomIndex, cfo: CfoMarts, marts: Marts
) -> None:
    tables = [n for n in rendered.nodes if n.tag == "table" and "data-table" in n.attrs]
    names = [t.attrs["data-table"] for t in tables]
    assert {"products", "loss-makers", "movers-service", "unallocated", "teams"} <= set(names)
    links = {n.attrs["data-csv-for"]: n for n in rendered.nodes if "data-csv-for" in n.attrs}
    assert sorted(links) == sorted(names), "one download link per table"
    for table in tables:
        link = links[table.attrs["data-table"]]
        assert link.tag == "a" and link.attrs["download"].endswith(".csv")
        prefix, _, payload = link.attrs["href"].partition(",")
        assert prefix == "data:text/csv;charset=utf-8", "self-contained: a data: URI"
        parsed = list(csv.reader(io.StringIO(urllib.parse.unquote(payload), newline="")))
        expected = [
            [_csv_cell(c) for c in tr.children() if c.tag in ("th", "td")]
            for tr in rendered.nodes
            if tr.tag == "tr" and _in(tr, table)
        ]
        assert parsed == expected, table.attrs["data-table"]
    # And the figures are the marts' own: the loss-makers CSV against a direct query.
    link = links["loss-makers"]
    parsed = list(
        csv.DictReader(io.StringIO(urllib.parse.unquote(link.attrs["href"].partition(",")[2])))
    )
    paying = {c: gp for c, _, gp in cfo.losses}
    for row in parsed:
        if row["Customer"].startswith("Free tenants"):
            assert Decimal(row[f"Cost ({marts.currency})"]) == cfo.free_cost
        else:
            assert Decimal(row[f"Gross profit ({marts.currency})"]) in paying.values()


FONT_PROBE = """<script>
(function () {
  var sizes = Array.prototype.map.call(document.querySelectorAll("svg text"), function (t) {
    var m = t.getScreenCTM();  // rotated labels too: the scale is the length of (a, b)
    return parseFloat(getComputedStyle(t).fontSize) * Math.sqrt(m.a * m.a + m.b * m.b);
  });
  document.body.setAttribute("data-text-count", String(sizes.length));
  document.body.setAttribute("data-min-font-px", String(Math.min.apply(null, sizes)));
})();
</script></body>"""


def test_chart_text_is_readable_at_1280_px(report_run: Report, tmp_path: Path) -> None:
    """Every chart label (legend, axes, values) is at least 12 CSS px on screen at a
    1280-px-wide window: the font size times the SVG's viewBox scale, as Chromium lays it out."""
    probe = tmp_path / "probe.html"
    probe.write_text(report_run.html.read_text().replace("</body>", FONT_PROBE))
    proc = headless(probe, tmp_path / "profile", "--window-size=1280,2400", "--dump-dom")
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = DomIndex()
    dom.feed(proc.stdout)
    body = next(n for n in dom.nodes if n.tag == "body")
    assert int(body.attrs["data-text-count"]) > 20
    assert float(body.attrs["data-min-font-px"]) >= 12 - 1e-6, body.attrs["data-min-font-px"]


def test_names_are_escaped_in_charts_and_page() -> None:
    """A customer or product named like markup stays text: pygal writes XML-escaped text and
    the page template autoescapes."""
    hostile = '</svg><script>alert("x")</script>'
    svg = report_charts.customer_margin(
        [report_charts.Bar("c1", hostile, Decimal("-0.5"), hostile)], lambda r: f"{r:.0%}"
    )
    assert "<script>" not in svg and "&lt;/svg&gt;" in svg
    page = report._templates().from_string("<p>{{ name }}</p>").render(name=hostile)
    assert "<script>" not in page


# --------------------------------------------------------------------------- assumptions


def test_committed_assumptions_docs_are_current(built_sample: Path, marts: Marts, tmp_path: Path):
    target = tmp_path / "assumptions.md"
    proc = run_cli("assumptions", "--db", str(built_sample), "--write-docs", str(target))
    assert proc.returncode == 0, proc.stderr
    assert target.read_text() == COMMITTED_DOCS.read_text(), (
        f"{report.DOCS_PATH} is stale: regenerate it with "
        f"`python -m ingest assumptions --write-docs {report.DOCS_PATH}` on a fresh build"
    )
    committed = COMMITTED_DOCS.read_text()
    assert committed.startswith("{% docs allocation_assumptions %}\nGenerated by `python -m")
    assert committed.endswith("{% enddocs %}\n")
    for assumption_id, _, subject, source, statement in marts.assumptions:
        text = report.escape_jinja(report.markdown_escape(statement))
        assert text in committed, assumption_id
        assert f"(`{source}`: {report.escape_jinja(report.markdown_escape(subject))})" in (
            committed
        ), assumption_id

    printed = run_cli("assumptions", "--db", str(built_sample))
    assert printed.returncode == 0, printed.stderr
    topics = {a[1] for a in marts.assumptions}
    assert printed.stdout.count("\n### ") + printed.stdout.startswith("### ") == len(topics)
    assert printed.stdout.count("\n- ") == len(marts.assumptions)


def test_docs_block_survives_dbt_jinja() -> None:
    """dbt renders docs blocks with Jinja: braces in a statement must come out unchanged."""
    from dbt.clients.jinja import get_rendered
    from dbt_common.clients.jinja import extract_toplevel_blocks

    tricky = "Split {{ by }} {% weight %} {# not a comment #} {{{ and a lone { brace }"
    rows = [report.Assumption("t:x", 1, "t", "x", "seeds/x.csv", 0, tricky, "because {%")]
    block_file = report.assumptions_docs_block(rows)
    blocks = [
        b
        for b in extract_toplevel_blocks(block_file, allowed_blocks={"docs"})
        if getattr(b, "block_type_name", None) == "docs"
    ]
    assert len(blocks) == 1 and blocks[0].block_name == report.DOCS_BLOCK
    rendered = get_rendered(blocks[0].contents, {})
    assert report.markdown_escape(tricky) in rendered and "because {%" in rendered

    committed = [
        b
        for b in extract_toplevel_blocks(COMMITTED_DOCS.read_text(), allowed_blocks={"docs"})
        if getattr(b, "block_type_name", None) == "docs"
    ]
    assert [b.block_name for b in committed] == [report.DOCS_BLOCK]


def test_report_json_carries_the_marts_numbers_exactly(
    built_sample: Path, marts: Marts, tmp_path: Path
) -> None:
    proc = run_cli(
        "report", "--db", str(built_sample), "--json", "--html", str(tmp_path / "r.html")
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert (doc["month"], doc["currency"]) == (marts.month.isoformat(), marts.currency)
    assert (tmp_path / "r.html").exists() and doc["html"] == str(tmp_path / "r.html")
    products = {p["product"]: Decimal(p["total_cost"]) for p in doc["products"]}
    assert products == {k: Decimal(v[2]) for k, v in marts.products.items()}
    assert Decimal(doc["product_cost"]) == sum(products.values())
    assert Decimal(doc["unallocated_cost"]) == Decimal(doc["total_cost"]) - sum(products.values())


def test_the_report_exposure_lists_every_mart_the_report_reads() -> None:
    """dbt's lineage (dbt ls --select +exposure:growth_review_report) shows what the report
    needs: the exposure's refs are exactly the tables report.py reads."""
    import yaml

    [exposure] = yaml.safe_load((PROJECT_DIR / "models" / "marts" / "_exposures.yml").read_text())[
        "exposures"
    ]
    refs = {re.fullmatch(r"ref\('(\w+)'\)", d).group(1) for d in exposure["depends_on"]}
    assert refs == {*report.REQUIRED_TABLES, *report.OPTIONAL_TABLES}
