"""Delivery files as they really arrive: names DuckDB would take for glob patterns, folders of
symbolic links, zips with huge members, text DuckDB's CSV sniffer misreads, cost-0 lines with
no currency, and a disk that fills up at COMMIT."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import zipfile
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from ingest import aws_cur
from ingest.demo import run_dbt
from ingest.load.db import connect
from ingest.load.spec import LoadError
from ingest.tests.conftest import PROJECT_DIR, snapshot
from ingest.tests.conftest import ingest_cli as cli
from ingest.tests.test_cost_explorer import DAY, EC2, metrics, response
from ingest.tests.test_opencost import CSV_HEADER, csv_row
from ingest.tests.test_otel_spans import request, span, write_json

HEADER = (
    "bill/PayerAccountId,bill/BillingPeriodStartDate,lineItem/LineItemType,"
    "lineItem/UsageStartDate,lineItem/CurrencyCode,lineItem/UnblendedCost\n"
)


def cur_text(*costs: str, newline: str = "\n") -> str:
    """A minimal legacy CUR CSV: one EUR usage line per cost, on consecutive August days."""
    rows = [
        f"111122223333,2026-08-01T00:00:00Z,Usage,2026-08-{day:02d}T00:00:00Z,EUR,{cost}"
        for day, cost in enumerate(costs, 2)
    ]
    return newline.join([HEADER.rstrip("\n"), *rows]) + newline


def cur_csv(path: Path, *costs: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(cur_text(*costs))
    return path


def landed(db: Path, sql: str = "") -> tuple:
    sql = sql or "select count(*), sum(line_item_unblended_cost) from raw.aws_cur_line_items"
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchone()


def load_cur(tmp_path: Path, path: Path, *extra: str) -> tuple:
    """Load through the CLI into a fresh database; (rows, Σ cost) landed."""
    db = tmp_path / f"w{len(list(tmp_path.glob('w*.duckdb')))}.duckdb"
    proc = cli(db, "cur", str(path), *extra)
    assert proc.returncode == 0, proc.stderr
    return landed(db)


def refused(tmp_path: Path, *args: str) -> str:
    """Run a load that must fail: one error line (after any progress), no traceback."""
    proc = cli(tmp_path / "refused.duckdb", *args)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, proc.stderr
    return errors[0]


# --------------------------------------------------------------------------- 1. glob characters


def test_file_and_folder_names_are_never_glob_patterns(tmp_path: Path) -> None:
    star = tmp_path / "star"
    cur_csv(star / "x*.csv", "1")
    cur_csv(star / "xa.csv", "10")
    assert load_cur(tmp_path, star) == (2, Decimal("11"))  # not 21: x*.csv read once, as itself

    brackets = tmp_path / "brackets"
    brackets.mkdir()
    with duckdb.connect() as con:
        for name, cost in (("a[b]", "1"), ("ab", "100")):
            text = cur_csv(tmp_path / f"{cost}.csv", cost)
            con.execute(
                f"COPY (SELECT * FROM read_csv('{text}', all_varchar = true)) "
                f"TO '{tmp_path / 'plain.parquet'}' (FORMAT parquet)"
            )
            (tmp_path / "plain.parquet").rename(brackets / f"{name}.parquet")
    assert load_cur(tmp_path, brackets) == (2, Decimal("101"))  # not 200 with the $1 lost

    cur_csv(tmp_path / "data[1]" / "cur.csv", "5")
    cur_csv(tmp_path / "data1" / "cur.csv", "50")
    assert load_cur(tmp_path, tmp_path / "data[1]") == (1, Decimal("5"))  # not data1/'s $50

    # The other loaders that read files with DuckDB.
    otel = tmp_path / "otel"
    otel.mkdir()
    write_json(otel / "s[1].json", request("api", [span("a1", 1_790_000_000_000_000_000, 5)]))
    write_json(otel / "s1.json", request("api", [span("b1", 1_790_000_000_000_000_000, 5)]))
    db = tmp_path / "otel.duckdb"
    assert cli(db, "otel-spans", str(otel / "s[1].json")).returncode == 0
    assert landed(db, "select list(span_id) from raw.otel_spans") == (["a1"],)

    k8s = tmp_path / "k8s"
    k8s.mkdir()
    (k8s / "c[1].csv").write_text(CSV_HEADER + csv_row("2026-08-03", "a", "a", "1", {}))
    (k8s / "c1.csv").write_text(CSV_HEADER + csv_row("2026-08-03", "b", "b", "7", {}))
    db = tmp_path / "k8s.duckdb"
    proc = cli(db, "opencost", str(k8s / "c[1].csv"), "--cluster", "prod")
    assert proc.returncode == 0, proc.stderr
    assert landed(db, "select sum(total_cost) from raw.opencost_allocations") == (Decimal(1),)

    ce = tmp_path / "ce"
    ce.mkdir()
    for name, cost in (("r[1].json", "2.5"), ("r1.json", "40")):
        doc = response([("DIMENSION", "SERVICE")], [(*DAY, [([EC2], metrics(cost, cost))])])
        (ce / name).write_text(json.dumps(doc))
    db = tmp_path / "ce.duckdb"
    proc = cli(db, "cost-explorer-file", str(ce / "r[1].json"), "--account-id", "1")
    assert proc.returncode == 0, proc.stderr
    assert landed(db, "select sum(unblended_cost) from raw.aws_cost_explorer") == (Decimal("2.5"),)


# --------------------------------------------------------------------------- 2. symbolic links


def test_linked_folders_are_followed_once_and_each_real_file_read_once(tmp_path: Path) -> None:
    real = tmp_path / "real"
    cur_csv(real / "a.csv", "1")
    delivery = tmp_path / "delivery"
    cur_csv(delivery / "b.csv", "10")
    (delivery / "linked").symlink_to(real, target_is_directory=True)  # its a.csv is data
    (delivery / "b-again.csv").symlink_to(delivery / "b.csv")  # the same file twice
    (delivery / "loop").symlink_to(delivery, target_is_directory=True)  # a link loop
    db = tmp_path / "w.duckdb"
    proc = cli(db, "cur", str(delivery))
    assert proc.returncode == 0, proc.stderr
    assert landed(db) == (2, Decimal("11"))
    assert f"skipping {delivery / 'loop'}: a link loop" in proc.stderr
    assert f"skipping {delivery / 'b-again.csv'}: the same file as {delivery / 'b.csv'}" in (
        proc.stderr
    )

    # A CUR export folder: the manifest and its data reached through a link.
    export = tmp_path / "export"
    (export / "metadata").mkdir(parents=True)
    (export / "metadata" / "cur-Manifest.json").write_text(
        json.dumps({"reportName": "cur", "reportKeys": ["cur/data/part.csv"]})
    )
    cur_csv(tmp_path / "elsewhere" / "part.csv", "3")
    (export / "data").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    assert load_cur(tmp_path, export) == (1, Decimal("3"))

    dangling = tmp_path / "dangling"
    cur_csv(dangling / "ok.csv", "1")
    (dangling / "gone.csv").symlink_to(tmp_path / "nowhere.csv")
    err = refused(tmp_path, "cur", str(dangling))
    assert err.startswith(f"error: {dangling / 'gone.csv'}: broken symbolic link")


# --------------------------------------------------------------------------- 3. zip members


def test_a_zip_member_is_streamed_not_read_into_memory(tmp_path: Path) -> None:
    member = 400 * 1024 * 1024
    archive = tmp_path / "big.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("cur.csv", "w", force_zip64=True) as out:
            out.write(HEADER.encode())
            block = b"0" * (1024 * 1024)
            for _ in range(member // len(block)):
                out.write(block)
    assert archive.stat().st_size < 2 * 1024 * 1024
    child = f"""
import resource, sys
from pathlib import Path
from ingest.load.files import expanded
from ingest.load.spec import SourceFile
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
with expanded([SourceFile(Path({str(archive)!r}), "big.zip", "fp")]) as files:
    assert files[0].path.stat().st_size == {member + len(HEADER)}
print(base, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
    proc = subprocess.run(
        [sys.executable, "-c", child], cwd=PROJECT_DIR, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    before_kib, peak_kib = map(int, proc.stdout.split())
    # Unpacking a 400 MB member may cost a few buffers, never the member itself.
    assert peak_kib - before_kib < 64 * 1024, (before_kib, peak_kib)


# --------------------------------------------------------------------------- 4. misread text


def test_text_the_sniffer_misreads_loads_or_is_named(tmp_path: Path) -> None:
    # A value starting with '#' is data, not a comment line (the sniffer dropped row 1).
    hashes = tmp_path / "hashes.csv"
    hashes.write_text(
        "lineItem/LineItemDescription,"
        + HEADER
        + "".join(
            f"{text},111122223333,2026-08-01T00:00:00Z,Usage,2026-08-02T00:00:00Z,EUR,{n}\n"
            for n, text in ((1, "# 1"), (2, "2"), (3, "3"))
        )
    )
    assert load_cur(tmp_path, hashes) == (3, Decimal(6))

    # CRLF and LF line endings mixed in one file (two exports concatenated), plain and gzip.
    mixed = tmp_path / "mixed.csv"
    mixed.write_bytes(
        cur_text("1", "2", newline="\r\n").encode() + cur_text("4").split("\n", 1)[1].encode()
    )
    assert load_cur(tmp_path, mixed) == (3, Decimal(7))
    mixed_gz = tmp_path / "gz" / "mixed.csv.gz"
    mixed_gz.parent.mkdir()
    mixed_gz.write_bytes(gzip.compress(mixed.read_bytes()))
    assert load_cur(tmp_path, mixed_gz) == (3, Decimal(7))

    # --header-file (legacy CUR without a header line) must name every field, no more.
    body = tmp_path / "noheader.csv"
    body.write_text(cur_text("1").split("\n", 1)[1].replace("\n", ",AmazonEC2\n"))
    columns = [*HEADER.rstrip().split(","), "lineItem/ProductCode"]
    for names in (columns[:-1], [*columns, "lineItem/Operation"]):
        header_file = tmp_path / "header.txt"
        header_file.write_text("\n".join(names))
        err = refused(tmp_path, "cur", str(body), "--header-file", str(header_file))
        assert err.startswith(
            f"error: {body}: the header file names {len(names)} columns but the file's rows "
            "have 7 fields"
        ), err

    # Files whose first bytes say they are not UTF-8 text with LF/CRLF line endings.
    text = cur_text("1")
    cases = {
        "utf16le.csv": (b"\xff\xfe" + text.encode("utf-16-le"), "is UTF-16 text: save it as UTF-8"),
        "utf16be.csv": (b"\xfe\xff" + text.encode("utf-16-be"), "is UTF-16 text: save it as UTF-8"),
        "classic-mac.csv": (text.replace("\n", "\r").encode(), "has CR-only line endings"),
        "parquet.csv": (b"PAR1" + b"\0" * 64, "is a Parquet file, not text: rename it"),
        "gzip.csv": (gzip.compress(text.encode()), "is gzip-compressed: rename it"),
    }
    sheet = tmp_path / "sheet.bin"
    with zipfile.ZipFile(sheet, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
    cases["bill.xlsx"] = (
        sheet.read_bytes(),
        "is an Excel workbook (.xlsx), not CSV: open it and save it as CSV",
    )
    cases["renamed.csv"] = (sheet.read_bytes(), "is an Excel workbook (.xlsx)")
    for name, (content, says) in cases.items():
        f = tmp_path / "odd" / name
        f.parent.mkdir(exist_ok=True)
        f.write_bytes(content)
        err = refused(tmp_path, "cur", str(f))
        assert err.startswith(f"error: {f}: {says}"), err


# --------------------------------------------------------------------------- 5. blank currency


OCI_HEADER = (
    "lineItem/referenceNo,lineItem/tenantId,lineItem/intervalUsageStart,"
    "lineItem/intervalUsageEnd,product/service,cost/myCost,cost/currencyCode\n"
)


def test_a_cost_0_line_may_have_a_blank_currency(tmp_path: Path) -> None:
    oci = tmp_path / "oci.csv"
    oci.write_text(
        OCI_HEADER
        + "r1,ocid1.tenancy,2026-08-03T10:00Z,2026-08-03T11:00Z,COMPUTE,12.5,USD\n"
        + "r2,ocid1.tenancy,2026-08-03T10:00Z,2026-08-03T11:00Z,NETWORK,0.00,\n"
    )
    db = tmp_path / "w.duckdb"
    proc = cli(db, "oci", str(oci))
    assert proc.returncode == 0, proc.stderr
    assert "billed USD 12.50" in proc.stdout and "None" not in proc.stdout
    assert landed(
        db,
        "select count(*), sum(cost_my_cost), count(cost_currency_code) from raw.oci_cost_reports",
    ) == (2, Decimal("12.5"), 1)
    # Staging leaves the cost-0 line out: no null-currency bucket, and money still ties to raw.
    built = run_dbt(
        db,
        "build",
        "--select",
        "+assert_cost_lines_tie_to_raw",
        "--indirect-selection",
        "cautious",
        capture=True,
    )
    assert built.returncode == 0, built.stdout[-3000:]
    assert landed(
        db,
        "select list((billing_currency, billed_cost)) from marts.fct_cost_line_items "
        "where source_system = 'oci'",
    ) == ([("USD", Decimal("12.5"))],)

    # A blank currency on a line that costs something is still refused, in every source.
    oci.write_text(oci.read_text().replace("NETWORK,0.00,", "NETWORK,0.01,"))
    err = refused(tmp_path, "oci", str(oci))
    assert err.startswith(f"error: {oci}: row 2, column 'cost_currency_code': unknown or missing")
    cur = tmp_path / "cur.csv"
    cur.write_text(cur_text("0", "1").replace("EUR,1", ",1"))
    err = refused(tmp_path, "cur", str(cur))
    assert err.startswith(f"error: {cur}: row 2, column 'line_item_currency_code': unknown")
    cur.write_text(cur_text("0", "1").replace("EUR,0", ",0"))
    assert load_cur(tmp_path, cur) == (2, Decimal(1))


# --------------------------------------------------------------------------- 6. disk full


class _DiskFullAtCommit:
    """A connection whose COMMIT fails the way DuckDB's does when the disk is full: the
    transaction is gone, so the ROLLBACK after it fails too."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con

    def execute(self, sql: str, *args: object) -> object:
        if sql.strip().upper() == "COMMIT":
            self._con.execute("ROLLBACK")
            raise duckdb.IOException(
                'IO Error: Could not write file "w.duckdb.wal": No space left on device'
            )
        if sql.strip().upper() == "ROLLBACK":
            raise duckdb.TransactionException(
                "TransactionContext Error: cannot rollback - no transaction is active"
            )
        return self._con.execute(sql, *args)

    def __getattr__(self, name: str) -> object:
        return getattr(self._con, name)


def test_a_full_disk_at_commit_is_one_clear_error(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    con = connect(db)
    aws_cur.load(con, cur_csv(tmp_path / "first" / "cur.csv", "1"))
    before = snapshot(con)
    with pytest.raises(LoadError) as failed:
        aws_cur.load(_DiskFullAtCommit(con), cur_csv(tmp_path / "second" / "cur.csv", "2"))  # type: ignore[arg-type]
    assert str(failed.value) == (
        f"{db}: the load could not be committed: No space left on device; nothing was "
        "written. Free disk space and retry"
    )
    assert snapshot(con) == before
