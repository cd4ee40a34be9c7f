"""Benchmark the cost model at a given bill size against DuckDB's own lower bounds.

    python bench/run.py --cur-lines 10000000 [--query-log-rows N] [--memory-limit 4GB]

Generates a workload with the sample generator, then measures in the same run, each step in
its own child process (wall seconds and that process's peak RSS from ``wait4``):

1. CUR ingest with our loader vs ``CREATE TABLE AS SELECT * FROM read_parquet`` of the same
   files;
2. the full ``dbt run`` (models), ``dbt build`` (models + tests) and the scheduled job
   (``dbt build --exclude-resource-type unit_test``: unit tests check code, not data, and
   belong in CI) vs one hand-written DuckDB statement doing the same direct + driver
   allocation (bench/lower_bound_allocation.sql);
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
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
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
    peak_spill_mb: float = 0.0

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


@contextmanager
def peak_size(directory: Path) -> Iterator[dict[str, float]]:
    """Sample the size of ``directory`` (DuckDB's spill files) 4× a second; yields
    {"mb": largest size seen} — what a step wrote to disk because it outgrew memory_limit."""
    seen = {"mb": 0.0}
    done = threading.Event()

    def poll() -> None:
        while not done.wait(0.25):
            try:
                size = sum(f.stat().st_size for f in directory.rglob("*") if f.is_file())
            except OSError:  # a spill file removed while listing
                continue
            seen["mb"] = max(seen["mb"], size / 2**20)

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    try:
        yield seen
    finally:
        done.set()
        thread.join()


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


def with_days(first_day: Path, out: Path, days: int) -> None:
    """The new day's partition re-delivered with ``days`` days: the month restated, as AWS
    does several times a day."""
    import duckdb

    copies = "\n                union all\n".join(
        f"""select * replace (
                    identity_line_item_id || '-{n}' as identity_line_item_id,
                    line_item_usage_start_date + interval {n} day as line_item_usage_start_date,
                    line_item_usage_end_date + interval {n} day as line_item_usage_end_date
                ) from read_parquet('{first_day}')"""
        for n in range(1, days)
    )
    with duckdb.connect() as con:
        con.execute(
            f"""copy (
                select * from read_parquet('{first_day}')
                union all
                {copies}
            ) to '{out}' (format parquet)"""
        )


def profile(target: Path, top: int = 8) -> list[tuple[str, float]]:
    """The slowest nodes of the last dbt command (target/run_results.json): where time goes."""
    results = json.loads((target / "run_results.json").read_text())["results"]
    slowest = sorted(results, key=lambda r: r["execution_time"], reverse=True)[:top]
    return [(r["unique_id"].split(".", 1)[1], round(r["execution_time"], 2)) for r in slowest]


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

    log("ingest: query_log (ours), then usage, revenue, customers")
    seconds, rss, _ = measure(
        [sys.executable, "-m", "ingest", "query-log", str(data / "clickhouse"), "--db", str(db)]
        + ["--quiet"],
        env,
    )
    query_log_rows = count(db, "select count(*) from raw.clickhouse_query_log")
    steps.append(Step("ingest query_log (ours)", query_log_rows, seconds, rss))
    other_ingest = 0.0
    for command, folder in (("usage", "usage"), ("revenue", "revenue"), ("customers", "customers")):
        seconds, _, _ = measure(
            [sys.executable, "-m", "ingest", command, str(data / folder), "--db", str(db)]
            + ["--quiet"],
            env,
        )
        other_ingest += seconds

    dbt = str(BIN / "dbt")
    dbt_args = ["--profiles-dir", str(PROJECT_DIR), "--project-dir", str(PROJECT_DIR)]
    # A scheduled production job: data tests yes, unit tests (code, not data) no; dbt's docs
    # recommend running unit tests in development and CI only.
    scheduled = ["--exclude-resource-type", "unit_test"]
    profiles: dict[str, list[tuple[str, float]]] = {}
    spill_dir = db.with_suffix(".duckdb.tmp")  # DuckDB's default temp_directory

    def dbt_step(name: str, rows: int, *args: str) -> None:
        log(f"dbt {' '.join(args)}")
        with peak_size(spill_dir) as spill:
            seconds, rss, _ = measure([dbt, *args, *dbt_args], env)
        steps.append(Step(name, rows, seconds, rss, round(spill["mb"], 1)))
        profiles[name] = profile(work / "target")

    dbt_step("dbt build (models + tests)", cur_rows, "build", "--full-refresh")
    if not args.lean:
        dbt_step("dbt build (scheduled job)", cur_rows, "build", "--full-refresh", *scheduled)
        dbt_step("dbt run (models)", cur_rows, "run", "--full-refresh")
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
    dbt_step("dbt run (incremental, new day)", cur_rows + day_rows, "run")
    # Each further step gets its own delivery, so it has something new to do: the new month
    # restated with one more day, and the query_log day exported again.
    further = [(2, "dbt build (incremental, new day)", ())]
    if not args.lean:
        further.append((3, "scheduled job (incremental, new day)", scheduled))
    for days, name, extra in further:
        delivery = work / f"new-day-{days}.parquet"
        with_days(new_day, delivery, days)
        measure([*load_cur, str(delivery), "--quiet"], env)
        measure([*load_queries, str(new_queries), "--quiet"], env)
        dbt_step(name, cur_rows + days * day_rows, "build", *extra)

    by_name = {s.name: s for s in steps}
    pairs = {
        "ingest / lower bound": ("ingest CUR (ours)", "ingest CUR (lower bound)"),
        "dbt run / lower bound": ("dbt run (models)", "allocation (lower bound)"),
        "dbt build / lower bound": ("dbt build (models + tests)", "allocation (lower bound)"),
        "incremental run / full run": ("dbt run (incremental, new day)", "dbt run (models)"),
        "incremental run / full build": (
            "dbt run (incremental, new day)",
            "dbt build (models + tests)",
        ),
        "incremental build / full build": (
            "dbt build (incremental, new day)",
            "dbt build (models + tests)",
        ),
        "scheduled job: incremental / full": (
            "scheduled job (incremental, new day)",
            "dbt build (scheduled job)",
        ),
    }
    ratios = {
        name: by_name[a].seconds / by_name[b].seconds
        for name, (a, b) in pairs.items()
        if a in by_name and b in by_name  # --lean skips the second and third full builds
    }
    end_to_end = (
        by_name["ingest CUR (ours)"].seconds
        + by_name["ingest query_log (ours)"].seconds
        + other_ingest
        + by_name["dbt build (models + tests)"].seconds
    )
    return {
        "cur_lines": cur_rows,
        "query_log_rows": query_log_rows,
        "allocation_rows": allocation_rows,
        "memory_limit": args.memory_limit,
        "threads": args.threads,
        "steps": [{**asdict(s), "rows_per_second": s.rows_per_second} for s in steps],
        "ratios": ratios,
        "end_to_end_seconds": end_to_end,
        "profiles": profiles,
    }


def print_report(result: dict[str, object]) -> None:
    print(
        f"\n{result['cur_lines']:,} CUR lines, {result['query_log_rows']:,} query_log rows, "
        f"memory limit {result['memory_limit']}, {result['threads']} threads"
    )
    print(
        f"{'step':<38} {'rows':>13} {'wall s':>9} {'rows/s':>13} {'peak RSS MB':>12} "
        f"{'spilled MB':>11}"
    )
    for s in result["steps"]:  # type: ignore[union-attr]
        print(
            f"{s['name']:<38} {s['rows']:>13,} {s['seconds']:>9.1f} "
            f"{s['rows_per_second']:>13,.0f} {s['peak_rss_mb']:>12,.0f} "
            f"{s['peak_spill_mb']:>11,.0f}"
        )
    for name, ratio in result["ratios"].items():  # type: ignore[union-attr]
        print(f"{name:<34} {ratio:>9.2f}x")
    print(f"end to end (all ingest + dbt build): {result['end_to_end_seconds']:.1f} s")
    print("\nwhere the time goes (slowest nodes per dbt step, seconds):")
    for name, nodes in result["profiles"].items():  # type: ignore[union-attr]
        print(f"  {name}: " + ", ".join(f"{node} {t}" for node, t in nodes[:5]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cur-lines", type=int, default=1_000_000)
    parser.add_argument("--query-log-rows", type=int, default=None, help="default: = cur lines")
    parser.add_argument("--memory-limit", default="8GB", help="DuckDB memory_limit everywhere")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--work-dir", default=str(PROJECT_DIR / "bench_data" / "run"))
    parser.add_argument("--reuse-data", action="store_true", help="keep generated files")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--lean",
        action="store_true",
        help="one full build only (no scheduled-job and `dbt run` full rebuilds, no scheduled "
        "incremental step): a full refresh briefly holds two copies of the line table on disk",
    )
    args = parser.parse_args(argv)
    result = run(args)
    print_report(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(PROJECT_DIR))
    raise SystemExit(main())
