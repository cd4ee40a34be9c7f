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
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_DIR / "bench"))
from focus_converter import (  # noqa: E402  (bench/ is not a package)
    TARGET_INGEST_OVER_CTAS,
    TARGET_MEMORY_RATIO,
    TARGET_SPEEDUP,
)
from peak import launched, peak_rss_kib  # noqa: E402

BIN = Path(sys.executable).parent
# The targets of the rows measured only here; the ingest / CTAS and focus-converter targets are
# bench/focus_converter.py's.
END_TO_END_S = 60.0
FULL_BUILD_S = 15.0
NEW_DAY_SHARE = 0.15
BIG_BUILD_S = 120.0
MAKE_TEST_S = 600.0


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
    """Run ``argv``; return (wall seconds, its own peak RSS MB (bench/peak.py), stdout).
    Fails loudly on a non-zero exit."""
    report = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-peak-{os.getpid()}.json"
    started = time.perf_counter()
    proc = subprocess.Popen(
        launched(argv, report),
        cwd=PROJECT_DIR,
        env={**os.environ, "PYTHONPATH": str(PROJECT_DIR), **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    out = proc.stdout.read() if proc.stdout else ""
    proc.wait()
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        what = " ".join(a for a in argv[:4] if "\n" not in a)
        raise SystemExit(f"bench: {what} … failed ({proc.returncode}):\n{out[-4000:]}")
    return seconds, peak_rss_kib(report) / 1024, out


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


def profile(run_results: dict[str, Any], top: int = 8) -> list[tuple[str, float]]:
    """The slowest nodes of a dbt command (its run_results.json): where time goes."""
    results = run_results["results"]
    slowest = sorted(results, key=lambda r: r["execution_time"], reverse=True)[:top]
    return [(r["unique_id"].split(".", 1)[1], round(r["execution_time"], 2)) for r in slowest]


def breakdown(run_results: dict[str, Any], wall: float) -> dict[str, float]:
    """Where a dbt step's wall time went: dbt's fixed cost (starting Python, parsing, connecting:
    the wall time outside dbt's own node phase) and the node phase, with the summed node time
    of models, tests and seeds (summed over dbt's threads, so together more than the phase)."""
    by_type: dict[str, float] = {}
    counts: dict[str, int] = {}
    for r in run_results["results"]:
        kind = r["unique_id"].split(".", 1)[0]
        by_type[kind] = by_type.get(kind, 0.0) + r["execution_time"]
        counts[kind] = counts.get(kind, 0) + 1
    nodes = float(run_results["elapsed_time"])
    return {
        "wall_s": round(wall, 2),
        "fixed_s": round(wall - nodes, 2),
        "node_phase_s": round(nodes, 2),
        "models_s": round(by_type.get("model", 0.0), 2),
        "tests_s": round(by_type.get("test", 0.0) + by_type.get("unit_test", 0.0), 2),
        "seeds_s": round(by_type.get("seed", 0.0), 2),
        "models": counts.get("model", 0),
        "tests": counts.get("test", 0) + counts.get("unit_test", 0),
    }


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

    log("ingest: lower bound (CREATE TABLE AS read_parquet, query_log)")
    query_log = str(data / "clickhouse" / "**" / "*.parquet")
    seconds, rss, _ = measure(
        duckdb_child(
            bound_db,
            f"create table query_log as select * from read_parquet('{query_log}')",
            args.memory_limit,
            args.threads,
        )
    )
    steps.append(
        Step(
            "ingest query_log (lower bound)",
            count(bound_db, "select count(*) from query_log"),
            seconds,
            rss,
        )
    )
    bound_db.unlink(missing_ok=True)
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
    breakdowns: dict[str, dict[str, float]] = {}
    spill_dir = db.with_suffix(".duckdb.tmp")  # DuckDB's default temp_directory

    def dbt_step(name: str, rows: int, *args: str) -> None:
        log(f"dbt {' '.join(args)}")
        with peak_size(spill_dir) as spill:
            seconds, rss, _ = measure([dbt, *args, *dbt_args], env)
        steps.append(Step(name, rows, seconds, rss, round(spill["mb"], 1)))
        run_results = json.loads((work / "target" / "run_results.json").read_text())
        profiles[name] = profile(run_results)
        breakdowns[name] = breakdown(run_results, seconds)

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
        "query_log ingest / lower bound": (
            "ingest query_log (ours)",
            "ingest query_log (lower bound)",
        ),
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
        "end_to_end_parts": {
            "ingest CUR": by_name["ingest CUR (ours)"].seconds,
            "ingest query_log": by_name["ingest query_log (ours)"].seconds,
            "ingest usage, revenue, customers": other_ingest,
            "dbt build": by_name["dbt build (models + tests)"].seconds,
        },
        "profiles": profiles,
        "breakdowns": breakdowns,
    }


def _where_dbt(b: dict[str, float] | None, nodes: list[tuple[str, float]] | None) -> str:
    if not b:
        return ""
    slow = ", ".join(f"{n.split('.', 1)[-1]} {t:.1f} s" for n, t in (nodes or [])[:3])
    return (
        f"dbt fixed cost {b['fixed_s']:.1f} s (start, parse, connect); node phase "
        f"{b['node_phase_s']:.1f} s: {b['models']} models {b['models_s']:.1f} s + "
        f"{b['tests']} tests {b['tests_s']:.1f} s (summed over threads); slowest: {slow}"
    )


def targets(
    result: dict[str, Any],
    big: dict[str, Any] | None = None,
    focus: dict[str, Any] | None = None,
    suite: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Every row of the performance targets, measured in this run: the value, the target,
    whether it is met (None: not measured here, with why), and where the time goes."""
    steps = {s["name"]: s for s in result["steps"]}
    ratios = result["ratios"]
    breakdowns = result.get("breakdowns", {})
    profiles = result.get("profiles", {})
    rows: list[dict[str, Any]] = []

    def row(
        measure: str,
        value: float | None,
        shown: str,
        target: str,
        ok: bool | None,
        where: str = "",
        why_not: str = "",
    ) -> None:
        rows.append(
            {
                "measure": measure,
                "value": value,
                "shown": shown if value is not None else f"not measured ({why_not})",
                "target": target,
                "met": None if value is None else ok,
                "where": where,
            }
        )

    def ingest_row(label: str, ours: str, bound: str) -> None:
        a, b = steps.get(ours), steps.get(bound)
        value = a["seconds"] / b["seconds"] if a and b else None
        row(
            f"ingest / CTAS of the same file: {label}",
            value,
            f"{value:.2f}x" if value else "",
            f"<= {TARGET_INGEST_OVER_CTAS:.2f}x",
            value is not None and value <= TARGET_INGEST_OVER_CTAS,
            f"ours {a['seconds']:.1f} s, {a['peak_rss_mb']:,.0f} MB; CTAS {b['seconds']:.1f} s"
            if a and b
            else "",
        )

    ingest_row("CUR 2.0 parquet", "ingest CUR (ours)", "ingest CUR (lower bound)")
    fr = (focus or {}).get("ratios", {})
    ff = (focus or {}).get("figures", {})
    csv_ratio = fr.get("ingest_over_ctas_time")
    no_focus = "run with --focus-converter" if focus is None else "see focus_converter.py output"
    row(
        "ingest / CTAS of the same file: legacy CUR CSV",
        csv_ratio,
        f"{csv_ratio:.2f}x" if csv_ratio else "",
        f"<= {TARGET_INGEST_OVER_CTAS:.2f}x",
        csv_ratio is not None and csv_ratio <= TARGET_INGEST_OVER_CTAS,
        (
            f"ours {ff['ours_ingest']['wall_s']:.1f} s, CTAS {ff['ctas']['wall_s']:.1f} s "
            f"({(focus or {})['input']['rows']:,} lines)"
        )
        if csv_ratio
        else "",
        no_focus,
    )
    ingest_row("query_log parquet", "ingest query_log (ours)", "ingest query_log (lower bound)")
    fc_time = fr.get("focus_converter_over_ours_time")
    fc_mem = fr.get("focus_converter_over_ours_memory")
    row(
        "CUR -> unified cost table vs focus-converter: time",
        fc_time,
        f"{fc_time:.2f}x faster" if fc_time else "",
        f">= {TARGET_SPEEDUP:g}x faster",
        fc_time is not None and fc_time >= TARGET_SPEEDUP,
        (
            f"ours {ff['ours']['wall_s']:.1f} s = ingest {ff['ours_ingest']['wall_s']:.1f} s + "
            f"dbt {ff['ours_dbt_run']['wall_s']:.1f} s; focus-converter "
            f"{ff['focus_converter']['wall_s']:.1f} s"
        )
        if fc_time
        else "",
        "run with --focus-converter" if focus is None else "focus-converter skipped",
    )
    row(
        "CUR -> unified cost table vs focus-converter: memory",
        fc_mem,
        f"{fc_mem:.2f}x less" if fc_mem else "",
        f">= {TARGET_MEMORY_RATIO:g}x less",
        fc_mem is not None and fc_mem >= TARGET_MEMORY_RATIO,
        (
            f"ours {ff['ours']['peak_rss_mib']:,.0f} MiB, focus-converter "
            f"{ff['focus_converter']['peak_rss_mib']:,.0f} MiB"
        )
        if fc_mem
        else "",
        "run with --focus-converter" if focus is None else "focus-converter skipped",
    )
    e2e = result["end_to_end_seconds"]
    size = f"{result['cur_lines'] / 1e6:.3g} M + {result['query_log_rows'] / 1e6:.3g} M"
    row(
        f"{size} end to end (all ingest + full build)",
        e2e,
        f"{e2e:.1f} s",
        f"<= {END_TO_END_S:g} s",
        e2e <= END_TO_END_S,
        ", ".join(f"{k} {v:.1f} s" for k, v in result.get("end_to_end_parts", {}).items()),
    )
    build = steps["dbt build (models + tests)"]
    row(
        f"full dbt build at {result['cur_lines'] / 1e6:.3g} M",
        build["seconds"],
        f"{build['seconds']:.1f} s",
        f"<= {FULL_BUILD_S:g} s",
        build["seconds"] <= FULL_BUILD_S,
        _where_dbt(breakdowns.get(build["name"]), profiles.get(build["name"])),
    )
    sched = ratios.get("scheduled job: incremental / full")
    name = "scheduled job (incremental, new day)"
    row(
        "scheduled job after one new day / its full run",
        sched,
        f"{sched:.0%}" if sched is not None else "",
        f"<= {NEW_DAY_SHARE:.0%}",
        sched is not None and sched <= NEW_DAY_SHARE,
        _where_dbt(breakdowns.get(name), profiles.get(name)),
        "--lean skips it",
    )
    big_build = None
    if big:
        big_build = {s["name"]: s for s in big["steps"]}["dbt build (models + tests)"]
    under = big["memory_limit"] if big else "4GB"
    row(
        f"{(big or {}).get('cur_lines', 100e6) / 1e6:.3g} M lines under a {under} limit: "
        "full build",
        big_build["seconds"] if big_build else None,
        f"{big_build['seconds']:.1f} s (spilled {big_build['peak_spill_mb']:,.0f} MB)"
        if big_build
        else "",
        f"<= {BIG_BUILD_S:g} s",
        big_build is not None and big_build["seconds"] <= BIG_BUILD_S,
        _where_dbt(
            big["breakdowns"].get("dbt build (models + tests)"),
            big["profiles"].get("dbt build (models + tests)"),
        )
        if big
        else "",
        "run with --big-cur-lines 100000000",
    )
    seconds = (suite or {}).get("seconds")
    row(
        "make test on a fresh clone",
        seconds,
        f"{seconds / 60:.1f} min, {suite['summary']}" if suite else "",
        f"<= {MAKE_TEST_S / 60:g} min",
        seconds is not None and seconds <= MAKE_TEST_S and suite.get("passed", False),
        (suite or {}).get("where", ""),
        "run with --make-test",
    )
    return rows


def print_targets(rows: list[dict[str, Any]]) -> None:
    print("\ntargets (each measured in this run):")
    print(f"{'measure':<58} {'measured':<38} {'target':<15} verdict")
    for r in rows:
        verdict = {True: "met", False: "MISSED", None: "-"}[r["met"]]
        print(f"{r['measure']:<58} {r['shown']:<38} {r['target']:<15} {verdict}")
    missed = [r for r in rows if r["met"] is False and r["where"]]
    if missed:
        print("\nwhere the time goes, for each missed target:")
        for r in missed:
            print(f"  {r['measure']}: {r['where']}")


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


def run_focus_converter(repeat: int, work: Path) -> dict[str, Any] | None:
    """bench/focus_converter.py in a child (its own venv for focus-converter); None when it
    cannot run here (it says why: ../shared absent)."""
    out = work / "focus_converter.json"
    out.unlink(missing_ok=True)
    log(f"focus-converter comparison (bench/focus_converter.py --repeat {repeat})")
    proc = subprocess.run(
        [sys.executable, str(PROJECT_DIR / "bench" / "focus_converter.py")]
        + ["--repeat", str(repeat), "--json", str(out)],
        cwd=PROJECT_DIR,
        env={**os.environ, "PYTHONPATH": str(PROJECT_DIR)},
        stdout=subprocess.PIPE,
        text=True,
    )
    print(proc.stdout, end="")
    if proc.returncode != 0 or not out.exists():
        log(f"focus-converter comparison did not run (exit {proc.returncode})")
        return None
    return json.loads(out.read_text())


def run_make_test(work: Path) -> dict[str, Any]:
    """``make test`` (what CI runs) on a fresh clone of this checkout's HEAD, with ../shared
    beside it as in CI: wall seconds, the pytest summary and its slowest tests."""
    fresh = work / "fresh"
    shutil.rmtree(fresh, ignore_errors=True)
    fresh.mkdir(parents=True)
    clone = fresh / PROJECT_DIR.name
    subprocess.run(["git", "clone", "-q", str(PROJECT_DIR), str(clone)], check=True)
    shared = PROJECT_DIR.parent / "shared"
    if shared.is_dir():
        (fresh / "shared").symlink_to(shared)
    log(f"make test on a fresh clone of HEAD in {clone} (tens of minutes)")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DBT_", "COST_MODEL_"))}
    env.update({"CI": "true", "PYTEST_ADDOPTS": "--durations=10"})
    started = time.perf_counter()
    proc = subprocess.run(
        ["make", "test"],
        cwd=clone,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    seconds = time.perf_counter() - started
    lines = proc.stdout.splitlines()
    summary = next((ln.strip("= ") for ln in reversed(lines) if " in " in ln and "=" in ln), "")
    # pytest --durations lines: "612.31s call     ingest/tests/test_spark.py::test_…"
    timed = (re.match(r"([0-9.]+)s (call|setup|teardown) +(\S+)", ln) for ln in lines)
    slowest = [f"{m[3].split('/')[-1]} ({m[2]}) {float(m[1]):.0f} s" for m in timed if m][:5]
    return {
        "seconds": round(seconds, 1),
        "passed": proc.returncode == 0,
        "summary": summary or f"exit {proc.returncode}",
        "where": "slowest tests: " + ", ".join(slowest),
    }


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
    parser.add_argument(
        "--big-cur-lines",
        type=int,
        help="also measure a lean full build at this size (the 100 M row: 100000000)",
    )
    parser.add_argument("--big-query-log-rows", type=int, default=10_000_000)
    parser.add_argument("--big-memory-limit", default="4GB")
    parser.add_argument(
        "--focus-converter",
        type=int,
        metavar="REPEAT",
        help="also run bench/focus_converter.py --repeat REPEAT (1000: 1.28 M lines)",
    )
    parser.add_argument(
        "--make-test", action="store_true", help="also time `make test` on a fresh clone"
    )
    args = parser.parse_args(argv)
    result = run(args)
    print_report(result)
    big = None
    if args.big_cur_lines:
        big_args = argparse.Namespace(
            **{
                **vars(args),
                "cur_lines": args.big_cur_lines,
                "query_log_rows": args.big_query_log_rows,
                "memory_limit": args.big_memory_limit,
                "lean": True,
                "work_dir": str(Path(args.work_dir) / "big"),
            }
        )
        big = run(big_args)
        print_report(big)
        result["big"] = big
    focus = None
    if args.focus_converter:
        focus = run_focus_converter(args.focus_converter, Path(args.work_dir))
        result["focus_converter"] = focus
    result["targets"] = targets(result, big, focus)
    if args.json:  # written now too: the suite below takes tens of minutes
        args.json.write_text(json.dumps(result, indent=2))
    if args.make_test:
        result["make_test"] = run_make_test(Path(args.work_dir))
        result["targets"] = targets(result, big, focus, result["make_test"])
    print_targets(result["targets"])
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(PROJECT_DIR))
    raise SystemExit(main())
