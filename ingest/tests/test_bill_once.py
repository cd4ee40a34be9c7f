"""Each bill counted once: the mechanics behind the delivery-mistakes corpus.

The corpus (test_delivery_mistakes.py) proves the outcome for each realistic mistake; these
tests pin the pieces: which delivery counts (``ingest bills``), ``--replace`` reaching the
incremental marts, the shrink guard's figures, A → B → A on a closed month, and one transaction
for a command that loads several exports.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb

from ingest import sample_data
from ingest.demo import dbt_build, run_dbt
from ingest.tests.conftest import ingest_cli as ingest
from ingest.tests.conftest import snapshot

HEADER = (
    "identity/LineItemId,identity/TimeInterval,bill/InvoiceId,bill/PayerAccountId,"
    "bill/BillingPeriodStartDate,lineItem/LineItemType,lineItem/UsageStartDate,"
    "lineItem/CurrencyCode,lineItem/UnblendedCost,resourceTags/user:product\n"
)


def cur(
    path: Path, lines: list[tuple[str, str]], invoice: str = "", month: str = "2026-08"
) -> Path:
    """A legacy CUR CSV of account 111122223333: one usage line per (id, cost)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        HEADER
        + "".join(
            f"{line_id},{month}-02T00:00:00Z/{month}-03T00:00:00Z,{invoice},111122223333,"
            f"{month}-01T00:00:00Z,Usage,{month}-02T00:00:00Z,USD,{cost},replay\n"
            for line_id, cost in lines
        )
    )
    return path


def billed(db: Path) -> dict[str, float]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute(
            "select strftime(coalesce(_correction_period, _billing_period), '%Y-%m'), "
            "sum(line_item_unblended_cost * _correction_sign) from raw.aws_cur_line_items "
            "group by 1"
        ).fetchall()
    finally:
        con.close()
    return {month: float(total) for month, total in rows}


def test_bills_lists_the_delivery_that_counts(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    assert (
        ingest(db, "cur", str(cur(tmp_path / "a.csv", [("a", "10"), ("b", "5")]))).returncode == 0
    )
    proc = ingest(db, "bills", "--json")
    assert proc.returncode == 0, proc.stderr
    (row,) = json.loads(proc.stdout)
    assert (row["provider"], row["billing_account_id"], row["billing_period"]) == (
        "aws",
        "111122223333",
        "2026-08-01",
    )
    assert (row["source"], row["export_name"], row["lines"], row["currency"]) == (
        "aws_cur",
        "cur",
        2,
        "USD",
    )
    assert float(row["billed_cost"]) == 15.0
    table = ingest(db, "bills").stdout
    assert "AWS" in table and "2026-08" in table and "15.00" in table


def test_same_bill_under_another_export_is_refused_then_replaced(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    bill = cur(tmp_path / "a.csv", [("a", "10"), ("b", "5")])
    assert ingest(db, "cur", str(bill), "--export", "first").returncode == 0
    con = duckdb.connect(str(db))
    before = snapshot(con)
    con.close()
    again = ingest(db, "cur", str(bill), "--export", "second", "--quiet")
    assert again.returncode == 1
    assert again.stderr.startswith(
        "error: AWS billing account 111122223333, billing period 2026-08 is already loaded "
        "from aws_cur export 'first'"
    )
    assert "--replace" in again.stderr and len(again.stderr.strip().splitlines()) == 1
    con = duckdb.connect(str(db))
    assert snapshot(con) == before
    con.close()
    taken = ingest(db, "cur", str(bill), "--export", "second", "--replace", "--quiet")
    assert taken.returncode == 0, taken.stderr
    assert "replaced aws_cur export 'first': AWS 2026-08 account 111122223333" in taken.stdout
    assert billed(db) == {"2026-08": 15.0}


def test_shrink_guard_says_what_it_would_remove(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    full = [(f"l{i}", "1.00") for i in range(10)]
    assert ingest(db, "cur", str(cur(tmp_path / "full/cur.csv", full))).returncode == 0
    part = cur(tmp_path / "part/cur.csv", full[:3])
    refused = ingest(db, "cur", str(part), "--quiet")
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        "error: 2026-08 account 111122223333: this delivery has 3 rows (gross cost 3.00) where "
        f"the loaded one (load {_only_load(db)}) has 10 (gross cost 10.00); replacing it would "
        "remove 7 rows (gross cost 7.00). A delivery this much smaller is usually part of one "
        "(a file missing, a download cut short): load the whole delivery, or rerun with "
        "--allow-shrink if the smaller one is right"
    )
    assert billed(db) == {"2026-08": 10.0}
    # A stricter or looser limit is the user's: 30 % of the rows passes a 0.25 limit.
    assert ingest(db, "cur", str(part), "--shrink-limit", "0.25", "--quiet").returncode == 0
    assert billed(db) == {"2026-08": 3.0}


def _only_load(db: Path) -> str:
    con = duckdb.connect(str(db), read_only=True)
    try:
        (load_id,) = con.execute("select distinct _load_id from raw.aws_cur_line_items").fetchone()
    finally:
        con.close()
    return str(load_id)


def test_closed_month_a_b_a_ends_at_a(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    a = [("a", "10"), ("b", "5")]
    cur(tmp_path / "d/cur.csv", a, invoice="INV-1")
    assert ingest(db, "cur", str(tmp_path / "d")).returncode == 0
    cur(tmp_path / "b/cur.csv", [*a, ("c", "100")], invoice="INV-1")
    assert ingest(db, "cur", str(tmp_path / "b/cur.csv"), "--export", "cur").returncode == 0
    assert sum(billed(db).values()) == 115.0
    # A again, the very same file (same name, size and mtime): not "unchanged", diffed back in.
    third = ingest(db, "cur", str(tmp_path / "d"))
    assert third.returncode == 0, third.stderr
    assert "unchanged" not in third.stdout and "corrections appended" in third.stdout
    totals = billed(db)
    assert totals["2026-08"] == 15.0 and sum(totals.values()) == 15.0


def test_one_command_is_one_transaction_across_exports(tmp_path: Path) -> None:
    root = tmp_path / "bucket"
    for export, cost in (("a-export", "1"), ("b-export", "2")):
        data = root / export / "data" / "BILLING_PERIOD=2026-08" / f"{export}-1.csv"
        cur(data, [(f"{export}-1", cost), (f"{export}-2", cost)])
        meta = root / export / "metadata" / "BILLING_PERIOD=2026-08" / f"{export}-Manifest.json"
        meta.parent.mkdir(parents=True)
        meta.write_text(json.dumps({"exportName": export, "dataFiles": [str(data)]}))
    # The second export's file is cut short: nothing of the first may stay committed.
    second = root / "b-export/data/BILLING_PERIOD=2026-08/b-export-1.csv"
    second.write_text(second.read_text().splitlines()[0] + "\nb-line,2026-08-02")
    db = tmp_path / "w.duckdb"
    proc = ingest(db, "cur", str(root), "--quiet")
    assert proc.returncode == 1 and "b-export-1.csv" in proc.stderr
    con = duckdb.connect(str(db))
    assert snapshot(con) == {}  # not even the raw tables the first export created
    con.close()


def test_replace_reaches_the_incremental_marts(tmp_path: Path) -> None:
    """A bill taken over by another export with --replace leaves the old export's partition
    empty; the incremental models must drop it, not keep counting it."""
    sample = tmp_path / "sample"
    sample_data.generate(sample, cur_lines=2_000, months=2)
    db = tmp_path / "w.duckdb"
    assert ingest(db, "cur", str(sample / "cur"), "--quiet").returncode == 0
    for source in ("usage", "revenue", "customers"):
        assert ingest(db, source, str(sample / source), "--quiet").returncode == 0
    assert ingest(db, "query-log", str(sample / "clickhouse"), "--quiet").returncode == 0
    assert dbt_build(db, "--quiet")
    month = next((sample / "cur/saas-cur/data").glob("BILLING_PERIOD=*"))
    copy = tmp_path / "copy" / "bill.parquet"
    copy.parent.mkdir()
    shutil.copy(next(month.glob("*.parquet")), copy)
    taken = ingest(db, "cur", str(copy), "--export", "re-export", "--replace", "--quiet")
    assert taken.returncode == 0, taken.stderr
    assert dbt_build(db, "--quiet")
    con = duckdb.connect(str(db), read_only=True)
    try:
        lines = con.execute(
            "select export_name, count(*), sum(billed_cost) from marts.fct_cost_line_items "
            "where provider = 'AWS' and charge_billing_period = ? group by 1",
            [month.name.split("=")[1] + "-01"],
        ).fetchall()
        raw = con.execute(
            "select count(*), sum(line_item_unblended_cost) from raw.aws_cur_line_items "
            "where _billing_period = ?",
            [month.name.split("=")[1] + "-01"],
        ).fetchone()
    finally:
        con.close()
    assert [(e, n, s) for e, n, s in lines] == [("re-export", raw[0], raw[1])]
    # Whatever writes the raw tables, dbt build refuses a bill counted from two deliveries.
    con = duckdb.connect(str(db))
    con.execute(
        "insert into raw.aws_cur_line_items select * replace ('bypass' as _export_name, "
        "'bypass-load' as _load_id) from raw.aws_cur_line_items where _export_name = 're-export'"
    )
    con.close()
    proc = run_dbt(db, "build", "--select", "+assert_each_bill_counted_once", capture=True)
    assert proc.returncode == 1
    assert "FAIL 1 assert_each_bill_counted_once" in proc.stdout
