"""The report's team budgets against the month-end forecast.

The built sample's last day closes its month (forecast = actual), so the warehouse is copied and
its forecast models re-run as of mid-October (var forecast.as_of_date): the report must then
show each team's forecast and "on track to exceed by …" / "within budget" exactly as
fct_team_showback_monthly says.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import pytest

from ingest import report
from ingest.demo import run_dbt
from ingest.tests.conftest import ingest_cli

AS_OF = "2026-10-14"
MONTH = "2026-10"


def to_cent(value: Decimal) -> str:
    """The report's money text: 1,234.57 with a true minus sign."""
    return report.money(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Team:
    team: str
    total_cost: Decimal
    budget: Decimal | None
    forecast_cost: Decimal | None
    forecast_high_cost: Decimal | None
    forecast_over_budget: Decimal | None
    budget_status: str | None


@pytest.fixture(scope="module")
def mid_month(built_sample: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("forecast") / "warehouse.duckdb"
    shutil.copy(built_sample, db)
    proc = run_dbt(
        db,
        "run",
        "--select",
        "int_forecast__as_of_dates+",
        "--vars",
        json.dumps({"forecast": {"as_of_date": AS_OF}}),
        capture=True,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return db


@pytest.fixture(scope="module")
def teams(mid_month: Path) -> dict[str, Team]:
    con = duckdb.connect(str(mid_month), read_only=True)
    try:
        rows = con.execute(
            """
            select team, total_cost, budget, forecast_cost, forecast_high_cost,
                   forecast_over_budget, budget_status
            from marts.fct_team_showback_monthly
            where cost_month = ? and billing_currency = 'USD'
            """,
            [f"{MONTH}-01"],
        ).fetchall()
    finally:
        con.close()
    return {r[0]: Team(*r) for r in rows}


def expected_status(t: Team) -> str:
    if t.budget is None:
        return "no budget"
    if t.budget_status == "over_budget":
        return f"OVER by {to_cent(t.total_cost - t.budget)}"
    if t.budget_status == "on_track_to_exceed":
        assert t.forecast_over_budget is not None
        return f"on track to exceed by {to_cent(t.forecast_over_budget)}"
    if t.budget_status == "may_exceed":
        assert t.forecast_high_cost is not None
        return f"within budget, band up to {to_cent(t.forecast_high_cost)}"
    assert t.budget_status == "within_budget" and t.forecast_cost is not None
    return f"within budget (forecast {to_cent(t.forecast_cost)})"


def test_the_mid_month_forecast_extrapolates(mid_month: Path, teams: dict[str, Team]) -> None:
    con = duckdb.connect(str(mid_month), read_only=True)
    try:
        rows = con.execute(
            """
            select level_value, days_remaining, month_to_date_cost, forecast_cost
            from marts.fct_cost_forecast_monthly
            where level = 'team' and billing_currency = 'USD'
            """
        ).fetchall()
    finally:
        con.close()
    assert {r[0] for r in rows} == set(teams)
    for team, days_remaining, to_date, forecast in rows:
        assert days_remaining == 17, team
        assert forecast > to_date, f"{team}: 17 more days of cost must add to {to_date}"
        assert teams[team].forecast_cost == forecast, team
    budgeted = [t for t in teams.values() if t.budget is not None]
    assert budgeted and all(t.forecast_cost is not None for t in budgeted)


def test_console_shows_forecast_and_budget_status(
    mid_month: Path, teams: dict[str, Team], tmp_path: Path
) -> None:
    proc = ingest_cli(
        mid_month,
        "report",
        "--month",
        MONTH,
        "--currency",
        "USD",
        "--html",
        str(tmp_path / "r.html"),
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("team budgets"))
    header = re.split(r"\s{2,}", lines[start + 1].strip())
    assert header == ["team", "cost", "forecast", "budget", "used", "status"]
    shown = {}
    for line in lines[start + 2 :]:
        if not line.strip():
            break
        row = re.split(r"\s{2,}", line.strip())
        shown[row[0]] = row
    assert set(shown) == set(teams)
    for name, t in teams.items():
        row = shown[name]
        forecast = "—" if t.forecast_cost is None else to_cent(t.forecast_cost)
        assert row[2] == forecast, name
        assert row[5] == expected_status(t), name


def test_html_and_json_carry_the_marts_forecast_exactly(
    mid_month: Path, teams: dict[str, Team], tmp_path: Path
) -> None:
    html = tmp_path / "r.html"
    proc = ingest_cli(
        mid_month, "report", "--month", MONTH, "--currency", "USD", "--html", str(html), "--json"
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    by_team = {t["team"]: t for t in doc["teams"]}
    for name, t in teams.items():
        got = by_team[name]["forecast_cost"]
        assert (None if got is None else Decimal(got)) == t.forecast_cost, name
        assert by_team[name]["budget_status"] == t.budget_status, name

    page = html.read_text()
    for name, t in teams.items():
        row = re.search(rf'<tr data-team="{re.escape(name)}">.*?</tr>', page, re.S)
        assert row, name
        cell = re.search(r'data-field="forecast_cost"[^>]*data-value="([^"]*)"', row.group(0))
        assert cell, name
        assert cell.group(1) == ("" if t.forecast_cost is None else str(t.forecast_cost)), name
        status = re.search(r'data-field="status"[^>]*>([^<]*)</td>', row.group(0))
        assert status and status.group(1) == expected_status(t), name


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("on_track_to_exceed", "on track to exceed by 150.00"),
        ("may_exceed", "within budget, band up to 1,080.00"),
        ("within_budget", "within budget (forecast 1,150.00)"),
    ],
)
def test_status_text_follows_the_marts_budget_status(status: str, expected: str) -> None:
    row = report.TeamRow(
        team="a",
        team_cost=Decimal("400"),
        budget=Decimal("1000"),
        budget_remaining=Decimal("600"),
        budget_used=0.4,
        is_over_budget=False,
        forecast_cost=Decimal("1150"),
        forecast_low_cost=Decimal("900"),
        forecast_high_cost=Decimal("1080"),
        forecast_over_budget=Decimal("150"),
        budget_status=status,
    )
    assert report.budget_status_text(row)[0] == expected
