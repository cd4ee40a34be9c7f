"""The command line: help on every sub-command, exit codes 0 / 1 / 2, errors without tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from ingest.cli import build_parser, main
from ingest.tests.conftest import PROJECT_DIR

COMMANDS = [
    "cur",
    "focus",
    "azure",
    "oci",
    "init",
    "generate-sample",
    "demo",
    "cost-explorer",
    "cost-explorer-file",
]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([command, "--help"])
    assert exit_info.value.code == 0
    assert "usage:" in capsys.readouterr().out


def test_usage_error_exits_2() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "ingest", "cur"], cwd=PROJECT_DIR, capture_output=True, text=True
    )
    assert proc.returncode == 2


def test_failed_load_exits_1_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("lineItem/UnblendedCost\n1\n")
    proc = subprocess.run(
        [sys.executable, "-m", "ingest", "cur", str(bad), "--db", str(tmp_path / "w.duckdb")],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"error: {bad}: required column")
    assert "Traceback" not in proc.stderr


def eur_cur_csv(tmp_path: Path, *costs: str) -> Path:
    """A minimal legacy CUR CSV: one EUR usage line per cost, on consecutive August days."""
    f = tmp_path / "cur.csv"
    f.write_text(
        "bill/PayerAccountId,bill/BillingPeriodStartDate,lineItem/LineItemType,"
        "lineItem/UsageStartDate,lineItem/CurrencyCode,lineItem/UnblendedCost\n"
        + "".join(
            f"111122223333,2026-08-01T00:00:00Z,Usage,2026-08-{day:02d}T00:00:00Z,EUR,{cost}\n"
            for day, cost in enumerate(costs, 2)
        )
    )
    return f


def test_successful_load_exits_0_and_reports(tmp_path: Path, capsys) -> None:
    f = eur_cur_csv(tmp_path, "1.25")
    assert main(["cur", str(f), "--db", str(tmp_path / "w.duckdb"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "loaded 1 rows" in out and "2026-08 billed EUR 1.25" in out


def test_load_json_states_what_the_load_did_and_a_second_load_skips(tmp_path: Path, capsys) -> None:
    f = eur_cur_csv(tmp_path, "1.25", "2.50")
    db = str(tmp_path / "w.duckdb")
    assert main(["cur", str(f), "--db", db, "--quiet", "--json"]) == 0
    [loaded] = json.loads(capsys.readouterr().out)
    assert loaded["source"] == "aws_cur" and loaded["rows"] == 2 and not loaded["skipped"]
    assert loaded["partitions"] == [
        {"billing_period": "2026-08-01", "account": "111122223333", "action": "inserted", "rows": 2}
    ]
    assert loaded["billed"] == [{"billing_period": "2026-08-01", "currency": "EUR", "total": 3.75}]
    assert [r["rows"] for r in loaded["reconciled"]] == [2]
    assert main(["cur", str(f), "--db", db, "--quiet", "--json"]) == 0
    [again] = json.loads(capsys.readouterr().out)
    assert again["skipped"] and again["load_id"] == loaded["load_id"]


def test_export_parquet_writes_every_raw_table_and_counts_its_rows(tmp_path: Path, capsys) -> None:
    f = eur_cur_csv(tmp_path, "1.25", "2.50")
    db, out = tmp_path / "w.duckdb", tmp_path / "raw"
    assert main(["cur", str(f), "--db", str(db), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["export-parquet", str(out), "--db", str(db)]) == 0
    printed = capsys.readouterr().out
    assert "aws_cur_line_items: 2 rows" in printed and "focus_line_items: 0 rows" in printed
    with duckdb.connect() as con:
        written = con.execute(
            f"select count(*), sum(line_item_unblended_cost) "
            f"from '{(out / 'aws_cur_line_items' / 'data.parquet').as_posix()}'"
        ).fetchone()
    assert written == (2, Decimal("3.75"))


def test_init_upgrades_an_older_warehouse(tmp_path: Path, capsys) -> None:
    """`init` on a warehouse whose raw table lacks a column the project now reads adds it, so
    `dbt build` can run after an upgrade before any new load."""
    db = tmp_path / "w.duckdb"
    assert main(["init", "--db", str(db)]) == 0
    with duckdb.connect(str(db)) as con:
        con.execute("alter table raw.focus_line_items drop column effective_cost")
    assert main(["init", "--db", str(db)]) == 0
    assert "raw tables ready" in capsys.readouterr().out
    with duckdb.connect(str(db)) as con:
        columns = con.execute(
            "select data_type from information_schema.columns "
            "where table_name = 'focus_line_items' and column_name = 'effective_cost'"
        ).fetchall()
    assert columns == [("DECIMAL(38,12)",)]


def test_python_is_ruff_clean() -> None:
    ruff = Path(sys.executable).parent / "ruff"
    proc = subprocess.run(
        [str(ruff), "check", "ingest"], cwd=PROJECT_DIR, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout
