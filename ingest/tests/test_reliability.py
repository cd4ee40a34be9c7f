"""Faults and concurrency with real processes: a load killed with SIGKILL, two writers at once,
``dbt build`` during a load. The database must always open and hold exactly what it held."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from ingest import aws_cur
from ingest.demo import run_dbt
from ingest.load.db import connect
from ingest.tests.conftest import PROJECT_DIR, snapshot

BIG_ROWS = 1_500_000


@pytest.fixture(scope="module")
def big_cur(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A legacy CUR CSV large enough that loading it takes seconds on 2 cores."""
    path = tmp_path_factory.mktemp("big") / "big-cur.csv"
    duckdb.execute(
        f"""copy (select 'line-' || i as "identity/LineItemId",
                         '2026-09-01T00:00:00Z' as "bill/BillingPeriodStartDate",
                         '111122223333' as "bill/PayerAccountId",
                         'Usage' as "lineItem/LineItemType",
                         '2026-09-02T00:00:00Z' as "lineItem/UsageStartDate",
                         'USD' as "lineItem/CurrencyCode",
                         (i % 1000) * 0.01 as "lineItem/UnblendedCost",
                         'replay' as "resourceTags/user:product"
                  from range({BIG_ROWS}) t(i)) to '{path}' (header)"""
    )
    return path


def one_line_cur(path: Path, month: str, cost: str) -> Path:
    path.write_text(
        "bill/PayerAccountId,bill/BillingPeriodStartDate,lineItem/LineItemType,"
        "lineItem/UsageStartDate,lineItem/CurrencyCode,lineItem/UnblendedCost\n"
        f"111122223333,{month}-01T00:00:00Z,Usage,{month}-02T00:00:00Z,USD,{cost}\n"
    )
    return path


@pytest.fixture
def seeded_db(tmp_path: Path) -> Path:
    """A warehouse holding one committed load, the state every fault must preserve."""
    db = tmp_path / "w.duckdb"
    small = one_line_cur(tmp_path / "small.csv", "2026-08", "12.34")
    con = connect(db)
    aws_cur.load(con, small)
    con.close()
    return db


def state(db: Path) -> dict[str, tuple[object, ...]]:
    con = connect(db)
    try:
        return snapshot(con)
    finally:
        con.close()


def start_load(path: Path, db: Path, *extra: str) -> subprocess.Popen[str]:
    # --wait: wait_until_loading probes the lock by opening the file for a moment; a loader
    # starting in that instant must queue behind the probe, not fail (a flake under load).
    return subprocess.Popen(
        [sys.executable, "-m", "ingest", "cur", str(path), "--db", str(db), "--wait", "30", *extra],
        cwd=PROJECT_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_until_loading(proc: subprocess.Popen[str], db: Path, timeout: float = 30.0) -> None:
    """Until the loader holds the database (its lock), i.e. the load is under way."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            duckdb.connect(str(db)).close()
        except duckdb.IOException:
            time.sleep(0.3)  # locked: the load has started; give it time to write
            return
        time.sleep(0.05)
    pytest.fail("the load never took the database")


def test_load_killed_mid_way_leaves_database_as_before(big_cur: Path, seeded_db: Path) -> None:
    before = state(seeded_db)
    proc = start_load(big_cur, seeded_db, "--quiet")
    wait_until_loading(proc, seeded_db)
    time.sleep(0.5)
    assert proc.poll() is None, "the load finished before it could be killed: make it bigger"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert state(seeded_db) == before  # opens fine, nothing half-loaded


def test_second_writer_fails_clearly_and_first_completes(
    big_cur: Path, seeded_db: Path, tmp_path: Path
) -> None:
    first = start_load(big_cur, seeded_db, "--quiet")
    wait_until_loading(first, seeded_db)
    other = one_line_cur(tmp_path / "other.csv", "2026-07", "1")
    second = subprocess.run(
        [sys.executable, "-m", "ingest", "cur", str(other), "--db", str(seeded_db)],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode == 1
    assert "in use by another process" in second.stderr and "Traceback" not in second.stderr
    out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    con = connect(seeded_db)
    assert con.execute("select count(*) from raw.aws_cur_line_items").fetchone() == (BIG_ROWS + 1,)
    con.close()


def test_second_writer_with_wait_queues_behind_the_first(
    big_cur: Path, seeded_db: Path, tmp_path: Path
) -> None:
    first = start_load(big_cur, seeded_db, "--quiet")
    wait_until_loading(first, seeded_db)
    other = one_line_cur(tmp_path / "other.csv", "2026-07", "1")
    second = subprocess.run(
        [
            sys.executable,
            "-m",
            "ingest",
            "cur",
            str(other),
            "--db",
            str(seeded_db),
            "--wait",
            "300",
        ],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert first.wait(timeout=300) == 0
    assert second.returncode == 0, second.stderr
    assert "waiting up to 300 s" in second.stderr
    con = connect(seeded_db)
    assert con.execute("select count(*) from raw.aws_cur_line_items").fetchone() == (BIG_ROWS + 2,)
    con.close()


def test_dbt_build_during_a_load_says_why(seeded_db: Path) -> None:
    """A load holds DuckDB's write lock for its whole run; a writer process that holds it until
    told to stop stands in for it, so the build surely overlaps (a real load of a few seconds
    could end before dbt, parsing, reaches the database on a busy machine)."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; con = duckdb.connect(sys.argv[1]); print('held', flush=True); "
            "sys.stdin.read()",
            str(seeded_db),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        build = run_dbt(seeded_db, "build", capture=True)
    finally:
        holder.communicate(timeout=60)
    assert build.returncode != 0
    assert "Could not set lock on file" in build.stdout and "Conflicting lock" in build.stdout
