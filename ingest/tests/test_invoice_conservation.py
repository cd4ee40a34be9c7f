"""The allocation ties to each invoice (billing period × account × currency), not only to each
usage month: a November bill carrying a July refund, a 2019 credit and a line dated 5 December
is allocated to the cent as the November bill, whatever the usage dates of its lines.
"""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from ingest.demo import run_dbt
from ingest.tests.conftest import PROJECT_DIR

HEADER = (
    "identity/LineItemId,identity/TimeInterval,bill/PayerAccountId,bill/BillingPeriodStartDate,"
    "lineItem/UsageAccountId,lineItem/LineItemType,lineItem/UsageStartDate,lineItem/ProductCode,"
    "lineItem/CurrencyCode,lineItem/UnblendedCost"
)

# (line id, payer, billing period, line type, usage day, cost)
LINES = [
    # November bill of payer 111: usage, a July refund, a 2019 credit, late usage dated
    # 5 December, tax
    ("n1", "111111111111", "2026-11", "Usage", "2026-11-10", "100.00"),
    ("n2", "111111111111", "2026-11", "Refund", "2026-07-15", "-12.34"),
    ("n3", "111111111111", "2026-11", "Credit", "2019-03-01", "-5.55"),
    ("n4", "111111111111", "2026-11", "Usage", "2026-12-05", "7.77"),
    ("n5", "111111111111", "2026-11", "Tax", "2026-11-01", "8.01"),
    # October bill of the same payer with a line dated in November: the usage month November
    # then mixes two bills
    ("o1", "111111111111", "2026-10", "Usage", "2026-10-05", "20.00"),
    ("o2", "111111111111", "2026-10", "Usage", "2026-11-02", "3.33"),
    # a second payer's November bill with an October refund
    ("m1", "222222222222", "2026-11", "Usage", "2026-11-03", "50.00"),
    ("m2", "222222222222", "2026-11", "Refund", "2026-10-20", "-1.01"),
]

EXPECTED = {
    ("2026-11-01", "111111111111", "USD"): Decimal("97.89"),
    ("2026-10-01", "111111111111", "USD"): Decimal("23.33"),
    ("2026-11-01", "222222222222", "USD"): Decimal("48.99"),
}


def write_cur(path: Path) -> Path:
    rows = [HEADER]
    for line_id, payer, period, kind, day, cost in LINES:
        start = f"{day}T00:00:00Z"
        interval = f"{start}/{day}T01:00:00Z"
        rows.append(
            f"{line_id},{interval},{payer},{period}-01T00:00:00Z,{payer},{kind},{start},"
            f"AmazonEC2,USD,{cost}"
        )
    path.write_text("\n".join(rows) + "\n")
    return path


def per_bill(db: Path, table: str, column: str) -> dict[tuple[str, str, str], Decimal]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute(
            f"select cast(billing_period as varchar), billing_account_id, billing_currency, "
            f"sum({column}) from {table} group by all"
        ).fetchall()
    finally:
        con.close()
    return {(p, a, c): Decimal(v) for p, a, c, v in rows}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("invoice")
    db = tmp / "w.duckdb"
    cur = write_cur(tmp / "bill.csv")
    loaded = subprocess.run(
        [sys.executable, "-m", "ingest", "cur", str(cur), "--db", str(db), "--quiet"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    assert loaded.returncode == 0, loaded.stderr
    build = run_dbt(db, "build", capture=True)
    assert build.returncode == 0, build.stdout[-4000:]
    return db


def test_allocation_equals_each_bill_to_the_cent(built: Path) -> None:
    assert per_bill(built, "marts.fct_cost_line_items", "billed_cost") == EXPECTED
    assert per_bill(built, "marts.fct_cost_allocation", "allocated_billed_cost") == EXPECTED
    # effective = billed here (no commitments): the same per bill
    assert per_bill(built, "marts.fct_cost_allocation", "allocated_effective_cost") == EXPECTED


def test_usage_months_differ_from_bills(built: Path) -> None:
    """The case is real: per usage month the totals are not the invoices' totals."""
    con = duckdb.connect(str(built), read_only=True)
    try:
        months = dict(
            con.execute(
                "select cast(cost_month as varchar), sum(allocated_billed_cost) "
                "from marts.fct_cost_allocation group by 1"
            ).fetchall()
        )
    finally:
        con.close()
    assert months["2026-11-01"] == Decimal("100.00") + Decimal("8.01") + Decimal("3.33") + 50
    assert set(months) == {
        "2019-03-01",
        "2026-07-01",
        "2026-10-01",
        "2026-11-01",
        "2026-12-01",
    }


def test_invoice_test_catches_allocation_booked_by_usage_month(built: Path, tmp_path: Path) -> None:
    """Re-book the allocation to its usage month (what allocation by charge date alone gives):
    the per-month conservation test still passes, the per-invoice test fails."""
    broken = tmp_path / "broken.duckdb"
    broken.write_bytes(built.read_bytes())
    con = duckdb.connect(str(broken))
    con.execute("update marts.fct_cost_allocation set billing_period = cost_month")
    con.close()
    month_test = run_dbt(broken, "test", "--select", "assert_allocation_conserves_cost")
    assert month_test.returncode == 0
    invoice_test = run_dbt(
        broken, "test", "--select", "assert_allocation_ties_to_invoices", capture=True
    )
    assert invoice_test.returncode != 0, invoice_test.stdout[-2000:]
    assert "assert_allocation_ties_to_invoices" in invoice_test.stdout
