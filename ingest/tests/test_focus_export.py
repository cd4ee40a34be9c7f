"""`ingest export-focus`: the allocation as a FOCUS 1.3 dataset, and the mart's Allocated* columns.

Built on the bundled sample (conftest ``built_sample``); the export is checked by our own sums
and by an independent validator, focus-data-toolkit (pinned in requirements.lock).
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from focus_data_toolkit.model.validator import lint_focus_1_4_structure
from focus_data_toolkit.schema.registry import mandatory_columns
from focus_data_toolkit.validate.allocation import validate_split_allocation

from ingest.focus_export import CSV_NAME, PARQUET_NAME
from ingest.tests.conftest import ingest_cli

FOCUS_TOOLKIT = Path(sys.executable).parent / "focus-toolkit"


@pytest.fixture(scope="module")
def export_dir(built_sample: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("focus") / "export"
    done = ingest_cli(built_sample, "export-focus", str(out))
    assert done.returncode == 0, done.stderr
    assert "allocated charges" in done.stdout
    return out


@pytest.fixture(scope="module")
def con(built_sample: Path, export_dir: Path) -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    c.execute(f"attach '{built_sample}' as wh (read_only)")
    c.execute(f"create view focus as select * from '{export_dir / PARQUET_NAME}'")
    yield c
    c.close()


def test_ratios_sum_to_one_and_amounts_to_each_origin(con: duckdb.DuckDBPyConnection) -> None:
    per_origin = con.execute(
        """
        select
            x_SplitOriginId,
            sum(cast(json_extract(AllocatedMethodDetails, '$.Elements[0].AllocatedRatio')
                as double)) as ratio,
            sum(BilledCost) - any_value(x_SplitOriginCost) as billed_gap,
            sum(EffectiveCost) - any_value(x_SplitOriginEffectiveCost) as effective_gap,
            sum(ListCost) - any_value(x_SplitOriginListCost) as list_gap,
            sum(ContractedCost) - any_value(x_SplitOriginContractedCost) as contracted_gap,
            count(distinct x_SplitOriginCost) as origin_values,
            count(*) filter (where json_array_length(AllocatedMethodDetails, '$.Elements') <> 1)
                as multi_element_rows
        from focus
        group by x_SplitOriginId
        """
    ).fetchall()
    assert len(per_origin) > 1000
    for origin, ratio, billed, effective, listed, contracted, origin_values, multi in per_origin:
        assert abs(ratio - 1) < 1e-9, origin
        # exact, not just to the cent
        assert billed == effective == listed == contracted == 0, origin
        assert origin_values == 1 and multi == 0, origin
    # the origins of a source add up to the source, so nothing of a source is lost
    gaps = con.execute(
        """
        with origins as (
            select x_SourceKey, x_SplitOriginId, any_value(x_SplitOriginCost) as billed
            from focus group by all
        )
        select count(*) from (
            select x_SourceKey, sum(billed) as billed from origins group by 1
        ) as o
        inner join (
            select distinct source_key, source_billed_cost from wh.marts.fct_cost_allocation
        ) as s on o.x_SourceKey = s.source_key
        where o.billed <> s.source_billed_cost
        """
    ).fetchone()[0]
    assert gaps == 0


def test_export_totals_tie_to_the_allocation_mart(con: duckdb.DuckDBPyConnection) -> None:
    rows = con.execute(
        """
        with mart as (
            select billing_period, billing_account_id, billing_currency,
                sum(allocated_billed_cost) as billed, sum(allocated_effective_cost) as effective,
                count(*) as n
            from wh.marts.fct_cost_allocation group by all
        ),
        export as (
            select cast(BillingPeriodStart as date) as billing_period,
                BillingAccountId as billing_account_id, BillingCurrency as billing_currency,
                sum(BilledCost) as billed, sum(EffectiveCost) as effective,
                count(distinct x_AllocationKey) as n
            from focus group by all
        ),
        lines as (
            select l.billing_period, l.billing_account_id, l.billing_currency,
                sum(coalesce(f.list_cost, f.billed_cost)) as list_cost
            from wh.intermediate.int_allocation__lines as l
            inner join wh.marts.fct_cost_line_items as f on l.cost_line_key = f.cost_line_key
            group by all
        ),
        export_list as (
            select cast(BillingPeriodStart as date) as billing_period,
                BillingAccountId as billing_account_id, BillingCurrency as billing_currency,
                sum(ListCost) as list_cost
            from focus group by all
        )
        select mart.*, export.billed, export.effective, export.n, lines.list_cost,
            export_list.list_cost
        from mart
        full join export using (billing_period, billing_account_id, billing_currency)
        full join lines using (billing_period, billing_account_id, billing_currency)
        full join export_list using (billing_period, billing_account_id, billing_currency)
        """
    ).fetchall()
    assert len(rows) >= 3
    for period, account, currency, billed, effective, n, x_billed, x_eff, x_n, lst, x_lst in rows:
        key = (period, account, currency)
        assert x_billed == billed and x_eff == effective, key
        assert x_n == n, key  # every mart row is in the export
        assert x_lst == lst, key


def _mart_row(con: duckdb.DuckDBPyConnection, where: str) -> dict[str, object]:
    cur = con.execute(
        f"select * from wh.marts.fct_cost_allocation where {where} order by allocation_key limit 1"
    )
    names = [d[0] for d in cur.description]
    row = cur.fetchone()
    assert row is not None, where
    return dict(zip(names, row, strict=True))


def test_mart_allocated_columns_for_direct_pool_and_unallocated_rows(
    con: duckdb.DuckDBPyConnection,
) -> None:
    direct = _mart_row(con, "method = 'direct' and customer_id is not null and team is not null")
    details = json.loads(direct["allocated_method_details"])["Elements"]
    assert len(details) == 1
    assert details[0]["AllocatedRatio"] == pytest.approx(direct["share"], abs=1e-12)
    assert details[0]["x_Method"] == "direct"
    assert "UsageUnit" not in details[0] and "UsageQuantity" not in details[0]
    assert direct["allocated_method_id"] == direct["rule_id"]
    assert direct["allocated_resource_id"] == (
        f"product/{direct['product']}/customer/{direct['customer_id']}"
    )
    assert direct["allocated_resource_name"] == f"{direct['product']} / {direct['customer_id']}"
    tags = json.loads(direct["allocated_tags"])
    expected = {
        f"cost-to-serve/{k}": direct[k]
        for k in ("product", "customer_id", "team", "feature_id", "environment")
        if direct[k] is not None
    }
    assert tags == expected

    pool = _mart_row(con, "method = 'driver' and not is_unallocated and driver_quantity > 0")
    element = json.loads(pool["allocated_method_details"])["Elements"][0]
    assert element["AllocatedRatio"] == pytest.approx(pool["share"], abs=1e-12)
    assert element["UsageUnit"] == pool["driver_name"]
    assert element["UsageQuantity"] == pytest.approx(pool["driver_quantity"], abs=1e-6)
    assert element["x_ProductShare"] == pytest.approx(pool["product_share"], abs=1e-12)
    assert element["x_ShareBasis"] == pool["share_basis"]
    assert pool["allocated_method_id"] == pool["rule_id"]  # the pool id
    assert pool["allocated_resource_id"].startswith(f"product/{pool['product']}")

    untagged = _mart_row(con, "unallocated_reason = 'untagged'")
    element = json.loads(untagged["allocated_method_details"])["Elements"][0]
    assert element == {
        "AllocatedRatio": 1,
        "x_Method": "residual",
        "x_ProductShare": 1,
        "x_CustomerShare": 1,
    }
    assert untagged["allocated_method_id"] == "untagged"
    assert untagged["allocated_resource_id"] == "unallocated/untagged"
    assert untagged["allocated_resource_name"] == "Unallocated (untagged)"
    assert "cost-to-serve/product" not in json.loads(untagged["allocated_tags"])

    # over the whole mart: valid JSON, ratios sum to 1 per source, targets unique per source
    bad = con.execute(
        """
        select count(*) from (
            select source_key,
                sum(cast(json_extract(allocated_method_details, '$.Elements[0].AllocatedRatio')
                    as double)) as ratio,
                count(*) - count(distinct allocated_resource_id) as duplicates,
                count(*) filter (where not json_valid(allocated_tags)) as bad_tags
            from wh.marts.fct_cost_allocation group by 1
        ) where abs(ratio - 1) > 1e-9 or duplicates > 0 or bad_tags > 0
        """
    ).fetchone()[0]
    assert bad == 0


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def test_an_independent_focus_validator_passes_the_export(export_dir: Path, tmp_path: Path) -> None:
    export = export_dir / CSV_NAME
    detect = subprocess.run(
        [FOCUS_TOOLKIT, "detect", export, "--dataset", "cost-and-usage", "--version", "1.3",
         "--format", "json"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    found = json.loads(detect.stdout)
    assert (found["dataset"], found["detected_version"]) == ("Cost and Usage", "1.3")
    assert not set(found["missing_columns"]) & mandatory_columns("Cost and Usage", "1.3")
    assert found["unknown_columns"] == []
    assert "AllocatedMethodDetails" not in found["missing_columns"]

    rows = _csv_rows(export)
    assert validate_split_allocation(rows) == []

    # FOCUS: a Credit's or Tax's EffectiveCost equals its BilledCost. A bill that breaks this
    # (the public FOCUS sample has a credit billed -2.6137, effective -3.00) is exported as
    # billed: such an origin's own totals differ, and the lint flags its rows and nothing else.
    from_the_bill = {
        i
        for i, r in enumerate(rows)
        if r["ChargeCategory"] in ("Credit", "Tax")
        and Decimal(r["x_SplitOriginCost"]) != Decimal(r["x_SplitOriginEffectiveCost"])
    }
    report = lint_focus_1_4_structure("Cost and Usage", rows)
    flagged = {
        ("effective_cost_differs_from_billed", i)  # row_index counts from 0
        for i in from_the_bill
        if Decimal(rows[i]["BilledCost"]) != Decimal(rows[i]["EffectiveCost"])
    }
    assert {(v.rule, v.row_index) for v in report.violations} == flagged
    clean = tmp_path / CSV_NAME
    with clean.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(r for i, r in enumerate(rows) if i not in from_the_bill)
    lint = subprocess.run(
        [FOCUS_TOOLKIT, "validate", clean, "--dataset", "cost-and-usage"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert "lint OK" in lint.stdout

    # the validator is not vacuous: a cent moved, or a ratio changed, fails it
    moved = [dict(r) for r in rows]
    moved[0]["BilledCost"] = str(Decimal(moved[0]["BilledCost"]) + Decimal("0.02"))
    assert {d.code for d in validate_split_allocation(moved)} == {"FDT-ALLOC-002"}
    details = json.loads(rows[0]["AllocatedMethodDetails"])
    ratio = details["Elements"][0]["AllocatedRatio"]
    details["Elements"][0]["AllocatedRatio"] = ratio + 0.3 if ratio <= 0.7 else ratio - 0.3
    skewed = [dict(r) for r in rows]
    skewed[0]["AllocatedMethodDetails"] = json.dumps(details)
    assert "FDT-ALLOC-001" in {d.code for d in validate_split_allocation(skewed)}


def test_one_billing_period(built_sample: Path, con: duckdb.DuckDBPyConnection, tmp_path: Path):
    month, billed = con.execute(
        "select billing_period, sum(allocated_billed_cost) from wh.marts.fct_cost_allocation "
        "group by 1 order by 1 desc limit 1"
    ).fetchone()
    done = ingest_cli(built_sample, "export-focus", str(tmp_path), "--month", f"{month:%Y-%m}")
    assert done.returncode == 0, done.stderr
    periods = con.execute(
        f"select distinct cast(BillingPeriodStart as date), sum(BilledCost) "
        f"from '{tmp_path / PARQUET_NAME}' group by 1"
    ).fetchall()
    assert periods == [(month, billed)]
    header = (tmp_path / CSV_NAME).read_text().splitlines()[1].split(",")
    assert header[0] == f"{month:%Y-%m}-01T00:00:00Z"  # FOCUS Date/Time text


def test_clear_errors_and_nothing_written(built_sample: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    missing = ingest_cli(tmp_path / "nowhere.duckdb", "export-focus", str(out))
    assert missing.returncode == 1 and "does not exist" in missing.stderr
    assert not (tmp_path / "nowhere.duckdb").exists()

    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    unbuilt = ingest_cli(empty, "export-focus", str(out))
    assert unbuilt.returncode == 1 and "not built" in unbuilt.stderr

    no_month = ingest_cli(built_sample, "export-focus", str(out), "--month", "1999-01")
    assert no_month.returncode == 1
    assert "no allocation for billing period 1999-01" in no_month.stderr
    assert "billing periods there: " in no_month.stderr

    bad_month = ingest_cli(built_sample, "export-focus", str(out), "--month", "2026-13")
    assert bad_month.returncode == 2 and "YYYY-MM" in bad_month.stderr

    a_file = tmp_path / "a_file"
    a_file.write_text("not a folder")
    not_dir = ingest_cli(built_sample, "export-focus", str(a_file))
    assert not_dir.returncode == 1 and "is a file, not a folder" in not_dir.stderr
    assert a_file.read_text() == "not a folder"
    assert not out.exists()


def test_the_focus_toolkit_is_pinned() -> None:
    lock = (Path(__file__).resolve().parents[2] / "requirements.lock").read_text().splitlines()
    assert "focus-data-toolkit==0.14.1" in lock
    assert shutil.which(str(FOCUS_TOOLKIT)), "run `make setup`: focus-toolkit is not installed"
