"""Benchmark the cost model at a given bill size against DuckDB's own lower bounds.

    python bench/run.py --cur-lines 10000000 [--query-log-rows N] [--memory-limit 4GB]

Generates a workload with the sample generator, then measures in the same run, each step in
its own child process (wall seconds and that process's peak RSS from ``wait4``):

1. CUR ingest with our loader vs ``CREATE TABLE AS SELECT * FROM read_parquet`` of the same
   files;
2. the full ``dbt run`` (models) and ``dbt build`` (models + tests) vs one hand-written DuckDB
   statement doing the same direct + driver allocation (bench/lower_bound_allocation.sql);
3. after one new day arrives (bench/new_day.py: the next billing period's first CUR delivery
   and the next query_log day), the incremental ``dbt run`` and ``dbt build`` vs the full ones;

and prints rows, seconds, rows/s, peak RSS and the ratio of each pair. A benchmark, not a
test: nothing here asserts a time. ``--json`` writes the figures for the README.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@dataclass
class Step:
    """One measured child process."""

    name: str
    rows: int
    seconds: float
    peak_rss_mb: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def measure(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Run ``argv``; return (wall seconds, peak RSS MB, stdout). Fails loudly on a non-zero exit."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        cwd=PROJECT_DIR,
        env={**os.environ, "PYTHONPATH": str(PROJECT_DIR), **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        what = " ".join(a for a in argv[:4] if "\n" not in a)
        raise SystemExit(f"bench: {what} … failed ({proc.returncode}):\n{out[-4000:]}")
    return seconds, usage.ru_maxrss / 1024, out


def duckdb_child(db: Path, sql: str, memory_limit: str, threads: int) -> list[str]:
    """A child Python that runs ``sql`` on ``db`` with the benchmark's DuckDB settings."""
    code = (
        "import duckdb, sys\n"
        f"con = duckdb.connect({str(db)!r})\n"
        f"con.execute(\"SET memory_limit = '{memory_limit}'\")\n"
        f'con.execute("SET threads = {threads}")\n'
        'con.execute("SET preserve_insertion_order = false")\n'
        f"con.execute({sql!r})\n"
    )
    return [sys.executable, "-c", code]


def with_second_day(first_day: Path, out: Path) -> None:
    """The new day's partition re-delivered with one more day: the month restated, as AWS
    does several times a day."""
    import duckdb

    with duckdb.connect() as con:
        con.execute(
            f"""copy (
                select * from read_parquet('{first_day}')
                union all
                select * replace (
                    identity_line_item_id || '-2' as identity_line_item_id,
                    line_item_usage_start_date + interval 1 day as line_item_usage_start_date,
                    line_item_usage_end_date + interval 1 day as line_item_usage_end_date
                ) from read_parquet('{first_day}')
            ) to '{out}' (format parquet)"""
        )


def count(db: Path, sql: str) -> int:
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        row = con.execute(sql).fetchone()
    return int(row[0]) if row else 0


def run(args: argparse.Namespace) -> dict[str, object]:
    from ingest import sample_data

    work = Path(args.work_dir).resolve()
    data = work / "data"
    db = work / "warehouse.duckdb"
    bound_db = work / "lower_bound.duckdb"
    env = {
        "COST_MODEL_DB": str(db),
        "COST_MODEL_MEMORY_LIMIT": args.memory_limit,
        "DBT_TARGET_PATH": str(work / "target"),
        "DBT_LOG_PATH": str(work / "logs"),
    }
    work.mkdir(parents=True, exist_ok=True)
    if not args.reuse_data or not (data / "cur").is_dir():
        log(f"generating {args.cur_lines:,} CUR lines into {data}")
        started = time.perf_counter()
        shutil.rmtree(data, ignore_errors=True)
        sample_data.generate(data, cur_lines=args.cur_lines, query_log_rows=args.query_log_rows)
        log(f"generated in {time.perf_counter() - started:.1f} s")
    for path in (db, bound_db, db.with_suffix(".duckdb.wal"), bound_db.with_suffix(".duckdb.wal")):
        path.unlink(missing_ok=True)
    parquet = str(data / "cur" / "**" / "*.parquet")
    steps: list[Step] = []

    log("ingest: our loader (CUR)")
    seconds, rss, _ = measure(
        [sys.executable, "-m", "ingest", "cur", str(data / "cur"), "--db", str(db), "--quiet"], env
    )
    cur_rows = count(db, "select count(*) from raw.aws_cur_line_items")
    steps.append(Step("ingest CUR (ours)", cur_rows, seconds, rss))

    log("ingest: lower bound (CREATE TABLE AS read_parquet)")
    seconds, rss, _ = measure(
        duckdb_child(
            bound_db,
            f"create table cur as select * from read_parquet('{parquet}', hive_partitioning = false)",
            args.memory_limit,
            args.threads,
        )
    )
    steps.append(
        Step("ingest CUR (lower bound)", count(bound_db, "select count(*) from cur"), seconds, rss)
    )
    bound_db.unlink(missing_ok=True)

    log("ingest: query_log, usage, revenue, customers (not timed as a pair)")
    for command, folder in (
        ("query-log", "clickhouse"),
        ("usage", "usage"),
        ("revenue", "revenue"),
        ("customers", "customers"),
    ):
        measure(
            [
                sys.executable,
                "-m",
                "ingest",
                command,
                str(data / folder),
                "--db",
                str(db),
                "--quiet",
            ],
            env,
        )
    query_log_rows = count(db, "select count(*) from raw.clickhouse_query_log")

    dbt = str(BIN / "dbt")
    dbt_args = ["--profiles-dir", str(PROJECT_DIR), "--project-dir", str(PROJECT_DIR)]
    log("dbt build --full-refresh (models + tests)")
    seconds, rss, _ = measure([dbt, "build", "--full-refresh", *dbt_args], env)
    steps.append(Step("dbt build (models + tests)", cur_rows, seconds, rss))
    log("dbt run --full-refresh (models only)")
    seconds, rss, _ = measure([dbt, "run", "--full-refresh", *dbt_args], env)
    steps.append(Step("dbt run (models)", cur_rows, seconds, rss))
    allocation_rows = count(db, "select count(*) from marts.fct_cost_allocation")

    log("lower bound: one hand-written allocation statement")
    sql = (PROJECT_DIR / "bench" / "lower_bound_allocation.sql").read_text()
    seconds, rss, _ = measure(duckdb_child(db, sql, args.memory_limit, args.threads))
    steps.append(Step("allocation (lower bound)", cur_rows, seconds, rss))

    log("one new day arrives: load it, then incremental dbt run and dbt build")
    sys.path.insert(0, str(PROJECT_DIR / "bench"))
    from new_day import write_new_day, write_query_log_new_day

    new_day = work / "new-day.parquet"
    period, day_rows = write_new_day(data / "cur" / "saas-cur", new_day)
    new_queries = work / "new-day-query-log.parquet"
    query_day, query_rows = write_query_log_new_day(data / "clickhouse", new_queries)
    load_cur = [sys.executable, "-m", "ingest", "cur", "--db", str(db), "--export", "saas-cur"]
    load_queries = [sys.executable, "-m", "ingest", "query-log", "--db", str(db)]
    measure([*load_cur, str(new_day), "--quiet"], env)
    measure([*load_queries, str(new_queries), "--quiet"], env)
    log(
        f"new day: {day_rows:,} CUR lines in billing period {period}, "
        f"{query_rows:,} query_log rows on {query_day}"
    )
    seconds, rss, _ = measure([dbt, "run", *dbt_args], env)
    steps.append(Step("dbt run (incremental, new day)", cur_rows + day_rows, seconds, rss))
    # a second new day for the build, so the build too has something new to do
    # (the month's delivery restated with its second day; the query_log day exported again)
    new_day_2 = work / "new-day-2.parquet"
    with_second_day(new_day, new_day_2)
    measure([*load_cur, str(new_day_2), "--quiet"], env)
    measure([*load_queries, str(new_queries), "--quiet"], env)
    seconds, rss, _ = measure([dbt, "build", *dbt_args], env)
    steps.append(Step("dbt build (incremental, new day)", cur_rows + 2 * day_rows, seconds, rss))

    by_name = {s.name: s for s in steps}
    ratios = {
        "ingest / lower bound": by_name["ingest CUR (ours)"].seconds
        / by_name["ingest CUR (lower bound)"].seconds,
        "dbt run / lower bound": by_name["dbt run (models)"].seconds
        / by_name["allocation (lower bound)"].seconds,
        "dbt build / lower bound": by_name["dbt build (models + tests)"].seconds
        / by_name["allocation (lower bound)"].seconds,
        "incremental run / full run": by_name["dbt run (incremental, new day)"].seconds
        / by_name["dbt run (models)"].seconds,
        "incremental build / full build": by_name["dbt build (incremental, new day)"].seconds
        / by_name["dbt build (models + tests)"].seconds,
    }
    return {
        "cur_lines": cur_rows,
        "query_log_rows": query_log_rows,
        "allocation_rows": allocation_rows,
        "memory_limit": args.memory_limit,
        "threads": args.threads,
        "steps": [{**asdict(s), "rows_per_second": s.rows_per_second} for s in steps],
        "ratios": ratios,
    }


def print_report(result: dict[str, object]) -> None:
    print(
        f"\n{result['cur_lines']:,} CUR lines, {result['query_log_rows']:,} query_log rows, "
        f"memory limit {result['memory_limit']}, {result['threads']} threads"
    )
    print(f"{'step':<30} {'rows':>13} {'wall s':>9} {'rows/s':>13} {'peak RSS MB':>12}")
    for s in result["steps"]:  # type: ignore[union-attr]
        print(
            f"{s['name']:<30} {s['rows']:>13,} {s['seconds']:>9.1f} "
            f"{s['rows_per_second']:>13,.0f} {s['peak_rss_mb']:>12,.0f}"
        )
    for name, ratio in result["ratios"].items():  # type: ignore[union-attr]
        print(f"{name:<30} {ratio:>9.2f}x")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cur-lines", type=int, default=1_000_000)
    parser.add_argument("--query-log-rows", type=int, default=None, help="default: = cur lines")
    parser.add_argument("--memory-limit", default="8GB", help="DuckDB memory_limit everywhere")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--work-dir", default=str(PROJECT_DIR / "bench_data" / "run"))
    parser.add_argument("--reuse-data", action="store_true", help="keep generated files")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    result = run(args)
    print_report(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(PROJECT_DIR))
    raise SystemExit(main())
