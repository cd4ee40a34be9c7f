"""The benchmark script runs end to end (a smoke run at 250 k CUR lines; the figures in
docs/benchmarks.md are measured at 10 M and 100 M).

A benchmark, not a timed test: this checks that every measured step ran on the same data and
reported its figures, never how fast it was.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ingest.tests.conftest import PROJECT_DIR


def test_bench_smoke_run(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(PROJECT_DIR / "bench" / "run.py"),
            "--cur-lines",
            "250000",
            "--work-dir",
            str(tmp_path / "work"),
            "--json",
            str(out),
        ],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert 240_000 <= result["cur_lines"] <= 260_000
    assert result["query_log_rows"] >= 250_000
    assert result["allocation_rows"] > 0
    steps = {s["name"]: s for s in result["steps"]}
    assert set(steps) == {
        "ingest CUR (ours)",
        "ingest CUR (lower bound)",
        "ingest query_log (ours)",
        "ingest query_log (lower bound)",
        "dbt build (models + tests)",
        "dbt build (scheduled job)",
        "dbt run (models)",
        "allocation (lower bound)",
        "dbt run (incremental, new day)",
        "dbt build (incremental, new day)",
        "scheduled job (incremental, new day)",
    }
    for name, step in steps.items():
        if name.startswith("ingest query_log"):
            assert step["rows"] == result["query_log_rows"], step
        elif "incremental" in name:
            assert step["rows"] > result["cur_lines"], step  # the bill plus the new day(s)
        else:
            assert step["rows"] == result["cur_lines"], step  # every pair saw the same bill
        assert step["seconds"] > 0 and step["peak_rss_mb"] > 0 and step["peak_spill_mb"] >= 0
    assert set(result["ratios"]) == {
        "ingest / lower bound",
        "query_log ingest / lower bound",
        "dbt run / lower bound",
        "dbt build / lower bound",
        "incremental run / full run",
        "incremental run / full build",
        "incremental build / full build",
        "scheduled job: incremental / full",
    }
    assert result["end_to_end_seconds"] > steps["dbt build (models + tests)"]["seconds"]
    # where the time goes: the slowest nodes of every dbt step, from dbt's run_results.json
    dbt_steps = {name for name in steps if "dbt" in name or "scheduled" in name}
    assert set(result["profiles"]) == dbt_steps
    assert all(len(nodes) > 0 for nodes in result["profiles"].values())
    # ... and how each dbt step's wall time splits: dbt's fixed cost, models, tests
    assert set(result["breakdowns"]) == dbt_steps
    for name, b in result["breakdowns"].items():
        assert b["wall_s"] == round(steps[name]["seconds"], 2), name
        assert b["fixed_s"] > 0 and b["node_phase_s"] > 0 and b["models"] > 0, (name, b)
    assert result["breakdowns"]["dbt build (models + tests)"]["tests"] > 0
    assert result["breakdowns"]["dbt run (models)"]["tests"] == 0
    assert sum(result["end_to_end_parts"].values()) == result["end_to_end_seconds"]
    # every row of the performance targets, measured here or saying how to measure it
    targets = {t["measure"].split(":")[0]: t for t in result["targets"]}
    assert len(result["targets"]) == 10
    measured = [t for t in result["targets"] if t["value"] is not None]
    assert {t["met"] for t in measured} <= {True, False}
    assert all(t["where"] for t in measured if t["met"] is False)
    unmeasured = [t for t in result["targets"] if t["value"] is None]
    assert {t["met"] for t in unmeasured} <= {None}
    assert all("run with --" in t["shown"] for t in unmeasured)
    assert targets["make test on a fresh clone"]["met"] is None
    assert "ingest / lower bound" in proc.stdout  # the printed table
    assert "where the time goes" in proc.stdout
    assert "targets (each measured in this run)" in proc.stdout
