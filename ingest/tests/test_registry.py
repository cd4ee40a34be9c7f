"""The loader is a registry of sources: the machinery (ingest/load/, ingest/registry.py) knows no
source, each source is one module that registers itself, and adding one needs nothing else."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from ingest import registry

INGEST = Path(registry.__file__).resolve().parent
MACHINERY = sorted([INGEST / "registry.py", *(INGEST / "load").glob("*.py")])
SOURCE_MODULES = sorted(p.stem for p in INGEST.glob("*.py") if registry._registers(p))
# Not a source itself: the machinery may use it (the s3:// download of a source command).
SHARED_HELPERS = {"ingest", "ingest.currencies", "ingest.s3"}


def _python(code: str, cwd: Path = INGEST.parent, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **env},
    )


def test_the_known_sources_are_found() -> None:
    assert SOURCE_MODULES == [
        "ai_requests",
        "aws_cur",
        "azure",
        "clickhouse_query_log",
        "cost_explorer",
        "focus",
        "focus_commitments",
        "gcp",
        "oci",
        "opencost",
        "otel_spans",
        "revenue",
        "usage",
    ]
    commands = [s.command for s in registry.sources()]
    assert len(commands) == len(set(commands)) == 14  # revenue.py registers customers too


@pytest.mark.parametrize("module", SOURCE_MODULES)
def test_each_source_imports_alone_and_registers_itself(module: str) -> None:
    """``import ingest.<source>`` in a fresh interpreter: it works, registers its specs, and
    pulls in no other source (the machinery below it knows none)."""
    proc = _python(
        textwrap.dedent(
            f"""
            import json, sys
            import ingest.{module} as m
            from ingest import registry
            sources = [s.spec.source for s in registry._REGISTERED.values()]
            loaded = sorted(n for n in sys.modules if n.startswith("ingest."))
            print(json.dumps({{"sources": sources, "loaded": loaded}}))
            """
        )
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["sources"], f"ingest.{module} registered no source"
    others = {f"ingest.{m}" for m in SOURCE_MODULES} - {f"ingest.{module}"}
    assert not others & set(out["loaded"]), (module, sorted(others & set(out["loaded"])))


def test_machinery_imports_no_source_module() -> None:
    """Importing all of ingest/load/ and the registry loads no source module (at run time) ..."""
    names = [
        "ingest.registry",
        *(f"ingest.load.{p.stem}" for p in MACHINERY if p.parent.name == "load"),
    ]
    proc = _python(
        "import importlib, json, sys\n"
        f"for n in {names!r}: importlib.import_module(n.replace('.__init__', ''))\n"
        "print(json.dumps(sorted(n for n in sys.modules if n.startswith('ingest'))))"
    )
    assert proc.returncode == 0, proc.stderr
    loaded = set(json.loads(proc.stdout))
    machinery = {n for n in loaded if n == "ingest.registry" or n.startswith("ingest.load")}
    assert machinery and loaded - machinery <= SHARED_HELPERS, sorted(loaded - machinery)


def test_machinery_source_names_no_source_module() -> None:
    """... and no import statement of theirs names one, not even inside a function."""
    sources = {f"ingest.{m}" for m in SOURCE_MODULES}
    found = []
    for path in MACHINERY:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                named = {node.module} | {f"{node.module}.{a.name}" for a in node.names}
            elif isinstance(node, ast.Import):
                named = {a.name for a in node.names}
            else:
                continue
            found += [f"{path.name}:{node.lineno} {n}" for n in sorted(named & sources)]
    assert not found


FAKE_SOURCE = '''
"""Meter readings: ``day, meter, reading``: a source added as one module."""

from ingest.load.spec import Column, TableSpec, snake_name
from ingest.registry import Source, register

SPEC = TableSpec(
    source="fake_meter",
    table="raw.fake_meter_readings",
    columns=(
        Column("day", "DATE", required=True),
        Column("meter", "VARCHAR", required=True),
        Column("reading", "DOUBLE", required=True),
    ),
    maps=(),
    normalise=snake_name,
    account_column="meter",
    period_column="day",
    period_grain="day",
    currency_column=None,
    billed_column=None,
    natural_key=("day", "meter"),
    narrow=True,
)

register(Source(SPEC, command="fake-meter", label="a meter reading file"))
'''


def test_a_new_source_is_one_module(tmp_path: Path) -> None:
    """Drop one module into (a copy of) ingest/: the CLI loads its files through the normal
    path, ``init`` creates its table, and the wrong-file hint of another command names it."""
    shutil.copytree(
        INGEST, tmp_path / "ingest", ignore=shutil.ignore_patterns("tests", "__pycache__")
    )
    (tmp_path / "ingest" / "fake_meter.py").write_text(FAKE_SOURCE)
    readings = tmp_path / "readings.csv"
    readings.write_text("day,meter,reading\n2026-08-01,m1,1.5\n2026-08-02,m1,2.25\n")
    db = tmp_path / "w.duckdb"

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "ingest", *args, "--db", str(db)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={**os.environ, "PYTHONPATH": str(tmp_path)},
        )

    help_text = subprocess.run(
        [sys.executable, "-m", "ingest", "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
    ).stdout
    assert "fake-meter" in help_text and "a meter reading file" in help_text

    loaded = cli("fake-meter", str(readings), "--json", "--quiet")
    assert loaded.returncode == 0, loaded.stderr
    (result,) = json.loads(loaded.stdout)
    assert result["source"] == "fake_meter" and result["rows"] == 2
    again = cli("fake-meter", str(readings), "--json", "--quiet")
    assert again.returncode == 0 and json.loads(again.stdout)[0]["skipped"] is True

    wrong = cli("usage", str(readings), "--quiet")
    assert wrong.returncode == 1
    assert "load it with `python -m ingest fake-meter`" in wrong.stderr, wrong.stderr

    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            "select day::varchar, meter, reading, _source_row from raw.fake_meter_readings "
            "order by _source_row"
        ).fetchall()
    assert rows == [("2026-08-01", "m1", 1.5, 1), ("2026-08-02", "m1", 2.25, 2)]

    db = tmp_path / "fresh.duckdb"  # `cli` reads it at each call
    init = cli("init")
    assert init.returncode == 0, init.stderr
    with duckdb.connect(str(db), read_only=True) as con:
        tables = {t for (t,) in con.execute("select table_name from duckdb_tables()").fetchall()}
    assert "fake_meter_readings" in tables and "usage_metrics" in tables


def test_two_sources_cannot_claim_one_command() -> None:
    taken = registry.by_command("focus")
    assert taken is not None
    with pytest.raises(registry.RegistryError, match="both claim the command 'focus'"):
        registry.register(
            registry.Source(
                taken.spec.__class__(**{**taken.spec.__dict__, "source": "focus_again"}),
                command="focus",
                label="x",
            )
        )
