"""``python -m ingest diff``: one pool's driver changed in a git copy of the project, diffed
against its last commit on scratch copies of the sample warehouse (which stays untouched)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from ingest import diff
from ingest.project import RULES_ENV, SAMPLE_RULES
from ingest.tests.conftest import PROJECT_DIR, copy_project

POOLS = f"{SAMPLE_RULES}/allocation_pools.csv"
# the sample's ingress load balancer split by requests; its listed alternative is active tenants
# (allocation_pool_alternatives.csv: alb_by_tenants)
BY_REQUESTS = "ingress_alb,10,tag:service,ingress-alb,driver,requests,"
BY_TENANTS = "ingress_alb,10,tag:service,ingress-alb,driver,active_tenants,"


def checksum(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def git_project(dest: Path) -> Path:
    """A copy of the dbt project as a git repository with one commit."""
    project = copy_project(dest)
    for args in (("init", "-q"), ("add", "-A"), ("commit", "-qm", "rules")):
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
            cwd=project,
            check=True,
        )
    return project


def ingest_diff(db: Path, project: Path, *args: str, rules: str = SAMPLE_RULES):
    return subprocess.run(
        [sys.executable, "-m", "ingest", "diff", "--db", str(db), "--project", str(project), *args],
        cwd=PROJECT_DIR,
        env={**os.environ, RULES_ENV: rules},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@dataclass
class Runs:
    db: Path
    checksum: str
    noop: subprocess.CompletedProcess[str]
    changed: subprocess.CompletedProcess[str]
    saved_base: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def runs(built_sample: Path, tmp_path_factory: pytest.TempPathFactory) -> Runs:
    """Five dbt builds in all: the unchanged rules against HEAD (no-op), then the ALB pool
    split by active tenants against HEAD, and against the sample warehouse as saved."""
    root = tmp_path_factory.mktemp("diff")
    db = root / "warehouse.duckdb"
    shutil.copyfile(built_sample, db)
    before = checksum(db)
    project = git_project(root / "project")
    noop = ingest_diff(db, project, "--base", "HEAD", "--fail-above", "0.01")
    pools = project / POOLS
    text = pools.read_text()
    assert BY_REQUESTS in text
    pools.write_text(text.replace(BY_REQUESTS, BY_TENANTS))
    changed = ingest_diff(db, project, "--base", "HEAD", "--json", "--fail-above", "1%")
    # the sample warehouse was built with the committed rules: the same base, read as it is
    saved_base = ingest_diff(
        db, project, "--base", str(built_sample), "--top", "100", "--fail-above", "1000000"
    )
    return Runs(db, before, noop, changed, saved_base)


def test_a_rule_change_names_who_gains_and_who_loses(runs: Runs) -> None:
    assert runs.changed.returncode == 1, runs.changed.stderr
    result = json.loads(runs.changed.stdout)
    products = result["dimensions"]["product"]["targets"]
    gainers = {t["target"] for t in products if Decimal(t["moved"]) > 0}
    losers = {t["target"] for t in products if Decimal(t["moved"]) < 0}
    assert gainers and losers and not gainers & losers
    text = result["markdown"]
    assert "Who gains" in text and "Who loses" in text
    assert " USD moved between " in text and " products" in text
    for target in gainers | losers:
        assert f"| {target} |" in text
    # each move is head minus base, to the cent
    for t in products:
        assert Decimal(t["head_cost"]) - Decimal(t["base_cost"]) == Decimal(t["moved"])


def test_moves_sum_to_zero_per_currency(runs: Runs) -> None:
    result = json.loads(runs.changed.stdout)
    for name in ("product", "customer", "feature", "team"):
        dim = result["dimensions"][name]
        assert dim["targets"], name
        sums: dict[str, Decimal] = {}
        for t in dim["targets"]:
            sums[t["currency"]] = sums.get(t["currency"], Decimal(0)) + Decimal(t["moved"])
        # rounded moves may leave a cent or two per target; the exact net is zero
        for currency, total in sums.items():
            assert abs(total) <= Decimal("0.01") * len(dim["targets"]), (name, currency)
            assert dim["net"][currency] == "0.00", (name, dim["net"])
    # a driver swap inside one pool leaves unallocated money where it was
    assert result["dimensions"]["unallocated_reason"]["targets"] == []
    assert "Net of all moves: 0.00 USD (conserved)" in result["markdown"]


def test_the_changed_pool_is_listed_and_only_it(runs: Runs) -> None:
    result = json.loads(runs.changed.stdout)
    assert {p["dimension"] for p in result["pools"]} == {"ingress_alb"}
    assert "### Pools whose split changed: 1" in result["markdown"]
    assert "| ingress_alb |" in result["markdown"]
    # the pool's own moves are the products' moves (to the cent): nothing else changed
    per_product = {(p["month"], p["target"]): Decimal(p["moved"]) for p in result["pools"]}
    products = result["dimensions"]["product"]["targets"]
    assert len(per_product) == len(products)
    for t in products:
        assert abs(per_product[(t["month"], t["target"])] - Decimal(t["moved"])) <= Decimal("0.01")


def test_fail_above_exits_1_naming_the_targets(runs: Runs) -> None:
    result = json.loads(runs.changed.stdout)
    crossed = result["crossed_fail_above"]
    assert crossed and all(abs(c["moved_pct"]) > 1 for c in crossed)
    assert "fail-above 1 %" in runs.changed.stderr
    for c in crossed:
        assert f"{c['dimension']} {c['target']} {c['month']}" in runs.changed.stderr


def test_a_saved_warehouse_as_base_gives_the_same_moves(runs: Runs) -> None:
    assert runs.saved_base.returncode == 0, runs.saved_base.stderr  # below --fail-above
    from_git = json.loads(runs.changed.stdout)["dimensions"]["product"]["targets"]
    for t in from_git:
        assert f"| {t['target']} | {float(t['base_cost']):,.2f} |" in runs.saved_base.stdout


def test_no_change_prints_no_money_moved(runs: Runs) -> None:
    assert runs.noop.returncode == 0, runs.noop.stderr
    assert "no money moved" in runs.noop.stdout
    assert "Who gains" not in runs.noop.stdout


def test_the_warehouse_is_only_read(runs: Runs) -> None:
    assert checksum(runs.db) == runs.checksum


def test_a_bad_ref_exits_2_and_changes_nothing(built_sample: Path, tmp_path: Path) -> None:
    db = tmp_path / "warehouse.duckdb"
    shutil.copyfile(built_sample, db)
    before = checksum(db)
    project = git_project(tmp_path / "project")
    done = ingest_diff(db, project, "--base", "no-such-branch")
    assert done.returncode == 2
    assert "'no-such-branch' is not a git revision" in done.stderr
    # a rule folder the revision does not have
    shutil.copytree(project / SAMPLE_RULES, project / "seeds/examples/other_company")
    done = ingest_diff(db, project, "--base", "HEAD", rules="seeds/examples/other_company")
    assert done.returncode == 2
    assert "has no rule folder seeds/examples/other_company/" in done.stderr
    assert checksum(db) == before
    assert not list(tmp_path.glob("*.wal"))


def test_a_failed_build_exits_2_with_dbts_error(built_sample: Path, tmp_path: Path) -> None:
    db = tmp_path / "warehouse.duckdb"
    shutil.copyfile(built_sample, db)
    before = checksum(db)
    project = git_project(tmp_path / "project")
    pools = project / POOLS
    pools.write_text(pools.read_text() + "broken,10,tag:service\n")  # too few columns
    done = ingest_diff(db, project, "--base", "HEAD")
    assert done.returncode == 2, done.stdout
    assert "dbt build under the working-tree rules failed; dbt said:" in done.stderr
    assert "allocation_pools" in done.stderr
    assert checksum(db) == before


@pytest.mark.parametrize(
    ("threshold", "expected"),
    [("100", []), ("99.99", ["a"]), ("10%", ["a", "new"]), ("50%", ["new"])],
)
def test_fail_above_amount_or_percent(threshold: str, expected: list[str]) -> None:
    moves = [
        diff.Move("product", "2026-09", "USD", "a", Decimal("500"), Decimal("400")),  # -20 %
        diff.Move("product", "2026-09", "EUR", "b", Decimal("1000"), Decimal("1050")),  # +5 %
        diff.Move("team", "2026-09", "USD", "new", Decimal("0"), Decimal("50")),  # no base
    ]
    result = diff.Diff("base", "head", ["2026-09"], {"product": moves[:2], "team": moves[2:]})
    parsed = diff.parse_threshold(threshold)
    assert sorted(m.target for m in diff.crossed(result, parsed)) == expected


def test_a_bad_threshold_is_refused() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ingest", "diff", "--base", "HEAD", "--fail-above", "lots"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "is not an amount or a percent" in done.stderr
