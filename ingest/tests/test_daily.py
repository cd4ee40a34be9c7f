"""``python -m ingest daily`` and the published copy readers read (ingest/daily.py, publish.py).

One small sample (3 000 CUR lines) and one warehouse for the module, four ``dbt build`` runs
in order: a first run (loads, builds, publishes); a second with nothing new (loads nothing,
same numbers; ``--strict`` with a warn-only guardrail exits 3 and still publishes); a third
after a new month's CUR delivery with a failing guardrail (exits 1, publishes nothing: readers
keep the last good numbers); a fourth that publishes the new month while a reader holds the
old copy open. Config errors and the reader's choice of file need no build.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from ingest import daily, publish
from ingest.demo import PROJECT_DIR
from ingest.load.db import connect
from ingest.load.spec import UsageError

NEW_MONTH = "BILLING_PERIOD=2026-10"
WARN_ONLY = "{unallocated_thresholds: {default: {warn_pct: 0, error_pct: null}}}"
FAIL_ALL = "{unallocated_thresholds: {default: {warn_pct: 0, error_pct: 0}}}"
TOTALS = """
    select cast(cost_month as varchar), billing_currency,
           sum(allocated_effective_cost)
    from marts.fct_cost_allocation group by all order by all
"""


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ingest", *args],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        env={k: v for k, v in os.environ.items() if k != publish.PUBLISHED_DB_ENV},
    )


# another process holding the warehouse for writing (a load) until its stdin closes
WRITER = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("create or replace table main.touched as select 1 as x")
print("writing", flush=True)
sys.stdin.read()
con.close()
"""


def totals(path: Path) -> list[tuple[str, str, Decimal]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(TOTALS).fetchall()
    finally:
        con.close()


CONFIG = """\
# what `python -m ingest daily` loads, in order
[[load]]
source = "cur"
path = "../deliveries/cur"

[[load]]
source = "query-log"
path = "{sample}/clickhouse"

[[load]]
source = "usage"
path = "{sample}/usage"

[[load]]
source = "revenue"
path = "{sample}/revenue"

[[load]]
source = "customers"
path = "{sample}/customers"

[[load]]
source = "otel-spans"
path = "{sample}/otel"
"""


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A sample, a delivery folder holding the CUR of the first two months, a config."""
    from ingest import sample_data

    root = tmp_path_factory.mktemp("daily")
    sample = root / "sample"
    sample_data.generate(sample, cur_lines=3000)
    cur = root / "deliveries" / "cur"
    shutil.copytree(sample / "cur", cur, ignore=shutil.ignore_patterns(NEW_MONTH))
    wh = root / "warehouse"
    wh.mkdir()
    (wh / "cost_model.toml").write_text(CONFIG.format(sample=sample))
    return {"root": root, "sample": sample, "cur": cur, "db": wh / "cost_model.duckdb"}


@pytest.fixture(scope="module")
def runs(setup: dict[str, Path]) -> dict[str, object]:
    """The four daily runs, in order, with what readers saw in between."""
    # the config sits beside the warehouse (relative paths are relative to it): no --config
    db, out = setup["db"], {}
    started = time.monotonic()
    out["first"] = run_cli("daily", "--db", str(db))
    out["first_seconds"] = time.monotonic() - started
    pub = publish.published_path(db)
    out["first_totals"] = totals(pub) if pub.exists() else []
    out["second"] = run_cli("daily", "--db", str(db), "--json", "--strict", "--vars", WARN_ONLY)
    out["second_totals"] = totals(pub)
    for part in ("data", "metadata"):
        shutil.copytree(
            setup["sample"] / "cur" / "saas-cur" / part / NEW_MONTH,
            setup["cur"] / "saas-cur" / part / NEW_MONTH,
        )
    stamp = publish.stamp_path(pub).read_text()
    out["third"] = run_cli("daily", "--db", str(db), "--vars", FAIL_ALL)
    out["third_totals"] = totals(pub)
    out["third_stamp_unchanged"] = publish.stamp_path(pub).read_text() == stamp
    # a reader (a BI tool) holds the published copy open through the fourth run
    reader = duckdb.connect(str(pub), read_only=True)
    try:
        out["fourth"] = run_cli("daily", "--db", str(db), "--json")
        out["old_reader_totals"] = reader.execute(TOTALS).fetchall()
    finally:
        reader.close()
    out["fourth_totals"] = totals(pub)
    return out


def test_first_run_loads_builds_and_publishes(setup: dict[str, Path], runs: dict) -> None:
    first = runs["first"]
    assert first.returncode == 0, first.stdout + first.stderr
    text = first.stdout
    assert (
        f"daily: warehouse {setup['db']}, config {setup['db'].parent / 'cost_model.toml'}" in text
    )
    for source in ("cur", "query-log", "usage", "revenue", "customers", "otel-spans"):
        assert f"\n  {source} " in text, source
    assert text.count(": loaded — ") == 6, text
    assert "dbt build passed in" in text
    assert "unallocated effective cost by reason:" in text and "untagged" in text
    pub = publish.published_path(setup["db"])
    assert pub == setup["db"].parent / "published" / "cost_model.duckdb"
    assert f"published {pub} in " in text
    months = {m for m, _, _ in runs["first_totals"]}
    assert months == {"2026-08-01", "2026-09-01"}, "only the delivered months are built"
    print(f"\nfirst daily run (3 000-line sample): {runs['first_seconds']:.1f} s")


def test_second_run_loads_nothing_and_keeps_the_numbers(runs: dict) -> None:
    second = runs["second"]
    result = json.loads(second.stdout)
    assert {load["status"] for load in result["loads"]} == {"unchanged"}
    assert all(load["rows"] == 0 for load in result["loads"])
    assert result["build"] == "passed" and result["published"]
    assert runs["second_totals"] == runs["first_totals"]
    # --strict: the warn-only guardrail warned, the run published and exits 3
    assert second.returncode == daily.EXIT_WARNED, second.stderr
    assert any(r["status"] == "WARN" for r in result["unallocated"])
    assert "error: --strict: a guardrail of vars: unallocated_thresholds warned (USD " in (
        second.stderr
    )


def test_breached_guardrail_fails_and_publishes_nothing(runs: dict) -> None:
    third = runs["third"]
    assert third.returncode == daily.EXIT_FAILED, third.stdout + third.stderr
    assert "aws_cur: loaded" in third.stdout, "the new month's delivery was loaded"
    assert "dbt build failed in" in third.stdout
    assert "FAIL" in third.stdout
    assert "error: a guardrail of vars: unallocated_thresholds failed (USD " in third.stderr
    assert "nothing published" in third.stderr
    assert "readers keep the last good copy " in third.stdout
    assert runs["third_stamp_unchanged"]
    assert runs["third_totals"] == runs["first_totals"], "the published copy kept its numbers"


def test_reader_does_not_block_and_sees_new_numbers_after_publish(runs: dict) -> None:
    fourth = runs["fourth"]
    assert fourth.returncode == 0, fourth.stdout + fourth.stderr
    result = json.loads(fourth.stdout)
    assert {load["status"] for load in result["loads"]} == {"unchanged"}
    assert result["build"] == "passed" and result["published"]
    assert runs["old_reader_totals"] == runs["first_totals"], "the open reader kept the old copy"
    new = runs["fourth_totals"]
    assert {m for m, _, _ in new} == {"2026-08-01", "2026-09-01", "2026-10-01"}
    # the months delivered before are unchanged by the new delivery
    assert [r for r in new if r[0] != "2026-10-01"] == runs["first_totals"]


def test_readers_choose_the_published_copy_while_it_is_current(
    setup: dict[str, Path], runs: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    db = setup["db"]
    pub = publish.published_path(db)
    assert runs["fourth"].returncode == 0
    assert publish.reader_path(db) == pub
    assert f"reading the published copy {pub} (published " in capsys.readouterr().err
    proc = run_cli("check-rules", "--db", str(db))
    assert proc.stderr.startswith(f"reading the published copy {pub} (published ")
    # a writer holds the warehouse: readers read the copy and say the warehouse may be newer
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline() == b"writing\n"
        assert publish.reader_path(db) == pub
        assert "is in use by a load or build and may hold newer numbers" in capsys.readouterr().err
    finally:
        writer.communicate(b"", timeout=60)
    # the warehouse changed after the publish and nobody writes: readers read the warehouse
    assert publish.reader_path(db) == db
    err = capsys.readouterr().err
    assert f"reading the warehouse {db}: it changed after the published copy" in err
    done = publish.publish(db)
    assert done.path == pub and publish.is_current(db)
    print(
        f"\npublish of the 3 000-line warehouse ({done.bytes / 1e6:.1f} MB): {done.seconds:.2f} s"
    )


def test_publish_cli_and_no_copy_means_the_warehouse(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    assert publish.reader_path(db) == db
    missing = run_cli("publish", "--db", str(db))
    assert missing.returncode == 1
    assert missing.stderr == f"error: {db} does not exist: load and build the warehouse first\n"
    connect(db).close()
    done = run_cli("publish", "--db", str(db))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"published {tmp_path / 'published' / 'w.duckdb'} (")


# --------------------------------------------------------------------------- configuration


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "cur").mkdir(exist_ok=True)
    path = tmp_path / "cost_model.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[[load]]\nsource = "cur"\npath = "cur"\n\n[[load]]\nsource = "cru"\npath = "cur"\n',
            ", line 6: [[load]] #2: source 'cru' is not a source daily loads (did you mean "
            "'cur'?); use one of ai-requests, azure, cur, customers, focus,",
        ),
        (
            '[[load]]\nsource = "usage"\n',
            ", line 1: [[load]] #1 (source 'usage') has no path; add path = a file, a folder "
            'or "s3://bucket/prefix"',
        ),
        (
            '[[load]]\npath = "cur"\n',
            ", line 1: [[load]] #1 has no source; add source = one of ai-requests, azure, cur,",
        ),
        (
            '[[load]]\nsource = "cur"\npath = "cur"\nexprt = "x"\n',
            ", line 4: [[load]] #1: 'exprt' is not an option of source 'cur' (did you mean "
            "'export'?); its options: allow_currency, allow_shrink, export, force, header_file, "
            "replace, shrink_limit",
        ),
        (
            '[[load]]\nsource = "cur"\npath = "cur"\nallow_shrink = "yes"\n',
            ", line 4: [[load]] #1: allow_shrink must be true or false, not 'yes'",
        ),
        (
            '[[load]]\nsource = "usage"\npath = "nowhere"\n',
            ", line 3: [[load]] #1: path {tmp}/nowhere does not exist",
        ),
        ('[[load]\nsource = "cur"\n', ": not valid TOML: "),
        ("[daily]\nstrict = true\n", ": unknown table or key 'daily'; only [[load]] tables"),
        ("# nothing\n", ": no [[load]] table; add one per source, e.g."),
    ],
)
def test_config_errors_name_the_line_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(UsageError) as err:
        daily.read_config(path)
    assert str(err.value).startswith(f"{path}{message.format(tmp=tmp_path)}"), str(err.value)


def test_config_errors_exit_2_before_touching_the_warehouse(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    proc = run_cli("daily", "--db", str(db))
    assert proc.returncode == 2
    assert proc.stderr.startswith(
        f"error: {tmp_path / 'cost_model.toml'}: no such configuration file; write one with a "
        "[[load]] table per source"
    )
    assert not db.exists()


def test_config_resolves_relative_paths_and_options(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[[load]]\nsource = "cur"\npath = "cur"\nexport = "my-cur"\nallow_currency = ["CHC"]\n'
        '[[load]]\nsource = "usage"\npath = "s3://bucket/usage/"\nshrink_limit = 0.2\n',
    )
    cfg = daily.read_config(path)
    assert [(s.source, s.path, s.line) for s in cfg.loads] == [
        ("cur", str(tmp_path / "cur"), 2),
        ("usage", "s3://bucket/usage/", 7),
    ]
    assert cfg.loads[0].options == {"export": "my-cur", "allow_currency": ["CHC"]}
    assert cfg.loads[1].options == {"shrink_limit": 0.2}


def test_a_delivery_holding_a_closed_month_is_loaded_once(tmp_path: Path) -> None:
    """A daily run sees the same CUR folder again and again: once its invoiced month is
    closed, the folder must still count as loaded (it used to be re-diffed on every run)."""
    from ingest import aws_cur
    from ingest.tests.test_load_semantics import cur_csv, totals

    folder = tmp_path / "cur"
    cur_csv(folder / "2026-08.csv", [("a", "2026-08", "Usage", "10", "x")], invoice="INV-1")
    con = connect(tmp_path / "w.duckdb")
    try:
        aws_cur.load(con, folder)
        cur_csv(folder / "2026-09.csv", [("b", "2026-09", "Usage", "4", "x")])
        (second,) = aws_cur.load(con, folder)
        assert not second.skipped
        assert [p.action for p in second.partitions] == ["closed: unchanged", "inserted"]
        (third,) = aws_cur.load(con, folder)
        assert third.skipped, third.summary()
        assert third.summary() == f"aws_cur: unchanged since load {second.load_id}; nothing to do"
        assert totals(con) == [("2026-08", 1, 10), ("2026-09", 1, 4)]
    finally:
        con.close()


def test_metricflow_reads_the_published_copy_beside_a_bi_reader(
    setup: dict[str, Path], runs: dict, tmp_path: Path
) -> None:
    """``mf`` through the profile with COST_MODEL_ACCESS_MODE=read_only shares the copy with a
    BI tool holding it open (read-write, it would fail on the BI tool's lock)."""
    from ingest.demo import run_dbt

    assert runs["fourth"].returncode == 0
    pub = publish.published_path(setup["db"])
    for name in ("dbt_project.yml", "profiles.yml"):
        (tmp_path / name).symlink_to(PROJECT_DIR / name)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DBT_TARGET_PATH", str(tmp_path / "target"))
        env.setenv("DBT_LOG_PATH", str(tmp_path / "logs"))
        parsed = run_dbt(pub, "parse", capture=True)
    assert parsed.returncode == 0, parsed.stdout + parsed.stderr
    env = {
        **os.environ,
        "COST_MODEL_DB": str(pub),
        "COST_MODEL_ACCESS_MODE": "read_only",
        "DBT_PROJECT_DIR": str(tmp_path),
        "DBT_PROFILES_DIR": str(tmp_path),
    }
    query = [
        str(Path(sys.executable).parent / "mf"),
        "query",
        "--metrics",
        "total_cost_usd",
        "--group-by",
        "metric_time__month",
        "--csv",
        str(tmp_path / "out.csv"),
    ]
    bi_tool = duckdb.connect(str(pub), read_only=True)
    try:
        done = subprocess.run(
            query, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
        )
    finally:
        bi_tool.close()
    assert done.returncode == 0, done.stdout + done.stderr
    months = sorted(
        line.split(",")[0][:7] for line in (tmp_path / "out.csv").read_text().splitlines()[1:]
    )
    assert months == ["2026-08", "2026-09", "2026-10"]
