"""Restatement, idempotency, closed periods, atomicity and clear errors, on tiny CUR fixtures."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from ingest import aws_cur
from ingest.load.spec import LoadError
from ingest.tests.conftest import PROJECT_DIR, snapshot

HEADER = (
    "identity/LineItemId,bill/InvoiceId,bill/PayerAccountId,bill/BillingPeriodStartDate,"
    "lineItem/LineItemType,lineItem/UsageStartDate,lineItem/ProductCode,"
    "lineItem/CurrencyCode,lineItem/UnblendedCost,resourceTags/user:product\n"
)


def cur_csv(path: Path, rows: list[tuple], invoice: str = "") -> Path:
    """Write a legacy CUR CSV: rows are (id, period 'YYYY-MM', type, cost, product)."""
    lines = [HEADER]
    for line_id, period, kind, cost, product in rows:
        lines.append(
            f"{line_id},{invoice},111122223333,{period}-01T00:00:00Z,{kind},"
            f"{period}-03T00:00:00Z,AmazonEC2,USD,{cost},{product}\n"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(lines))
    return path


def totals(con) -> list[tuple]:
    return con.execute(
        "select strftime(_billing_period, '%Y-%m'), count(*), "
        "sum(line_item_unblended_cost * _correction_sign) "
        "from raw.aws_cur_line_items group by 1 order by 1"
    ).fetchall()


def test_same_export_three_times_is_identical(tmp_path: Path, con) -> None:
    f = cur_csv(
        tmp_path / "cur.csv",
        [("a", "2026-08", "Usage", "10.5", "replay"), ("b", "2026-09", "Usage", "2.25", "")],
    )
    aws_cur.load(con, f)
    first = totals(con)
    aws_cur.load(con, f)
    (again,) = aws_cur.load(con, f, force=True)  # force: really re-read, not skip
    assert again.rows == 2
    assert (
        totals(con)
        == first
        == [("2026-08", 1, pytest.approx(10.5)), ("2026-09", 1, pytest.approx(2.25))]
    )


def test_restated_period_replaces_only_that_period(tmp_path: Path, con) -> None:
    aws_cur.load(
        con,
        cur_csv(
            tmp_path / "v1/cur.csv",
            [("a", "2026-08", "Usage", "10", "x"), ("b", "2026-09", "Usage", "5", "x")],
        ),
    )
    (r,) = aws_cur.load(
        con,
        cur_csv(
            tmp_path / "v2/cur.csv",
            [("a", "2026-09", "Usage", "7", "x"), ("c", "2026-09", "Usage", "1", "y")],
        ),
    )
    assert [(p.billing_period.strftime("%Y-%m"), p.action) for p in r.partitions] == [
        ("2026-09", "replaced")
    ]
    assert totals(con) == [("2026-08", 1, 10), ("2026-09", 2, 8)]


def test_closed_period_gets_corrections_not_rewrites(tmp_path: Path, con) -> None:
    aws_cur.load(
        con,
        cur_csv(
            tmp_path / "v1/cur.csv",
            [("a", "2026-08", "Usage", "10", "x"), ("b", "2026-08", "Usage", "4", "x")],
            invoice="INV-1",
        ),
    )
    # AWS restates the invoiced month: b is now 3, a new refund line appears.
    (r,) = aws_cur.load(
        con,
        cur_csv(
            tmp_path / "v2/cur.csv",
            [
                ("a", "2026-08", "Usage", "10", "x"),
                ("b", "2026-08", "Usage", "3", "x"),
                ("r", "2026-08", "Refund", "-2", ""),
            ],
            invoice="INV-1",
        ),
    )
    assert r.partitions[0].action == "closed: corrections appended"
    originals = con.execute(
        "select count(*), sum(line_item_unblended_cost) from raw.aws_cur_line_items "
        "where not _is_correction"
    ).fetchone()
    assert originals == (2, 14)  # the invoiced lines are untouched
    corrections = con.execute(
        "select line_item_unblended_cost, _correction_sign from raw.aws_cur_line_items "
        "where _is_correction order by 1"
    ).fetchall()
    assert corrections == [(-2, 1), (3, 1), (4, -1)]
    assert totals(con) == [("2026-08", 5, 11)]  # = the new delivery's total
    # loading the same restatement again changes nothing
    aws_cur.load(con, tmp_path / "v2/cur.csv", force=True)
    assert totals(con) == [("2026-08", 5, 11)]


def test_failed_load_leaves_database_unchanged(tmp_path: Path, con) -> None:
    aws_cur.load(con, cur_csv(tmp_path / "ok/cur.csv", [("a", "2026-08", "Usage", "10", "x")]))
    before = snapshot(con)
    folder = tmp_path / "delivery"
    cur_csv(folder / "cur-1.csv", [("n", "2026-08", "Usage", "99", "x")])
    (folder / "cur-2.csv.gz").write_bytes(gzip.compress(HEADER.encode() * 50)[:40])
    with pytest.raises(LoadError, match=r"cur-2\.csv\.gz"):
        aws_cur.load(con, folder)
    assert snapshot(con) == before


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "missing_col.csv",
            "bill/PayerAccountId,lineItem/LineItemType,lineItem/UnblendedCost\n1,Usage,1\n",
            r"missing_col\.csv: required column 'bill_billing_period_start_date' is missing",
        ),
        (
            "bad_number.csv",
            None,
            r"bad_number\.csv: row 2, column 'lineItem/UnblendedCost': "
            r"cannot read 'twelve'",
        ),
        ("bad_date.csv", None, r"bad_date\.csv: row 1, column 'lineItem/UsageStartDate'"),
        (
            "currency.csv",
            None,
            r"currency\.csv: row 1, column 'line_item_currency_code': "
            r"unknown or missing currency \('DOGE'\)",
        ),
        ("empty.csv", "", r"empty\.csv: file is empty"),
        ("header_only.csv", HEADER, r"header_only\.csv: file has a header but no data rows"),
        (
            "dup.csv",
            HEADER.strip() + ",lineItem/UnblendedCost\n",
            r"dup\.csv: duplicate column 'lineItem/UnblendedCost'",
        ),
        ("truncated.parquet", b"PAR1\x00\x01garbage", r"truncated\.parquet: cannot read file"),
    ],
)
def test_bad_input_names_file_and_place(tmp_path: Path, con, name, content, message) -> None:
    aws_cur.load(con, cur_csv(tmp_path / "ok/cur.csv", [("a", "2026-08", "Usage", "10", "x")]))
    before = snapshot(con)
    path = tmp_path / "bad" / name
    if content is None:
        cur_csv(path, [("a", "2026-08", "Usage", "1", "x"), ("b", "2026-08", "Usage", "2", "x")])
        text = path.read_text()
        if name == "bad_number.csv":
            text = text.replace(",2,x", ",twelve,x")
        elif name == "bad_date.csv":
            text = text.replace("2026-08-03T00:00:00Z", "not-a-date", 1)
        else:
            text = text.replace(",USD,", ",DOGE,")
        path.write_text(text)
    elif isinstance(content, bytes):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    with pytest.raises(LoadError, match=message):
        aws_cur.load(con, path)
    assert snapshot(con) == before


def test_mixed_formats_in_one_folder_is_refused(tmp_path: Path, con, shared_data: Path) -> None:
    folder = tmp_path / "mixed"
    cur_csv(folder / "a.csv", [("a", "2026-08", "Usage", "1", "x")])
    duckdb.sql("copy (select 1 as x) to '" + str(folder / "b.parquet") + "'")
    with pytest.raises(LoadError, match="mixed file formats"):
        aws_cur.load(con, folder)


def test_second_writer_gets_a_clear_message(db_path: Path, con) -> None:
    # DuckDB allows one writing process; the second must be told why, not crash.
    proc = subprocess.run(
        [sys.executable, "-m", "ingest", "init", "--db", str(db_path)],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "in use by another process" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_long_file_reports_progress(tmp_path: Path, con, monkeypatch) -> None:
    import ingest.load.land as land

    f = tmp_path / "big.csv"
    duckdb.execute(
        f"""copy (select '2026-08-01T00:00:00Z' as "bill/BillingPeriodStartDate",
                         '111122223333' as "bill/PayerAccountId",
                         'Usage' as "lineItem/LineItemType",
                         '2026-08-02T00:00:00Z' as "lineItem/UsageStartDate",
                         'USD' as "lineItem/CurrencyCode", i * 0.001 as "lineItem/UnblendedCost"
                  from range(600000) t(i)) to '{f}' (header)"""
    )
    watch = land._progress_watch
    monkeypatch.setattr(
        land, "_progress_watch", lambda c, what, say, every=0.05: watch(c, what, say, every)
    )
    lines: list[str] = []
    aws_cur.load(con, f, progress=lines.append)
    assert any("big.csv: " in line and "% after" in line for line in lines), lines


def test_every_load_is_reconciled_against_a_second_read(tmp_path: Path, con) -> None:
    from ingest.load import files, projection, reconcile, spec

    f = cur_csv(
        tmp_path / "cur.csv",
        [("a", "2026-08", "Usage", "10.25", "x"), ("b", "2026-08", "Usage", "1.5", "y")],
    )
    (result,) = aws_cur.load(con, f)
    assert result.reconciled == [(str(f), 2, 11.75)]
    assert "reconciled 1 file(s) against a second read: 2 rows, cost 11.75" in result.summary()
    # The check itself: a row lost after landing must be caught.
    con.execute("delete from raw.aws_cur_line_items where identity_line_item_id = 'b'")
    src = spec.SourceFile(f, str(f), "fp")
    call, params, row_expr = files._reader(aws_cur.SPEC, src)
    _, _, _, _, billed = projection.build_select(
        aws_cur.SPEC, src, files.describe(con, aws_cur.SPEC, src), row_expr
    )
    with pytest.raises(
        LoadError, match=r"reconciliation failed: the file has 2 rows .* but 1 rows"
    ):
        reconcile._reconcile(con, aws_cur.SPEC, src, call, params, billed, result.load_id)


def test_a_warehouse_from_an_older_version_gains_the_new_columns(tmp_path: Path, con) -> None:
    """A raw table created before a column was added to its spec: the next load adds the
    column (NULL for the rows already there) instead of failing on the insert."""
    aws_cur.load(con, cur_csv(tmp_path / "aug.csv", [("a", "2026-08", "Usage", "10.5", "x")]))
    for column in ("line_item_net_unblended_cost", "_source_row"):
        con.execute(f"alter table raw.aws_cur_line_items drop column {column}")
    aws_cur.load(con, cur_csv(tmp_path / "sep.csv", [("b", "2026-09", "Usage", "2.25", "y")]))
    rows = con.execute(
        "select identity_line_item_id, _source_row, line_item_net_unblended_cost is null "
        "from raw.aws_cur_line_items order by 1"
    ).fetchall()
    assert rows == [("a", None, True), ("b", 1, True)]
    assert totals(con) == [("2026-08", 1, pytest.approx(10.5)), ("2026-09", 1, pytest.approx(2.25))]
