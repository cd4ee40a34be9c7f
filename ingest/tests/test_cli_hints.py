"""A CLI a person enjoys: --version, help that shows only what applies, errors that say what to
do (wrong loader, Excel, no header row, nothing loadable, a locked warehouse, a warehouse never
set up) and a demo whose dbt output goes to a log file."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from ingest import cli, registry
from ingest.demo import dbt_console_lines, dbt_logged
from ingest.load.db import connect
from ingest.registry import ensure_all_tables
from ingest.tests.conftest import PROJECT_DIR, ingest_cli, snapshot

CUR_HEADER = (
    "bill/PayerAccountId,bill/BillingPeriodStartDate,lineItem/LineItemType,"
    "lineItem/UsageStartDate,lineItem/CurrencyCode,lineItem/UnblendedCost\n"
)
CUR_ROW = "111122223333,2026-08-01T00:00:00Z,Usage,2026-08-02T00:00:00Z,EUR,1.25\n"
FOCUS_CSV = (
    "ProviderName,BillingAccountId,BillingPeriodStart,ChargePeriodStart,ChargeCategory,"
    "BilledCost,EffectiveCost,BillingCurrency\n"
    "AWS,111122223333,2026-08-01T00:00:00Z,2026-08-02T00:00:00Z,Usage,1.25,1.25,USD\n"
)
AZURE_CSV = (
    "BillingAccountId,BillingPeriodStartDate,Date,CostInBillingCurrency,BillingCurrencyCode\n"
    "acct-1,2026-08-01,2026-08-02,1.25,USD\n"
)
OCI_CSV = (
    "lineItem/referenceNo,lineItem/tenantId,lineItem/intervalUsageStart,"
    "lineItem/intervalUsageEnd,product/service,cost/myCost,cost/currencyCode\n"
    "r1,ocid1.tenancy,2026-08-03T10:00Z,2026-08-03T11:00Z,COMPUTE,12.5,USD\n"
)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse holding one CUR load: every refused load below must leave it as it is."""
    root = tmp_path_factory.mktemp("hints")
    cur = root / "cur.csv"
    cur.write_text(CUR_HEADER + CUR_ROW)
    db = root / "w.duckdb"
    assert ingest_cli(db, "cur", str(cur), "--quiet").returncode == 0
    return db


def refused(db: Path, *args: str) -> str:
    """The one error a refused load prints; the warehouse is as it was."""
    with duckdb.connect(str(db), read_only=True) as con:
        before = snapshot(con)
    proc = ingest_cli(db, *args, "--quiet")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    with duckdb.connect(str(db), read_only=True) as con:
        assert snapshot(con) == before
    return proc.stderr.strip()


# --------------------------------------------------------------------------- --version


def test_version_names_the_project_and_its_engines() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "ingest", "--version"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    project = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())["project"]
    out = proc.stdout.strip()
    assert out.startswith(f"{project['name']} {project['version']} (")
    assert re.search(r"dbt-core \d+\.\d+", out) and re.search(r"duckdb \d+\.\d+", out), out
    assert f"duckdb {duckdb.__version__}" in out


# --------------------------------------------------------------------------- help


def _sub_parsers() -> Iterator[tuple[str, object]]:
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    yield from sub.choices.items()  # type: ignore[attr-defined]


def test_help_shows_each_option_only_where_it_applies(capsys) -> None:
    specs = {s.command: s.spec for s in registry.sources() if s.add_parser is None}
    seen = 0
    for name, sub_parser in _sub_parsers():
        with pytest.raises(SystemExit):
            sub_parser.parse_args(["--help"])  # type: ignore[attr-defined]
        text = capsys.readouterr().out
        assert "Load a usage" not in text and "Load a revenue" not in text, name
        if name not in specs:
            continue
        seen += 1
        spec = specs[name]
        has_currency = spec.currency_column is not None
        assert ("--allow-currency" in text) == has_currency, name
        counts_once = spec.is_bill or (bool(spec.natural_key) and spec.period_grain != "all")
        assert ("--replace" in text) == counts_once, name
        for common in ("--db", "--force", "--wait", "--quiet", "--allow-shrink"):
            assert common in text, (name, common)
    assert seen == len(specs)
    # Loaders without the option still parse (their code reads the defaults).
    args = cli.build_parser().parse_args(["customers", "x.csv"])
    assert args.allow_currency == [] and args.replace is False


# --------------------------------------------------------------------------- wrong loader


@pytest.mark.parametrize(
    ("command", "content", "says"),
    [
        ("cur", FOCUS_CSV, "this looks like a FOCUS export: load it with `python -m ingest focus`"),
        (
            "focus",
            CUR_HEADER + CUR_ROW,
            "this looks like an AWS Cost and Usage Report (CUR): load it with "
            "`python -m ingest cur`",
        ),
        ("cur", AZURE_CSV, "this looks like an Azure cost details export: load it with "),
        ("focus", OCI_CSV, "this looks like an Oracle Cloud (OCI) cost report: load it with "),
        ("usage", FOCUS_CSV, "load it with `python -m ingest focus`"),
    ],
)
def test_a_file_given_to_the_wrong_loader_names_the_right_one(
    warehouse: Path, tmp_path: Path, command: str, content: str, says: str
) -> None:
    f = tmp_path / "bill.csv"
    f.write_text(content)
    err = refused(warehouse, command, str(f))
    assert err.startswith(f"error: {f}: required column "), err
    assert says in err, err


def test_excel_workbooks_say_save_as_csv(warehouse: Path, tmp_path: Path) -> None:
    xlsx = tmp_path / "bill.xlsx"
    with zipfile.ZipFile(xlsx, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
    xls = tmp_path / "bill.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504)
    todo = "save it as CSV (File → Save As → CSV UTF-8) and load the CSV"
    for f in (xlsx, xls):
        err = refused(warehouse, "cur", str(f))
        assert err.startswith(f"error: {f}: is an Excel workbook"), err
        assert todo in err


def test_a_headerless_file_says_which_header_to_add(warehouse: Path, tmp_path: Path) -> None:
    usage = tmp_path / "usage.csv"
    usage.write_text("2026-08-01,events,analytics,c1,,12\n2026-08-02,events,analytics,c1,,13\n")
    err = refused(warehouse, "usage", str(usage))
    assert err.startswith(f"error: {usage}: the file has no header row"), err
    assert "date,metric,product,customer_id,feature_id,quantity" in err
    cur = tmp_path / "cur.csv"
    cur.write_text(CUR_ROW)
    err = refused(warehouse, "cur", str(cur))
    assert err.startswith(f"error: {cur}: the file has no header row"), err
    assert "--header-file" in err
    # A header that is simply wrong is not called missing.
    bad = tmp_path / "bad.csv"
    bad.write_text("lineItem/UnblendedCost\n1\n")
    assert "no header row" not in refused(warehouse, "cur", str(bad))


def test_a_folder_with_nothing_loadable_lists_what_it_skipped(
    warehouse: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "export"
    (folder / "sub").mkdir(parents=True)
    (folder / ".DS_Store").write_bytes(b"\0\0")
    (folder / "notes.pdf").write_bytes(b"")
    (folder / "sub" / "bill.xlsx").write_bytes(b"PK\x03\x04")
    err = refused(warehouse, "cur", str(folder))
    assert err.startswith(f"error: {folder}: no loadable files found"), err
    assert "skipped 3 file(s):" in err
    assert "skipped .DS_Store: a hidden file" in err
    assert "skipped notes.pdf: .pdf: not a format the loaders read (and empty)" in err
    assert "skipped sub/bill.xlsx: an Excel workbook: save it as CSV" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert refused(warehouse, "usage", str(empty)).endswith("; the folder is empty")


# --------------------------------------------------------------------------- locked, not set up


@pytest.fixture
def held(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """A warehouse another process holds open (as a load or a BI tool would); its PID."""
    db = tmp_path / "held.duckdb"
    con = connect(db)
    ensure_all_tables(con)
    con.close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('ready', "
            "flush=True); time.sleep(120)",
            str(db),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
    try:
        yield db, holder.pid
    finally:
        holder.kill()
        holder.wait()


def test_a_locked_warehouse_is_one_line_for_loads_and_builds(
    held: tuple[Path, int], tmp_path: Path
) -> None:
    db, pid = held
    cur = tmp_path / "cur.csv"
    cur.write_text(CUR_HEADER + CUR_ROW)
    proc = ingest_cli(db, "cur", str(cur), "--quiet")
    assert proc.returncode == 1
    assert proc.stderr.strip() == (
        f"error: {db}: the database is in use by another process (PID {pid}) (a load, a dbt "
        "build or a BI tool); wait for it to finish and retry (or pass --wait SECONDS)"
    )
    started = time.monotonic()
    ok, lines = dbt_logged(db, tmp_path / "dbt.log", "build")
    assert not ok and time.monotonic() - started < 120
    assert lines == [
        f"the warehouse {db} is in use by another process (PID {pid}) (a load or a BI tool): "
        "wait for it to finish, or close the tool, and run again"
    ]
    assert "Conflicting lock" in (tmp_path / "dbt.log").read_text()  # the detail is kept


def test_dbt_on_a_warehouse_never_set_up_says_run_init(tmp_path: Path) -> None:
    db = tmp_path / "new.duckdb"
    log = tmp_path / "dbt.log"
    ok, lines = dbt_logged(db, log, "build")
    assert not ok
    assert lines == [
        f"the warehouse {db.resolve()} has no raw tables yet: run `python -m ingest init` (or load "
        "a bill, e.g. `python -m ingest cur PATH`), then dbt build again"
    ]
    assert "Catalog Error" not in log.read_text()
    # An older warehouse lacking one source's table: the same advice, naming the table.
    con = connect(db)
    ensure_all_tables(con)
    con.execute("DROP TABLE raw.otel_spans")
    con.close()
    ok, lines = dbt_logged(db, log, "build", "--select", "stg_otel__spans", "stg_usage__metrics")
    assert not ok and len(lines) == 1
    assert "lacks the raw tables raw.otel_spans" in lines[0]
    assert "run `python -m ingest init` to add them" in lines[0]
    # Set up: the selected models build; the log has no colour codes, the console a summary.
    con = connect(db)
    ensure_all_tables(con)
    con.close()
    ok, lines = dbt_logged(db, log, "build", "--select", "stg_usage__metrics")
    assert ok, log.read_text()[-3000:]
    assert "\x1b[" not in log.read_text()
    assert len(lines) == 1 and lines[0].startswith("Done. PASS="), lines


def test_dbt_console_lines_keep_the_allocation_summary_and_the_failures() -> None:
    out = (
        "\x1b[0m23:41:02  1 of 2 START hook ... [RUN]\n"
        "\x1b[0m23:41:02  Cost allocation (effective cost):\n"
        "\x1b[0m23:41:02    USD (allocated)                 150989.36   97.7 %\n"
        "\x1b[0m23:41:02    USD untagged                      1845.00    1.2 %  ok\n"
        "\x1b[0m23:41:02  1 of 1 START hook: cost_to_serve.on-run-end.0 ....... [RUN]\n"
        "\x1b[0m23:41:02  Finished running 3 project hooks in 0 hours (23.35s).\n"
        "\x1b[0m23:41:02  \n"
        "\x1b[0m23:41:02  \x1b[31mCompleted with 1 error\x1b[0m\n"
        "\x1b[0m23:41:02  \x1b[31mFailure in test assert_x (tests/assert_x.sql)\x1b[0m\n"
        "\x1b[0m23:41:02  Done. PASS=1 WARN=0 ERROR=1 SKIP=0 NO-OP=0 TOTAL=2\n"
    )
    lines = dbt_console_lines(Path("w.duckdb"), out, passed=False)
    assert lines == [
        "Cost allocation (effective cost):",
        "  USD (allocated)                 150989.36   97.7 %",
        "  USD untagged                      1845.00    1.2 %  ok",
        "Completed with 1 error",
        "Failure in test assert_x (tests/assert_x.sql)",
        "Done. PASS=1 WARN=0 ERROR=1 SKIP=0 NO-OP=0 TOTAL=2",
    ]
