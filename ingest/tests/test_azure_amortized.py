"""Azure actual and amortized cost exports of one period, loaded side by side.

Billed cost comes from the actual export (the invoice: the reservation's upfront purchase, the
usage it covers at 0), effective cost from the amortized export (covered usage at its share of
the purchase, the unused part as UnusedReservation); neither is counted twice, and the
commitment marts see the Azure reservation.
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
    "BillingAccountId,BillingPeriodStartDate,BillingPeriodEndDate,Date,SubscriptionId,"
    "ResourceId,MeterCategory,ConsumedService,Quantity,PayGPrice,CostInBillingCurrency,"
    "BillingCurrencyCode,ChargeType,PricingModel,ReservationId,ReservationName,Tags"
)
RI = "/providers/Microsoft.Capacity/reservationOrders/o1/reservations/r1"
VM1 = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm-1"
VM2 = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm-2"


def row(date: str, resource: str, qty: str, payg: str, cost: str, charge: str, model: str,
        reservation: str = "") -> str:  # fmt: skip
    return (
        f"ba-1,9/1/2026,9/30/2026,{date},s1,{resource},Virtual Machines,Microsoft.Compute,"
        f"{qty},{payg},{cost},USD,{charge},{model},{reservation},{'ri-1' if reservation else ''},"
    )


# The invoice: a one-year reservation bought upfront (360.00), the usage it covers at 0, an
# on-demand VM and a refund. 360.00 + 0 + 12.50 - 1.00
ACTUAL = [
    row("9/1/2026", "", "1", "", "360.00", "Purchase", "Reservation", RI),
    row("9/2/2026", VM1, "10", "4", "0", "Usage", "Reservation", RI),
    row("9/2/2026", VM2, "5", "2.5", "12.50", "Usage", "OnDemand"),
    row("9/4/2026", VM2, "0", "", "-1.00", "Refund", "OnDemand"),
]
ACTUAL_TOTAL = Decimal("371.50")
# The same month amortized: the month's 30.00 of the reservation is 24.00 on the usage it
# covered and 6.00 unused; the purchase row is absent. 24.00 + 6.00 + 12.50 - 1.00
AMORTIZED = [
    row("9/2/2026", VM1, "10", "4", "24.00", "Usage", "Reservation", RI),
    row("9/3/2026", "", "0", "", "6.00", "UnusedReservation", "Reservation", RI),
    row("9/2/2026", VM2, "5", "2.5", "12.50", "Usage", "OnDemand"),
    row("9/4/2026", VM2, "0", "", "-1.00", "Refund", "OnDemand"),
]
AMORTIZED_TOTAL = Decimal("41.50")


def write(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    return path


def cli_load(path: Path, db: Path, *extra: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "ingest", "azure", str(path), "--db", str(db), "--quiet", *extra],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def build(db: Path) -> None:
    done = run_dbt(db, "build", capture=True)
    assert done.returncode == 0, done.stdout[-5000:]


def query(db: Path, sql: str) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def azure_totals(db: Path) -> tuple[Decimal, Decimal]:
    ((billed, effective),) = query(
        db,
        "select sum(billed_cost), sum(effective_cost) from marts.fct_cost_line_items "
        "where source_system = 'azure'",
    )
    return billed, effective


@pytest.fixture(scope="module")
def paired(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("azure-paired")
    db = tmp / "w.duckdb"
    cli_load(write(tmp / "actual.csv", ACTUAL), db)
    cli_load(write(tmp / "amortized.csv", AMORTIZED), db)
    build(db)
    return db


def test_both_bases_land_side_by_side(paired: Path) -> None:
    rows = query(
        paired,
        "select _export_name, _cost_basis, count(*), sum(cost_in_billing_currency) "
        "from raw.azure_cost_details group by all order by 1",
    )
    assert rows == [
        ("azure", "actual", 4, ACTUAL_TOTAL),
        ("azure-amortized", "amortized", 4, AMORTIZED_TOTAL),
    ]


def test_billed_is_the_invoice_effective_the_amortized_total(paired: Path) -> None:
    assert azure_totals(paired) == (ACTUAL_TOTAL, AMORTIZED_TOTAL)
    ((billed, effective),) = query(
        paired,
        "select sum(allocated_billed_cost), sum(allocated_effective_cost) "
        "from marts.fct_cost_allocation where billing_account_id = 'ba-1' "
        "and billing_period = date '2026-09-01'",
    )
    assert (billed, effective) == (ACTUAL_TOTAL, AMORTIZED_TOTAL)
    # usage quantity and list cost are counted once, on the amortized twin
    ((quantity, list_cost),) = query(
        paired,
        "select sum(consumed_quantity), sum(list_cost) from marts.fct_cost_line_items "
        "where source_system = 'azure'",
    )
    assert (quantity, list_cost) == (15, Decimal("52.50"))


def test_commitment_marts_see_the_reservation(paired: Path) -> None:
    utilization = query(
        paired,
        "select commitment_type, total_commitment_cost, used_commitment_cost, "
        "unused_commitment_cost from marts.fct_commitment_utilization_monthly "
        "where billing_account_id = 'ba-1'",
    )
    assert utilization == [
        ("reserved_instance", Decimal("30.00"), Decimal("24.00"), Decimal("6.00"))
    ]
    ((covered,),) = query(
        paired,
        "select sum(covered_effective_cost) from marts.fct_commitment_coverage_monthly "
        "where billing_account_id = 'ba-1'",
    )
    assert covered == Decimal("24.00")
    ((unused,),) = query(
        paired,
        "select sum(allocated_effective_cost) from marts.fct_cost_allocation "
        "where unallocated_reason = 'unused_commitment' and billing_account_id = 'ba-1'",
    )
    assert unused == Decimal("6.00")


def test_amortized_only_is_billed_as_stated_never_doubled(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    out = cli_load(write(tmp_path / "amortized.csv", AMORTIZED), db)
    assert "azure-amortized" in out
    build(db)
    assert azure_totals(db) == (AMORTIZED_TOTAL, AMORTIZED_TOTAL)


def test_declared_basis_wins(tmp_path: Path) -> None:
    """--cost-basis overrides detection (an amortized month with no commitment looks actual)."""
    db = tmp_path / "w.duckdb"
    on_demand = [ACTUAL[2]]
    cli_load(write(tmp_path / "a.csv", on_demand), db)
    cli_load(write(tmp_path / "b.csv", on_demand), db, "--cost-basis", "amortized")
    assert query(db, "select _export_name, _cost_basis from raw.azure_cost_details order by 1") == [
        ("azure", "actual"),
        ("azure-amortized", "amortized"),
    ]


def test_real_ea_sample_still_ties(shared_data: Path, tmp_path: Path) -> None:
    sample = (
        shared_data
        / "other_providers/focus_converters_azure_sample-anonymous-ea-export-dataset.csv"
    )
    db = tmp_path / "w.duckdb"
    cli_load(sample, db)
    build(db)
    ((raw_total, basis),) = query(
        db, "select sum(cost_in_billing_currency), max(_cost_basis) from raw.azure_cost_details"
    )
    assert basis == "actual"
    assert azure_totals(db) == (raw_total, raw_total)
