"""The README's first command: sample data → DuckDB → ``dbt build`` → a short summary."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from ingest import aws_cur, clickhouse_query_log, otel_spans, revenue, usage
from ingest.load.db import connect, database_path, lock_holder
from ingest.load.land import load_path, stderr_progress
from ingest.project import (
    PROJECT_DIR,
    RULES_ENV,
    SAMPLE_RULES,
)
from ingest.registry import ensure_all_tables


def _dbt_env(db: Path, rules: str | None) -> dict[str, str]:
    env = {**os.environ, "COST_MODEL_DB": str(db.resolve())}
    if rules:
        env[RULES_ENV] = rules
    return env


def run_dbt(
    db: Path,
    *args: str,
    capture: bool = False,
    project_dir: Path = PROJECT_DIR,
    rules: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``dbt <args>`` against ``db`` in a child process.

    A child process, because dbt-duckdb keeps its connection open for the life of the process,
    which would lock the warehouse for whatever runs next. ``rules`` names the rule-seed folder
    (default: COST_MODEL_RULES, else seeds/rules).
    """
    dbt = Path(sys.executable).parent / "dbt"
    return subprocess.run(
        [str(dbt), *args, "--project-dir", str(project_dir), "--profiles-dir", str(project_dir)],
        cwd=project_dir,
        env=_dbt_env(db, rules),
        capture_output=capture,
        text=True,
        check=False,
    )


def dbt_build(db: Path, *args: str, rules: str | None = None) -> bool:
    """``dbt build`` against ``db``; True when every node passed."""
    return run_dbt(db, "build", *args, rules=rules).returncode == 0


_STAMP = re.compile(r"^(\x1b\[[0-9;]*m)*\d\d:\d\d:\d\d\s\s")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def dbt_logged(db: Path, log: Path, *args: str, rules: str | None = None) -> tuple[bool, list[str]]:
    """``dbt <args>`` against ``db`` with its whole output in ``log`` (no colour codes); returns
    whether it passed and the few lines a person reads on the console: the one-line reason when
    the warehouse is locked or not set up, dbt's allocation summary and its result line, and on
    failure dbt's own list of what failed."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        done = subprocess.run(
            [
                str(Path(sys.executable).parent / "dbt"),
                *args,
                "--project-dir",
                str(PROJECT_DIR),
                "--profiles-dir",
                str(PROJECT_DIR),
            ],
            cwd=PROJECT_DIR,
            env={**_dbt_env(db, rules), "DBT_USE_COLORS": "false"},
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
        )
    text = log.read_text(errors="replace")
    return done.returncode == 0, dbt_console_lines(db, text, passed=done.returncode == 0)


def dbt_console_lines(db: Path, output: str, *, passed: bool) -> list[str]:
    """What of dbt's output a person needs (see :func:`dbt_logged`)."""
    lines = [_ANSI.sub("", _STAMP.sub("", line)).rstrip() for line in output.splitlines()]
    if "Could not set lock on file" in output:
        return [
            f"the warehouse {db} is in use by another process{lock_holder(output)} (a load or "
            "a BI tool): wait for it to finish, or close the tool, and run again"
        ]
    setup = next((line.strip() for line in lines if "python -m ingest init" in line), None)
    if setup and not passed:
        return [setup]
    shown: list[str] = []
    if "Cost allocation (effective cost):" in lines:
        start = lines.index("Cost allocation (effective cost):")
        block = [lines[start]]
        for line in lines[start + 1 :]:
            if not line.startswith("  "):
                break
            block.append(line)
        shown += block
    if not passed and "Finished running" in output:
        start = max(i for i, line in enumerate(lines) if line.startswith("Finished running"))
        failed = [line for line in lines[start + 1 :] if line.strip()]
        shown += failed[:40] + (
            [f"... ({len(failed) - 40} more lines)"] if len(failed) > 40 else []
        )
    elif not passed:
        shown += [line for line in lines if line.strip()][-15:]
    else:
        shown += [line for line in lines if line.startswith("Done. PASS=")]
    return shown


# The sample's usage-side exports: (spec, folder under the sample directory).
SAMPLE_SOURCES = (
    (clickhouse_query_log.SPEC, "clickhouse"),
    (usage.SPEC, "usage"),
    (revenue.REVENUE, "revenue"),
    (revenue.CUSTOMERS, "customers"),
)


def load_sample(
    con: duckdb.DuckDBPyConnection,
    sample_dir: Path,
    progress: Callable[[str], None] | None = None,
) -> list[str]:
    """Load every export the sample generator writes; return one summary line per load."""
    ensure_all_tables(con)
    lines = [r.summary() for r in aws_cur.load(con, sample_dir / "cur", progress=progress)]
    for spec, folder in SAMPLE_SOURCES:
        result = load_path(con, spec, sample_dir / folder, export_name=spec.source)
        lines.append(result.summary().splitlines()[0])
    if (sample_dir / "otel").is_dir():  # samples generated before spans existed have none
        lines.append(otel_spans.load(con, sample_dir / "otel").summary().splitlines()[0])
    return lines


def run(db_arg: str | None, sample_dir: Path, cur_lines: int) -> int:
    """Generate, load, build and summarise; exit code 0 when the build is green."""
    from ingest import sample_data

    db = database_path(db_arg)
    started = time.monotonic()
    print(f"1/3 generating sample data ({cur_lines:,} CUR lines) in {sample_dir}/")
    sample_data.generate(sample_dir, cur_lines=cur_lines)
    print(f"2/3 loading into {db}")
    con = connect(db)
    try:
        for line in load_sample(con, sample_dir, progress=stderr_progress):
            print(line)
    finally:
        con.close()
    log = db.parent / "dbt-build.log"
    print(f"3/3 dbt build with the sample company's rules in {SAMPLE_RULES}/ (dbt's output: {log})")
    build_started = time.monotonic()
    ok, lines = dbt_logged(db, log, "build", rules=SAMPLE_RULES)
    build_seconds = time.monotonic() - build_started
    if not ok and len(lines) == 1:  # locked or not set up: nothing was built to summarise
        print(f"error: {lines[0]}", file=sys.stderr)
        return 1
    for line in lines:
        print(f"  {line}")
    con = connect(db)
    try:
        rows = con.execute(
            """
            select billing_period, billing_currency, count(*),
                   sum(billed_cost), sum(effective_cost),
                   sum(case when is_unused_commitment then effective_cost else 0 end)
            from marts.fct_cost_line_items group by all order by all
            """
        ).fetchall()
    finally:
        con.close()
    print("\nbilling period  currency        lines        billed      effective  unused commit")
    for period, currency, n, billed, effective, unused in rows:
        print(
            f"{period:%Y-%m}         {currency:<8} {n:>12,} {billed:>13,.2f} "
            f"{effective:>14,.2f} {unused:>14,.2f}"
        )
    published = publish_after_build(db) if ok else True
    if ok:
        print_allocation(db)
        from ingest import report

        print()
        report.run_report(str(db), month=None, currency=None, html_path=None, top=5)
    print(
        f"\ndbt build {'passed' if ok else 'FAILED'} in {build_seconds:.1f} s; "
        f"total {time.monotonic() - started:.1f} s. Warehouse: {db}"
    )
    return 0 if ok and published else 1


def publish_after_build(db: Path) -> bool:
    """Replace the readers' read-only copy after a passing build; False when it failed."""
    from ingest.publish import PublishError, publish

    try:
        done = publish(db)
    except PublishError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return False
    print(f"\nread-only copy for readers and BI tools: {done.path}")
    return True


def print_allocation(db: Path) -> None:
    """Where the last month's cost went: per product, and what stayed unallocated and why."""
    con = connect(db)
    try:
        month = con.execute("select max(cost_month) from marts.fct_cost_allocation").fetchone()
        rows = con.execute(
            """
            select coalesce(product, '(unallocated: ' || unallocated_reason || ')') as target,
                   billing_currency,
                   sum(allocated_effective_cost) as cost,
                   count(distinct customer_id) as customers
            from marts.fct_cost_allocation
            where cost_month = ?
            group by all order by cost desc
            """,
            [month[0] if month else None],
        ).fetchall()
    finally:
        con.close()
    if not rows:
        return
    total = sum(float(r[2]) for r in rows)
    print(f"\nallocated effective cost, {month[0]:%Y-%m}:")
    for target, currency, cost, customers in rows:
        share = 100 * float(cost) / total if total else 0.0
        who = f"{customers} customers" if customers else ""
        print(f"  {target:<36} {currency} {float(cost):>12,.2f} {share:5.1f} %  {who}")
