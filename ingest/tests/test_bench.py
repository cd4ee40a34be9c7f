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
        "dbt build (models + tests)",
        "dbt build (scheduled job)",
        "dbt run (models)",
        "allocation (lower bound)",
        "dbt run (incremental, new day)",
        "dbt build (incremental, new day)",
        "scheduled job (incremental, new day)",
    }
    for name, step in steps.items():
        if name == "ingest query_log (ours)":
            assert step["rows"] == result["query_log_rows"], step
        elif "incremental" in name:
            assert step["rows"] > result["cur_lines"], step  # the bill plus the new day(s)
        else:
            assert step["rows"] == result["cur_lines"], step  # every pair saw the same bill
        assert step["seconds"] > 0 and step["peak_rss_mb"] > 0 and step["peak_spill_mb"] >= 0
    assert set(result["ratios"]) == {
        "ingest / lower bound",
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
    assert "ingest / lower bound" in proc.stdout  # the printed table
    assert "where the time goes" in proc.stdout
