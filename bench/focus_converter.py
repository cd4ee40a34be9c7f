"""Benchmark: our CUR → unified cost model vs the FinOps Foundation's ``focus-converter``.

All three read the same legacy-CUR CSV (the public ``focus-converter`` AWS sample repeated
``--repeat`` times) and are measured in this one run, each in its own child process:

* **focus-converter** 1.0.0 (its CLI, ``convert --provider aws-cur``) in its own venv, pinned
  by ``bench/requirements-focus-converter.txt``, writing the FOCUS columns to parquet (with
  ``--focus-converter-source-columns``, every source column too: its default, about 2× slower);
* **lower bound**: one plain DuckDB ``COPY (SELECT <main FOCUS columns> FROM read_csv(…)) TO
  parquet``: no lineage, no validation, no reconciliation, no amortization;
* **ours**: ``python -m ingest cur`` (load with lineage, validation and reconciliation) then
  ``dbt run --select +fct_cost_line_items`` (amortized, FOCUS-aligned unified table). Our time
  is the sum of the two; our memory is the larger of the two peaks.

Wall time is measured around each child; peak RSS comes from ``os.wait4`` (the child's own
peak, or a reaped descendant's if larger: focus-converter forks writer processes). Figures go to
stdout as a table, progress to stderr, and with ``--json PATH`` to a file.

    python bench/focus_converter.py [--repeat 1000] [--work-dir bench_data/focus_converter]
        [--skip-focus-converter] [--focus-converter-source-columns] [--rounds 1] [--json PATH]

With ``--rounds N`` every tool runs N times, interleaved, and the table shows medians (the
machine is shared: one round is at the mercy of whatever else runs).

Exit codes: 0 figures printed (whether or not the targets are met), 1 a step failed or
``../shared`` is absent, 2 bad command line.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from peak import launched, peak_rss_kib  # noqa: E402  (bench/ is not a package)

SAMPLE = (
    PROJECT_DIR.parent
    / "shared"
    / "data"
    / "aws_cur"
    / "focus_converters_sample-anonymous-aws-export-dataset.csv"
)
REQUIREMENTS = Path(__file__).resolve().with_name("requirements-focus-converter.txt")
DEFAULT_WORK_DIR = PROJECT_DIR / "bench_data" / "focus_converter"
DEFAULT_VENV = PROJECT_DIR / "bench_data" / ".venv-focus"
# The targets: ours against focus-converter on the same file (faster, less memory), and our
# load of the file against DuckDB's own CREATE TABLE AS of it.
TARGET_SPEEDUP = 1.5
TARGET_MEMORY_RATIO = 4.0
TARGET_INGEST_OVER_CTAS = 1.3
# focus-converter never exits when its conversion raises (its writer processes are not daemons
# and are never told to stop), so every child gets a deadline.
CHILD_TIMEOUT_S = 3600.0


class BenchError(Exception):
    """A step failed; the message says which and why."""


def say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- measuring a child


@dataclass
class Run:
    """One child process: wall seconds and peak resident set size."""

    wall_s: float
    peak_rss_kib: int


def run_child(
    cmd: Sequence[str],
    log: Path,
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = CHILD_TIMEOUT_S,
) -> Run:
    """Run ``cmd`` with output to ``log``; its wall time and peak RSS (``ru_maxrss``, KiB).

    The peak is the command's own (bench/peak.py): the largest of it and the descendants it
    waited for, never this process's.
    """
    with log.open("wb") as out:
        started = time.perf_counter()
        report = log.with_suffix(".peak.json")
        proc = subprocess.Popen(
            launched(cmd, report),
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, so a deadline can stop all of it
        )
        timed_out = threading.Event()

        def stop() -> None:
            timed_out.set()
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout, stop)
        timer.start()
        try:
            _, status, _ = os.wait4(proc.pid, 0)
        except BaseException:  # Ctrl-C: the child has its own session, so it is stopped here
            stop()
            os.waitpid(proc.pid, 0)
            raise
        finally:
            timer.cancel()
        wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if timed_out.is_set() or proc.returncode != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-15:]
        why = (
            f"no result after {timeout:.0f} s" if timed_out.is_set() else f"exit {proc.returncode}"
        )
        raise BenchError(
            f"{Path(cmd[0]).name} {' '.join(cmd[1:3])} …: {why} (log: {log})\n  "
            + "\n  ".join(tail)
        )
    return Run(wall, peak_rss_kib(report))


# --------------------------------------------------------------------------- input


def build_input(sample: Path, repeat: int, out: Path) -> tuple[int, int]:
    """Write ``sample``'s lines ``repeat`` times, each copy's line item ids made its own
    (``<copy>-<id>``): a bill with every line twice is refused by the loader, as it should be.
    Returns (bytes, data rows). An existing file with the right number of rows is reused.
    """
    import duckdb

    con = duckdb.connect()
    rows_per_copy = con.execute(
        "SELECT count(*) FROM read_csv(?, all_varchar = true)", [str(sample)]
    ).fetchone()[0]
    rows = repeat * rows_per_copy
    if out.exists():
        (have,) = con.execute(
            "SELECT count(*) FROM read_csv(?, all_varchar = true)", [str(out)]
        ).fetchone()
        if have == rows:
            size = out.stat().st_size
            say(f"  reusing {out} ({size / 1e9:.2f} GB, {rows:,} data rows)")
            return size, rows
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    con.execute(
        f"""
        COPY (
            SELECT * EXCLUDE (copy_number)
                REPLACE (copy_number || '-' || "identity/LineItemId" AS "identity/LineItemId")
            FROM read_csv(?, all_varchar = true), range({int(repeat)}) AS copies(copy_number)
        ) TO '{partial.as_posix().replace("'", "''")}' (HEADER, DELIMITER ',')
        """,
        [str(sample)],
    )
    con.close()
    partial.replace(out)
    size = out.stat().st_size
    say(f"  wrote {out} ({size / 1e9:.2f} GB, {rows:,} data rows)")
    return size, rows


def parquet_rows(path: Path) -> int:
    import duckdb

    pattern = str(path / "**" / "*.parquet") if path.is_dir() else str(path)
    with duckdb.connect() as con:
        got = con.execute("SELECT count(*) FROM read_parquet(?)", [pattern]).fetchone()
    return int(got[0]) if got else 0


# --------------------------------------------------------------------------- focus-converter


def focus_venv(venv: Path, requirements: Path) -> Path:
    """The venv with focus-converter's pinned set; (re)installed when the pins changed."""
    stamp = venv / ".requirements.sha256"
    want = hashlib.sha256(requirements.read_bytes()).hexdigest()
    exe = venv / "bin" / "focus-converter"
    if exe.exists() and stamp.exists() and stamp.read_text().strip() == want:
        say(f"  reusing {venv}")
        return exe
    if venv.exists():
        shutil.rmtree(venv)
    say(f"  creating {venv} and installing {requirements.name} (about a minute)")
    for cmd in (
        [sys.executable, "-m", "venv", str(venv)],
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
            str(requirements),
        ],
    ):
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise BenchError(f"{' '.join(cmd[:4])} … failed:\n{done.stdout}{done.stderr}")
    stamp.write_text(want + "\n")
    return exe


def run_focus_converter(
    exe: Path, data: Path, work: Path, rows: int, *, source_columns: bool = False
) -> tuple[Run, int]:
    """Convert ``data`` with focus-converter's CLI; its run and the rows it wrote."""
    out = work / "focus_converter_out"
    shutil.rmtree(out, ignore_errors=True)
    cmd = [
        str(exe),
        "convert",
        "--provider",
        "aws-cur",  # legacy CUR headers (lineItem/…); "aws" is for Athena's snake_case
        "--data-format",
        "csv",
        "--data-path",
        str(data),
        "--export-path",
        str(out),
        "--export-format",
        "parquet",
        # Its default also copies all ~90 source columns into the output, which costs it about
        # twice the time and memory; the FOCUS columns alone are what the others produce.
        "--export-include-source-columns"
        if source_columns
        else "--no-export-include-source-columns",
    ]
    # A failed conversion hangs instead of exiting: allow generously more than it needs
    # (about 10 s per million rows here), not the general hour.
    run = run_child(cmd, work / "focus_converter.log", timeout=120 + rows / 5_000)
    return run, parquet_rows(out)


# --------------------------------------------------------------------------- lower bound


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def lower_bound_sql(data: Path, out: Path) -> str:
    """``COPY (SELECT <main FOCUS columns> FROM read_csv(data)) TO out``, legacy CUR names.

    Columns the file does not have become NULL (this sample has no ``lineItem/ResourceId`` and
    no ``resourceTags/…``), as a converter would write them.
    """
    with data.open(newline="", encoding="utf-8") as fh:
        header = next(csv.reader(fh))
    have = set(header)

    def col(*names: str, cast: str = "VARCHAR") -> str:
        for name in names:
            if name in have:
                return f"CAST(NULLIF({_ident(name)}, '') AS {cast})"
        return f"CAST(NULL AS {cast})"

    money = "DECIMAL(38, 12)"
    unblended = col("lineItem/UnblendedCost", cast=money)
    line_type = col("lineItem/LineItemType")
    tag_columns = [h for h in header if h.startswith("resourceTags/")]
    if tag_columns:
        entries = ", ".join(
            f"struct_pack(k := {_literal(h.removeprefix('resourceTags/'))}, v := {_ident(h)})"
            for h in tag_columns
        )
        tags = f"map_from_entries(list_filter([{entries}], e -> coalesce(e.v, '') <> ''))"
    else:
        tags = "CAST(map() AS MAP(VARCHAR, VARCHAR))"
    select = f"""
        SELECT
            'AWS' AS Provider,
            {col("bill/PayerAccountId")} AS BillingAccountId,
            {col("lineItem/UsageAccountId")} AS SubAccountId,
            {col("bill/BillingPeriodStartDate", cast="TIMESTAMP")} AS BillingPeriodStart,
            {col("lineItem/UsageStartDate", cast="TIMESTAMP")} AS ChargePeriodStart,
            {col("lineItem/UsageEndDate", cast="TIMESTAMP")} AS ChargePeriodEnd,
            CASE {line_type}
                WHEN 'Tax' THEN 'Tax'
                WHEN 'Credit' THEN 'Credit'
                WHEN 'Refund' THEN 'Credit'
                WHEN 'Fee' THEN 'Purchase'
                WHEN 'RIFee' THEN 'Purchase'
                WHEN 'SavingsPlanRecurringFee' THEN 'Purchase'
                WHEN 'SavingsPlanUpfrontFee' THEN 'Purchase'
                ELSE 'Usage'
            END AS ChargeCategory,
            {col("product/ProductName", "lineItem/ProductCode")} AS ServiceName,
            {col("product/regionCode", "product/region")} AS Region,
            {col("lineItem/AvailabilityZone")} AS AvailabilityZone,
            {col("lineItem/ResourceId")} AS ResourceId,
            {col("lineItem/LineItemDescription")} AS ChargeDescription,
            {col("lineItem/UsageAmount", cast="DOUBLE")} AS UsageQuantity,
            {col("pricing/unit")} AS UsageUnit,
            {col("lineItem/CurrencyCode")} AS BillingCurrency,
            {unblended} AS BilledCost,
            CASE {line_type}
                WHEN 'SavingsPlanCoveredUsage'
                    THEN {col("savingsPlan/SavingsPlanEffectiveCost", cast=money)}
                WHEN 'DiscountedUsage' THEN {col("reservation/EffectiveCost", cast=money)}
                ELSE {unblended}
            END AS EffectiveCost,
            {col("pricing/publicOnDemandCost", cast=money)} AS ListCost,
            {col("bill/InvoiceId")} AS InvoiceId,
            {tags} AS Tags
        FROM read_csv({_literal(str(data))}, header = true, all_varchar = true)
    """
    return f"COPY ({select}) TO {_literal(str(out))} (FORMAT parquet)"


def lower_bound_child(data: Path, out: Path) -> int:
    """Runs in the child: the plain DuckDB projection, with the warehouse profile's settings."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET preserve_insertion_order = false")
    got = con.execute(lower_bound_sql(data, out)).fetchone()
    print(json.dumps({"rows": int(got[0]) if got else 0}))
    return 0


def run_lower_bound(data: Path, work: Path) -> tuple[Run, int]:
    out = work / "lower_bound.parquet"
    out.unlink(missing_ok=True)
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--lower-bound-child",
        str(data),
        str(out),
    ]
    run = run_child(cmd, work / "lower_bound.log")
    return run, parquet_rows(out)


def ctas_child(data: Path, db: Path) -> int:
    """Runs in the child: ``CREATE TABLE AS SELECT * FROM read_csv`` of the file into a DuckDB
    file, with the loader's settings: what loading it costs DuckDB itself, before any mapping."""
    import duckdb

    con = duckdb.connect(str(db))
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET preserve_insertion_order = false")
    con.execute("CREATE TABLE cur AS SELECT * FROM read_csv(?)", [str(data)])
    con.close()  # rows are counted by the parent, apart from what it times
    return 0


def run_ctas(data: Path, work: Path) -> tuple[Run, int]:
    db = work / "ctas.duckdb"
    for stale in (db, db.with_name(db.name + ".wal")):
        stale.unlink(missing_ok=True)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--ctas-child", str(data), str(db)]
    run = run_child(cmd, work / "ctas.log")
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        got = con.execute("SELECT count(*) FROM cur").fetchone()
    db.unlink(missing_ok=True)
    return run, int(got[0]) if got else 0


# --------------------------------------------------------------------------- ours


def run_ours(data: Path, work: Path) -> tuple[Run, Run, int, int, dict[str, float]]:
    """Load with our CLI, then ``dbt run --select +fct_cost_line_items``.

    Returns the two runs, the rows landed and built, and dbt's own seconds per model.
    """
    import duckdb

    db = work / "ours.duckdb"
    for stale in (db, db.with_name(db.name + ".wal")):
        stale.unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": str(PROJECT_DIR)}
    ingest = run_child(
        [sys.executable, "-m", "ingest", "cur", str(data), "--db", str(db)]
        + ["--export", "bench", "--quiet"],
        work / "ours_ingest.log",
        cwd=PROJECT_DIR,
        env=env,
    )
    with duckdb.connect(str(db), read_only=True) as con:
        got = con.execute("SELECT count(*) FROM raw.aws_cur_line_items").fetchone()
    landed = int(got[0]) if got else 0
    say(f"  ingest: {landed:,} rows landed in {ingest.wall_s:.1f} s")

    dbt = Path(sys.executable).parent / "dbt"
    with tempfile.TemporaryDirectory(prefix="bench-dbt-") as tmp:
        dbt_env = {
            **env,
            "COST_MODEL_DB": str(db),
            # Not /work/main/target: others may be running dbt in this project right now.
            "DBT_TARGET_PATH": str(Path(tmp) / "target"),
            "DBT_LOG_PATH": str(Path(tmp) / "logs"),
        }
        # Not measured: `dbt parse` once, so the measured run keeps dbt's partial parse as a
        # scheduled pipeline does (a cold parse of the project costs about 5 s more).
        run_child(
            [str(dbt), "parse", "--profiles-dir", str(PROJECT_DIR)]
            + ["--project-dir", str(PROJECT_DIR)],
            work / "ours_dbt_parse.log",
            cwd=PROJECT_DIR,
            env=dbt_env,
        )
        run = run_child(
            # `build` without tests rather than `run`: the graph holds a seed (the AI rate card)
            [str(dbt), "build", "--select", "+fct_cost_line_items"]
            + ["--exclude-resource-type", "test", "--exclude-resource-type", "unit_test"]
            + ["--profiles-dir", str(PROJECT_DIR), "--project-dir", str(PROJECT_DIR)],
            work / "ours_dbt.log",
            cwd=PROJECT_DIR,
            env=dbt_env,
        )
        results = json.loads((Path(tmp) / "target" / "run_results.json").read_text())
    models = {
        r["unique_id"].rsplit(".", 1)[-1]: round(float(r["execution_time"]), 2)
        for r in results["results"]
    }
    with duckdb.connect(str(db), read_only=True) as con:
        got = con.execute(
            "SELECT count(*) FROM marts.fct_cost_line_items WHERE source_system = 'aws_cur'"
        ).fetchone()
    rows = int(got[0]) if got else 0
    return ingest, run, landed, rows, models


# --------------------------------------------------------------------------- report


@dataclass
class Figure:
    """One tool's row of the table: the median over the rounds."""

    tool: str
    rows: int
    wall_s: float
    peak_rss_mib: float
    rows_per_s: float = field(init=False)
    rounds_wall_s: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.wall_s = round(self.wall_s, 2)
        self.peak_rss_mib = round(self.peak_rss_mib, 1)
        self.rows_per_s = round(self.rows / self.wall_s) if self.wall_s else 0.0


def figure(tool: str, rows: int, rounds: Sequence[Sequence[Run]]) -> Figure:
    """A tool's figure from its runs per round (several children per round run one after
    another: their times add up and the larger peak counts)."""
    walls = [sum(r.wall_s for r in runs) for runs in rounds]
    peaks = [max(r.peak_rss_kib for r in runs) / 1024 for runs in rounds]
    return Figure(
        tool,
        rows,
        statistics.median(walls),
        statistics.median(peaks),
        rounds_wall_s=[round(w, 2) for w in walls],
    )


def _ratio(a: Figure | None, b: Figure | None, attr: str) -> float | None:
    if a is None or b is None or not getattr(b, attr):
        return None
    return round(getattr(a, attr) / getattr(b, attr), 2)


def render(results: dict[str, Any]) -> str:
    """The table and the verdicts, as printed on stdout."""
    rounds = results["input"]["rounds"]
    head = "wall s" if rounds == 1 else f"wall s (median of {rounds})"
    w = len(head)
    lines = [f"{'tool':<32} {'rows':>11} {head:>{w}} {'rows/s':>11} {'peak RSS MiB':>13}"]
    for f in results["figures"].values():
        if f is not None:
            lines.append(
                f"{f['tool']:<32} {f['rows']:>11,} {f['wall_s']:>{w}.2f} "
                f"{f['rows_per_s']:>11,.0f} {f['peak_rss_mib']:>13,.0f}"
            )
    ratios = results["ratios"]

    def x(v: float | None) -> str:
        return "not measured" if v is None else f"{v:.2f}×"

    lines += [
        "",
        f"focus-converter / ours:  time {x(ratios['focus_converter_over_ours_time'])}, "
        f"memory {x(ratios['focus_converter_over_ours_memory'])}",
        f"ours / lower bound:      time {x(ratios['ours_over_lower_bound_time'])}, "
        f"memory {x(ratios['ours_over_lower_bound_memory'])}",
    ]
    models = sorted(results["ours_dbt_model_seconds"].items(), key=lambda kv: -kv[1])
    dbt_wall = results["figures"]["ours_dbt_run"]["wall_s"]
    lines.append(
        "dbt run's models: "
        + ", ".join(f"{m} {v:.2f} s" for m, v in models if v >= 0.05)
        + f"; the other {dbt_wall - sum(v for _, v in models):.1f} s is dbt starting and parsing"
        " (partial parse kept)"
    )
    lines.append(f"ingest / CTAS of the same file: time {x(ratios['ingest_over_ctas_time'])}")
    for name, t in results["targets"].items():
        met = {True: "met", False: "NOT met", None: "not measured"}[t["met"]]
        if name == "ingest / CTAS":
            lines.append(f"target: our ingest ≤ {t['target']:.1f}× DuckDB's CTAS: {met}")
        else:
            lines.append(f"target: ours ≥ {t['target']:.1f}× {name} than focus-converter: {met}")
    return "\n".join(lines)


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Build the input, run every tool ``args.rounds`` times (interleaved), return figures."""
    import duckdb

    work: Path = args.work_dir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    say(f"input: {SAMPLE.name} × {args.repeat}")
    data = work / f"cur_{args.repeat}x.csv"
    size, expected = build_input(SAMPLE, args.repeat, data)

    exe = None
    if not args.skip_focus_converter:
        say("focus-converter venv")
        exe = focus_venv(args.venv.resolve(), REQUIREMENTS)

    fc_runs: list[list[Run]] = []
    bound_runs: list[list[Run]] = []
    ingest_runs: list[list[Run]] = []
    dbt_runs: list[list[Run]] = []
    rows: dict[str, int] = {}
    model_seconds: dict[str, list[float]] = {}
    ctas_runs: list[list[Run]] = []
    steps = 3 if exe is None else 4
    for r in range(1, args.rounds + 1):
        n = 0
        tag = f"round {r}/{args.rounds}, " if args.rounds > 1 else ""
        if exe is not None:
            n += 1
            say(f"[{tag}{n}/{steps}] focus-converter convert --provider aws-cur → parquet")
            run, rows["focus_converter"] = run_focus_converter(
                exe, data, work, expected, source_columns=args.focus_converter_source_columns
            )
            fc_runs.append([run])
            say(f"  {rows['focus_converter']:,} rows in {run.wall_s:.1f} s, {_mib(run)}")
        n += 1
        say(f"[{tag}{n}/{steps}] lower bound: DuckDB COPY (SELECT … FROM read_csv) TO parquet")
        run, rows["lower_bound"] = run_lower_bound(data, work)
        bound_runs.append([run])
        say(f"  {rows['lower_bound']:,} rows in {run.wall_s:.1f} s, {_mib(run)}")
        n += 1
        say(f"[{tag}{n}/{steps}] CTAS: DuckDB CREATE TABLE AS SELECT * FROM read_csv")
        run, rows["ctas"] = run_ctas(data, work)
        ctas_runs.append([run])
        say(f"  {rows['ctas']:,} rows in {run.wall_s:.1f} s, {_mib(run)}")
        n += 1
        say(f"[{tag}{n}/{steps}] ours: python -m ingest cur, then dbt run +fct_cost_line_items")
        ingest, dbt, rows["ours_ingest"], rows["ours"], models = run_ours(data, work)
        for model, seconds in models.items():
            model_seconds.setdefault(model, []).append(seconds)
        ingest_runs.append([ingest])
        dbt_runs.append([dbt])
        say(f"  dbt run: {rows['ours']:,} rows in {dbt.wall_s:.1f} s, {_mib(dbt)}")

    fc_label = "focus-converter 1.0.0" + (
        " (+src cols)" if args.focus_converter_source_columns else ""
    )
    fc = figure(fc_label, rows["focus_converter"], fc_runs) if fc_runs else None
    bound = figure("DuckDB lower bound", rows["lower_bound"], bound_runs)
    ctas = figure("DuckDB CTAS (read_csv *)", rows["ctas"], ctas_runs)
    ours = figure(
        "ours (ingest + dbt run)",
        rows["ours"],
        [i + d for i, d in zip(ingest_runs, dbt_runs, strict=True)],
    )
    load_fig = figure("  ingest (load + reconcile)", rows["ours_ingest"], ingest_runs)
    dbt_fig = figure("  dbt run +fct_cost_line_items", rows["ours"], dbt_runs)

    problems = [
        f"{f.tool.strip()}: {f.rows:,} rows, expected {expected:,}"
        for f in (fc, bound, ctas, load_fig, ours)
        if f is not None and f.rows != expected
    ]
    ratios = {
        "focus_converter_over_ours_time": _ratio(fc, ours, "wall_s"),
        "focus_converter_over_ours_memory": _ratio(fc, ours, "peak_rss_mib"),
        "ours_over_lower_bound_time": _ratio(ours, bound, "wall_s"),
        "ours_over_lower_bound_memory": _ratio(ours, bound, "peak_rss_mib"),
        "ingest_over_ctas_time": _ratio(load_fig, ctas, "wall_s"),
    }

    def target(value: float | None, want: float, at_most: bool = False) -> dict[str, Any]:
        met = None if value is None else (value <= want if at_most else value >= want)
        return {"target": want, "ratio": value, "met": met}

    return {
        "input": {
            "sample": SAMPLE.name,
            "repeat": args.repeat,
            "path": str(data),
            "bytes": size,
            "rows": expected,
            "rounds": args.rounds,
        },
        "figures": {
            "focus_converter": asdict(fc) if fc else None,
            "lower_bound": asdict(bound),
            "ctas": asdict(ctas),
            "ours": asdict(ours),
            "ours_ingest": asdict(load_fig),
            "ours_dbt_run": asdict(dbt_fig),
        },
        # dbt's own timing of each model (median over rounds); the rest of the dbt run's wall
        # time is dbt starting up and parsing the project.
        "ours_dbt_model_seconds": {
            m: round(statistics.median(v), 2) for m, v in model_seconds.items()
        },
        "ratios": ratios,
        "targets": {
            "faster": target(ratios["focus_converter_over_ours_time"], TARGET_SPEEDUP),
            "less memory": target(ratios["focus_converter_over_ours_memory"], TARGET_MEMORY_RATIO),
            "ingest / CTAS": target(
                ratios["ingest_over_ctas_time"], TARGET_INGEST_OVER_CTAS, at_most=True
            ),
        },
        "problems": problems,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "duckdb": duckdb.__version__,
            "focus_converter": None if exe is None else "1.0.0",
            "focus_converter_source_columns": bool(exe and args.focus_converter_source_columns),
            # Other work on the machine skews wall times: the load average says how busy it was.
            "load_average_before": [round(v, 2) for v in load_before],
            "load_average_after": [round(v, 2) for v in os.getloadavg()],
            "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        },
    }


def _mib(run: Run) -> str:
    return f"peak {run.peak_rss_kib / 1024:,.0f} MiB"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python bench/focus_converter.py",
        description="Time and peak memory of focus-converter, a plain DuckDB lower bound and "
        "our loader + dbt on the same legacy-CUR CSV, measured in one run.",
    )
    p.add_argument(
        "--repeat", type=int, default=1000, help="copies of the 1,281-line sample (default 1000)"
    )
    p.add_argument(
        "--work-dir",
        type=Path,
        default=DEFAULT_WORK_DIR,
        help="input, outputs and logs (default bench_data/focus_converter)",
    )
    p.add_argument(
        "--venv",
        type=Path,
        default=DEFAULT_VENV,
        help="focus-converter's venv (default bench_data/.venv-focus)",
    )
    p.add_argument(
        "--skip-focus-converter", action="store_true", help="measure only the bound and ours"
    )
    p.add_argument(
        "--focus-converter-source-columns",
        action="store_true",
        help="let focus-converter also copy every source column (its default; slower)",
    )
    p.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run every tool this many times, interleaved, and report medians (default 1)",
    )
    p.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON")
    p.add_argument("--lower-bound-child", nargs=2, type=Path, help=argparse.SUPPRESS)
    p.add_argument("--ctas-child", nargs=2, type=Path, help=argparse.SUPPRESS)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.lower_bound_child:
        return lower_bound_child(*args.lower_bound_child)
    if args.ctas_child:
        return ctas_child(*args.ctas_child)
    if args.repeat < 1 or args.rounds < 1:
        build_parser().error("--repeat and --rounds must be at least 1")
    if not SAMPLE.is_file():
        print(
            f"error: {SAMPLE} not found: this benchmark needs ../shared/data beside the project",
            file=sys.stderr,
        )
        return 1
    try:
        results = measure(args)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 1
    print(render(results))
    for problem in results["problems"]:
        print(f"problem: {problem}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
        say(f"figures written to {args.json}")
    return 1 if results["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
