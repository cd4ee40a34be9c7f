"""Smoke test of bench/focus_converter.py: it runs end to end and reports what it measured.

Only the lower bound and our pipeline run here (no focus-converter venv install in CI), on two
copies of the sample; nothing about time is asserted (a benchmark is not a timed test).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from ingest.tests.conftest import PROJECT_DIR

SCRIPT = PROJECT_DIR / "bench" / "focus_converter.py"
SAMPLE_ROWS = 1281  # data lines of focus_converters_sample-anonymous-aws-export-dataset.csv


def _bench_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_focus_converter", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


def test_smoke_lower_bound_and_ours(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--repeat", "2", "--skip-focus-converter"]
        + ["--work-dir", str(tmp_path / "work"), "--json", str(out)],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "input: " in done.stderr and "[3/3] ours" in done.stderr
    for tool in ("DuckDB lower bound", "ours (ingest + dbt run)", "focus-converter / ours"):
        assert tool in done.stdout

    figures = json.loads(out.read_text())
    rows = 2 * SAMPLE_ROWS
    assert figures["input"]["rows"] == rows
    assert (tmp_path / "work" / "cur_2x.csv").stat().st_size == figures["input"]["bytes"]
    assert figures["figures"]["focus_converter"] is None
    for name in ("lower_bound", "ctas", "ours", "ours_ingest", "ours_dbt_run"):
        fig = figures["figures"][name]
        assert fig["rows"] == rows, name
        assert set(fig) == {"tool", "rows", "wall_s", "rows_per_s", "peak_rss_mib", "rounds_wall_s"}
        assert fig["wall_s"] > 0 and fig["peak_rss_mib"] > 0
    ours = figures["figures"]["ours"]
    parts = figures["figures"]["ours_ingest"], figures["figures"]["ours_dbt_run"]
    assert ours["wall_s"] == pytest.approx(sum(p["wall_s"] for p in parts), abs=0.02)
    assert ours["peak_rss_mib"] == max(p["peak_rss_mib"] for p in parts)
    assert figures["ratios"]["focus_converter_over_ours_time"] is None
    assert figures["ratios"]["ours_over_lower_bound_time"] > 0
    assert figures["ratios"]["ingest_over_ctas_time"] > 0
    targets = figures["targets"]
    assert targets["faster"]["met"] is None and targets["less memory"]["met"] is None
    assert targets["ingest / CTAS"]["met"] in (True, False)  # measured without focus-converter
    assert figures["problems"] == []
    assert figures["input"]["rounds"] == 1
    assert "fct_cost_line_items" in figures["ours_dbt_model_seconds"]
    assert {"cpus", "duckdb", "load_average_before"} <= set(figures["machine"])


def test_peak_rss_is_the_childs(tmp_path: Path) -> None:
    bench = _bench_module()
    run = bench.run_child(
        [
            sys.executable,
            "-c",
            "x = bytearray(300 * 1024 * 1024); x[::4096] = b'1' * len(x[::4096])",
        ],
        tmp_path / "child.log",
    )
    assert run.peak_rss_kib >= 300 * 1024
    assert run.wall_s > 0


def test_peak_rss_is_not_the_parents(tmp_path: Path) -> None:
    # Linux carries a parent's peak RSS into a forked child's ru_maxrss: a benchmark that held
    # its data in memory would report that for every child. The launcher measures the child only.
    bench = _bench_module()
    ballast = bytearray(400 * 1024 * 1024)
    ballast[::4096] = b"1" * len(ballast[::4096])
    run = bench.run_child([sys.executable, "-c", "pass"], tmp_path / "small.log")
    assert run.peak_rss_kib < 100 * 1024, run
    del ballast


def test_failed_child_names_the_log(tmp_path: Path) -> None:
    bench = _bench_module()
    with pytest.raises(bench.BenchError, match="exit 3"):
        bench.run_child(
            [sys.executable, "-c", "import sys; print('boom'); sys.exit(3)"], tmp_path / "c.log"
        )


def test_a_hung_child_is_stopped(tmp_path: Path) -> None:
    # focus-converter hangs instead of exiting when a conversion fails.
    bench = _bench_module()
    with pytest.raises(bench.BenchError, match="no result after"):
        bench.run_child(
            [sys.executable, "-c", "import time; time.sleep(60)"], tmp_path / "c.log", timeout=0.5
        )


def test_missing_shared_data_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bench = _bench_module()
    monkeypatch.setattr(bench, "SAMPLE", tmp_path / "shared" / "absent.csv")
    assert bench.main(["--work-dir", str(tmp_path / "work")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "../shared/data" in err
    assert not (tmp_path / "work").exists()
