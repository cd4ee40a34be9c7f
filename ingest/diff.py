"""``python -m ingest diff --base REF``: what a rule change does to everyone's cost, before it merges.

The base numbers come from the rules at a git revision (rebuilt on a scratch copy of the
warehouse) or from a saved warehouse file (read as it is); the head numbers from the working
tree's rules, rebuilt on another scratch copy. Both builds start from the same loaded bills: only
the rule seeds and the models downstream of them are rebuilt, and the user's warehouse is only
ever read (docs/review.md).

Exit codes: 0 the diff was made, 1 a target moved more than ``--fail-above``, 2 the diff could
not be made (bad revision, missing rule folder, a dbt build that failed, a locked warehouse).
"""

from __future__ import annotations

import argparse
import filecmp
import io
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import duckdb

from ingest.demo import dbt_console_lines
from ingest.load.db import database_path
from ingest.project import PROJECT_DIR, RULES_ENV, rules_folder

log = logging.getLogger(__name__)

CENT = Decimal("0.01")
# A net under half a cent is zero: the marts carry 12 decimals, the report cents.
NOISE = Decimal("0.005")

# Each reviewed dimension: its label (singular, plural) and the query giving cost per
# month × currency × target from one warehouse. The allocation-based ones read
# allocated_effective_cost, the measure every mart's total_cost sums.
DIMENSIONS: dict[str, tuple[str, str, str]] = {
    "product": (
        "product",
        "products",
        "select cost_month, billing_currency, product, sum(total_cost)"
        " from marts.fct_product_economics_monthly group by all",
    ),
    "customer": (
        "customer",
        "customers",
        "select cost_month, billing_currency, customer_id, sum(total_cost)"
        " from marts.fct_customer_economics_monthly group by all",
    ),
    "feature": (
        "feature",
        "features",
        "select cost_month, billing_currency, product || ' / ' || feature_id, sum(total_cost)"
        " from marts.fct_feature_economics_monthly group by all",
    ),
    "team": (
        "team",
        "teams",
        "select cost_month, billing_currency, team, sum(total_cost)"
        " from marts.fct_team_showback_monthly group by all",
    ),
    "unallocated_reason": (
        "unallocated reason",
        "unallocated reasons",
        "select cost_month, billing_currency, unallocated_reason, sum(allocated_effective_cost)"
        " from marts.fct_cost_allocation where is_unallocated group by all",
    ),
}

# Each shared pool's split: who got how much of each pool (rule), per month and currency.
POOL_SPLIT = """
select cost_month, billing_currency, rule_id,
       coalesce(product, '(unallocated: ' || unallocated_reason || ')'),
       sum(allocated_effective_cost)
from marts.fct_cost_allocation
where source_kind = 'pool_group'
group by all
"""

# The marts a diff reads, and the rule checks (their tests fail a build on a broken rule): a
# build rebuilds only what lies between the changed seeds or models and these.
REBUILT_FOR = (
    "fct_product_economics_monthly",
    "fct_customer_economics_monthly",
    "fct_feature_economics_monthly",
    "fct_team_showback_monthly",
    "fct_cost_allocation",
    "int_allocation__rule_checks",
)

# What the rules are, besides the rule folder: a diff rebuilds with these taken from REF.
RULE_PATHS = ("dbt_project.yml", "models", "macros", "seeds/common", "tests")


class DiffError(Exception):
    """The diff could not be made; the message says what and what to do (exit code 2)."""


@dataclass
class Move:
    """One target's cost under both rule sets."""

    dimension: str
    month: str
    currency: str
    target: str
    base: Decimal
    head: Decimal

    @property
    def moved(self) -> Decimal:
        return self.head - self.base

    @property
    def shown(self) -> Decimal:
        """The move as the tables show it: head minus base, each to the cent, so every row
        ties by eye (the exact move can differ by a cent)."""
        return _cents(self.head) - _cents(self.base)

    @property
    def pct(self) -> float | None:
        """The move as a percent of the base cost; None when the base is zero."""
        return None if self.base == 0 else float(100 * self.moved / abs(self.base))

    def as_dict(self) -> dict[str, object]:
        return {
            "dimension": self.dimension,
            "month": self.month,
            "currency": self.currency,
            "target": self.target,
            "base_cost": str(_cents(self.base)),
            "head_cost": str(_cents(self.head)),
            "moved": str(self.shown),
            "moved_pct": None if self.pct is None else round(self.pct, 2),
        }


@dataclass
class Diff:
    """Every move between the base and the head, per dimension, and the pools whose split
    changed."""

    base_label: str
    head_label: str
    months: list[str]
    moves: dict[str, list[Move]] = field(default_factory=dict)
    pools: list[Move] = field(default_factory=list)
    rebuilt: str = ""
    seconds: float = 0.0
    builds: dict[str, float] = field(default_factory=dict)  # dbt build wall seconds per side

    def net(self, dimension: str) -> dict[str, Decimal]:
        """Σ moved per currency: zero when the dimension's total is conserved."""
        out: dict[str, Decimal] = {}
        for m in self.moves[dimension]:
            out[m.currency] = out.get(m.currency, Decimal(0)) + m.moved
        return out

    def gained(self, dimension: str) -> dict[str, Decimal]:
        """Money moved per currency: what the gainers gained."""
        out: dict[str, Decimal] = {}
        for m in self.moves[dimension]:
            if m.moved > 0:
                out[m.currency] = out.get(m.currency, Decimal(0)) + m.moved
        return out

    def as_dict(self) -> dict[str, object]:
        return {
            "base": self.base_label,
            "head": self.head_label,
            "months": self.months,
            "rebuilt": self.rebuilt,
            "seconds": round(self.seconds, 1),
            "build_seconds": {k: round(v, 1) for k, v in self.builds.items()},
            "money_moved": any(self.moves.values()) or bool(self.pools),
            "dimensions": {
                dim: {
                    "moved": {c: str(_cents(v)) for c, v in sorted(self.gained(dim).items())},
                    "net": {c: str(_cents(v)) for c, v in sorted(self.net(dim).items())},
                    "targets": [m.as_dict() for m in moves],
                }
                for dim, moves in self.moves.items()
            },
            "pools": [m.as_dict() for m in self.pools],
        }


def _cents(value: Decimal) -> Decimal:
    """To the cent, without the -0.00 a tiny negative rounds to."""
    return abs(value.quantize(CENT)) if abs(value) < NOISE else value.quantize(CENT)


def _money(value: Decimal) -> str:
    return f"{_cents(value):,.2f}"


# --- reading marts --------------------------------------------------------------------------


Totals = dict[tuple[str, str, str], Decimal]


def _read(con: duckdb.DuckDBPyConnection, sql: str, month: str | None) -> Totals:
    out: Totals = {}
    for cost_month, currency, target, cost in con.execute(sql).fetchall():
        key_month = f"{cost_month:%Y-%m}"
        if month and key_month != month:
            continue
        key = (key_month, currency, "(none)" if target is None else str(target))
        out[key] = out.get(key, Decimal(0)) + Decimal(cost or 0)
    return out


def read_marts(db: Path, month: str | None) -> tuple[dict[str, Totals], dict[str, Totals]]:
    """Per dimension and per pool: cost per (month, currency, target) in the warehouse ``db``."""
    try:
        con = duckdb.connect(str(db), read_only=True)
    except duckdb.Error as exc:
        raise DiffError(f"cannot open the warehouse {db}: {exc}") from exc
    try:
        dims = {name: _read(con, sql, month) for name, (_, _, sql) in DIMENSIONS.items()}
        pools: dict[str, Totals] = {}
        for cost_month, currency, rule_id, target, cost in con.execute(POOL_SPLIT).fetchall():
            key_month = f"{cost_month:%Y-%m}"
            if month and key_month != month:
                continue
            split = pools.setdefault(str(rule_id), {})
            key = (key_month, currency, target)
            split[key] = split.get(key, Decimal(0)) + Decimal(cost or 0)
    except duckdb.CatalogException as exc:
        raise DiffError(
            f"the warehouse {db} has no built marts ({exc.args[0].splitlines()[0]}): "
            "build it first (`dbt build` or `python -m ingest demo`)"
        ) from exc
    finally:
        con.close()
    return dims, pools


def _moves(dimension: str, base: Totals, head: Totals) -> list[Move]:
    out = []
    for key in sorted(set(base) | set(head)):
        move = Move(dimension, *key, base.get(key, Decimal(0)), head.get(key, Decimal(0)))
        if move.shown != 0:
            out.append(move)
    return out


def compare(
    base: tuple[dict[str, Totals], dict[str, Totals]],
    head: tuple[dict[str, Totals], dict[str, Totals]],
    base_label: str,
    head_label: str,
) -> Diff:
    """The moves between two sets of mart totals (see :func:`read_marts`)."""
    months = sorted({k[0] for totals in (*base[0].values(), *head[0].values()) for k in totals})
    diff = Diff(base_label, head_label, months)
    for dim in DIMENSIONS:
        diff.moves[dim] = _moves(dim, base[0][dim], head[0][dim])
    for pool in sorted(set(base[1]) | set(head[1])):
        moved = _moves(pool, base[1].get(pool, {}), head[1].get(pool, {}))
        diff.pools.extend(moved)
    return diff


# --- building under two rule sets -----------------------------------------------------------


def _git(project: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", "-C", str(project), *args], capture_output=True, check=False)


def _export_ref(project: Path, ref: str, rules: str, dest: Path) -> str:
    """The dbt project as it was at ``ref`` into ``dest``: the rule folder, seeds/common,
    models, macros, tests and dbt_project.yml; profiles.yml (a connection, not a rule) from the
    working tree. Returns the resolved commit."""
    top = _git(project, "rev-parse", "--show-prefix")
    if top.returncode != 0:
        raise DiffError(
            f"{project} is not in a git repository, so --base {ref!r} cannot name a revision: "
            "commit the project to git, or pass a saved warehouse file (--base PATH.duckdb)"
        )
    prefix = top.stdout.decode().strip()
    commit = _git(project, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if commit.returncode != 0:
        raise DiffError(
            f"--base {ref!r} is not a git revision of {project} (nor an existing .duckdb file): "
            "pass a branch, tag or commit (e.g. main, HEAD~1) or a saved warehouse file"
        )
    sha = commit.stdout.decode().strip()
    wanted = [p for p in (*RULE_PATHS, rules) if _exists_at(project, sha, prefix + p)]
    if rules not in wanted:
        raise DiffError(
            f"--base {ref} ({sha[:12]}) has no rule folder {prefix}{rules}/: pick a revision "
            f"that has it, or set {RULES_ENV} to the rule folder that revision uses"
        )
    archive = _git(project, "archive", "--format=tar", f"{sha}:{prefix}", *wanted)
    if archive.returncode != 0:
        raise DiffError(f"git archive {sha[:12]} failed: {archive.stderr.decode().strip()}")
    dest.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(dest, filter="data")
    shutil.copy(project / "profiles.yml", dest / "profiles.yml")
    return sha


def _exists_at(project: Path, sha: str, path: str) -> bool:
    return _git(project, "cat-file", "-e", f"{sha}:{path}").returncode == 0


def _changed(base: Path, head: Path, folder: str, suffix: str) -> list[str]:
    """Stems of the ``suffix`` files under ``folder`` that differ between two project trees."""
    names: set[str] = set()
    for root in (base, head):
        names |= {str(p.relative_to(root)) for p in (root / folder).rglob(f"*{suffix}")}
    return sorted(
        Path(name).stem
        for name in names
        if not (base / name).is_file()
        or not (head / name).is_file()
        or not filecmp.cmp(base / name, head / name, shallow=False)
    )


def selection(base: Path, head: Path, rules: str) -> tuple[list[str], str]:
    """The cheapest ``dbt build`` arguments that rebuild what differs between the two trees,
    and a sentence saying what they rebuild.

    Always the rule folder's seeds and the models between them and the compared marts (the
    warehouse may have been built with other rules than either side); likewise from a common
    seed or model file that differs, fully refreshed (some are incremental); everything when a
    macro or dbt_project.yml differs, since those can change any model."""
    settings = (base / "dbt_project.yml", head / "dbt_project.yml")
    project_changed = not all(p.is_file() for p in settings) or not filecmp.cmp(*settings, False)
    if project_changed or _changed(base, head, "macros", ".sql"):
        return ["--full-refresh"], "every model (a macro or dbt_project.yml differs)"
    roots = [f"path:{rules}"]
    roots += [f"path:seeds/common/{s}.csv" for s in _changed(base, head, "seeds/common", ".csv")]
    models = _changed(base, head, "models", ".sql")
    what = f"the seeds in {rules}/"
    if len(roots) > 1 or models:
        what += ", " + ", ".join([*roots[1:], *models])
    what += " and the models between them and the compared marts"
    select = [f"{root}+,+{mart}" for root in [*roots, *models] for mart in REBUILT_FOR]
    if models or len(roots) > 1:
        # a common seed or model can feed incremental models (fct_cost_line_items)
        return ["--select", *select, "--full-refresh"], what + " (full refresh)"
    return ["--select", *select], what


@dataclass
class _Build:
    name: str
    project: Path
    db: Path
    log: Path
    process: subprocess.Popen[str] | None = None
    started: float = 0.0
    seconds: float = 0.0


def _start(build: _Build, args: list[str], rules: str, scratch: Path) -> None:
    env = {
        **os.environ,
        "COST_MODEL_DB": str(build.db),
        RULES_ENV: rules,
        "DBT_TARGET_PATH": str(scratch / build.name / "target"),
        "DBT_LOG_PATH": str(scratch / build.name / "logs"),
        "DBT_USE_COLORS": "false",
    }
    # unit tests check model logic on fixed rows, not these rules on this data
    env.setdefault("DBT_EXCLUDE_RESOURCE_TYPES", "unit_test")
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    dbt = Path(sys.executable).parent / "dbt"
    project = str(build.project)
    # cautious: a test also reading a mart left out of the selection would compare rebuilt
    # numbers with stale ones; fail-fast: the first error decides, the rest is waiting
    command = [
        str(dbt),
        "build",
        *args,
        "--fail-fast",
        "--indirect-selection",
        "cautious",
        "--project-dir",
        project,
        "--profiles-dir",
        project,
    ]
    build.log.parent.mkdir(parents=True, exist_ok=True)
    build.started = time.monotonic()
    with build.log.open("w") as out:
        build.process = subprocess.Popen(
            command, cwd=project, env=env, stdout=out, stderr=subprocess.STDOUT, text=True
        )


def _wait(builds: list[tuple[_Build, str]]) -> None:
    """Wait for the builds; the first that fails stops the others and raises its dbt errors."""
    running = list(builds)
    failed: tuple[_Build, str] | None = None
    while running and failed is None:
        for item in list(running):
            code = item[0].process.poll() if item[0].process else 0
            if code is None:
                continue
            running.remove(item)
            item[0].seconds = time.monotonic() - item[0].started
            if code != 0:
                failed = item
        time.sleep(0.2)
    for build, _ in running:
        if build.process:
            build.process.terminate()
            build.process.wait()
    if failed is None:
        return
    build, label = failed
    text = build.log.read_text(errors="replace")
    lines = dbt_console_lines(build.db, text, passed=False)
    raise DiffError(
        f"dbt build under the {label} rules failed; dbt said:\n  "
        + "\n  ".join(lines or ["(no output)"])
    )


def _copy_warehouse(db: Path, dest: Path) -> None:
    """A consistent copy: a read-only connection held during the copy keeps writers out."""
    if not db.is_file():
        raise DiffError(
            f"no warehouse at {db}: pass --db, or build one first (`python -m ingest demo`)"
        )
    try:
        con = duckdb.connect(str(db), read_only=True)
    except duckdb.Error as exc:
        raise DiffError(
            f"cannot read the warehouse {db} ({str(exc).splitlines()[0]}): if a load or dbt "
            "build is running, wait for it to finish and run again"
        ) from exc
    try:
        shutil.copyfile(db, dest)
        wal = db.with_name(db.name + ".wal")
        if wal.exists():
            shutil.copyfile(wal, dest.with_name(dest.name + ".wal"))
    finally:
        con.close()


def make_diff(
    db: Path,
    ref: str,
    project: Path = PROJECT_DIR,
    rules: str | None = None,
    month: str | None = None,
) -> Diff:
    """Build under the base (``ref``) and the working-tree rules on scratch copies of ``db``,
    then compare the marts. ``db`` is only read."""
    rules = (rules or rules_folder()).rstrip("/")
    project = project.resolve()
    if not (project / rules).is_dir():
        raise DiffError(
            f"the working tree has no rule folder {project / rules}/: set {RULES_ENV} to the "
            "folder your rules are in (e.g. seeds/examples/sample_company)"
        )
    started = time.monotonic()
    saved = Path(ref)
    with tempfile.TemporaryDirectory(prefix="ingest-diff-") as tmp:
        scratch = Path(tmp)
        head = _Build("head", project, scratch / "head.duckdb", scratch / "head" / "dbt.log")
        if saved.suffix == ".duckdb" or saved.is_file():
            if not saved.is_file():
                raise DiffError(f"--base {ref}: no such warehouse file")
            base_totals = read_marts(saved, month)
            base_label = str(saved)
            build_args = ["--select", *(f"path:{rules}+,+{mart}" for mart in REBUILT_FOR)]
            rebuilt = (
                f"the seeds in {rules}/ and the models between them and the compared marts, "
                "under the working-tree rules only (the base is the saved warehouse as it is)"
            )
            _copy_warehouse(db, head.db)
            _start(head, build_args, rules, scratch)
            _wait([(head, "working-tree")])
            builds = {"head": head.seconds}
        else:
            base_project = scratch / "base-project"
            sha = _export_ref(project, ref, rules, base_project)
            base_label = f"{ref} ({sha[:12]})"
            build_args, rebuilt = selection(base_project, project, rules)
            base = _Build(
                "base", base_project, scratch / "base.duckdb", scratch / "base" / "dbt.log"
            )
            _copy_warehouse(db, base.db)
            shutil.copyfile(base.db, head.db)
            # the two builds share nothing but their inputs: run them side by side
            _start(base, build_args, rules, scratch)
            _start(head, build_args, rules, scratch)
            _wait([(base, f"base ({ref})"), (head, "working-tree")])
            builds = {"base": base.seconds, "head": head.seconds}
            base_totals = read_marts(base.db, month)
        head_totals = read_marts(head.db, month)
    diff = compare(base_totals, head_totals, base_label, "working tree")
    if month and not diff.months:
        raise DiffError(
            f"no cost in {month} under either rule set: pick a month the warehouse holds "
            "(or leave out --month for all of them)"
        )
    diff.rebuilt = rebuilt
    diff.seconds = time.monotonic() - started
    diff.builds = builds
    return diff


# --- the report -----------------------------------------------------------------------------


def _pct(move: Move) -> str:
    return "no base" if move.pct is None else f"{move.pct:+.1f} %"


def _table(moves: list[Move], label: str) -> list[str]:
    lines = [
        f"| month | currency | {label} | base | head | moved | % |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for m in moves:
        lines.append(
            f"| {m.month} | {m.currency} | {m.target} | {_money(m.base)} | {_money(m.head)} "
            f"| {'+' if m.shown > 0 else ''}{_money(m.shown)} | {_pct(m)} |"
        )
    return lines


def _summary(diff: Diff) -> str:
    parts = []
    for dim, (_, plural, _) in DIMENSIONS.items():
        gained = diff.gained(dim)
        if not gained:
            continue
        money = ", ".join(f"{_money(v)} {c}" for c, v in sorted(gained.items()))
        n = len({m.target for m in diff.moves[dim]})
        parts.append(f"{money} moved between {n} {plural}")
    return "; ".join(parts) + "."


def markdown(diff: Diff, top: int = 10) -> str:
    """The diff as Markdown to paste into a pull request."""
    if len(diff.months) > 1:
        months = f"months {diff.months[0]} to {diff.months[-1]}"
    else:
        months = f"month {diff.months[0]}" if diff.months else "no months"
    out = [
        "## Cost allocation change",
        "",
        f"Base: `{diff.base_label}`; head: {diff.head_label}; {months}.",
        "",
    ]
    if not any(diff.moves.values()) and not diff.pools:
        out += [
            "**no money moved**: every product, customer, feature, team and unallocated "
            "reason costs the same under both rule sets (to the cent).",
            "",
        ]
        return "\n".join(out)
    out += [f"**{_summary(diff)}**", ""]
    for dim, (label, _, _) in DIMENSIONS.items():
        moves = diff.moves[dim]
        if not moves:
            continue
        net = ", ".join(f"{_money(v)} {c}" for c, v in sorted(diff.net(dim).items()))
        out += [f"### {label.capitalize()}", ""]
        gains = sorted((m for m in moves if m.shown > 0), key=lambda m: -m.shown)
        losses = sorted((m for m in moves if m.shown < 0), key=lambda m: m.shown)
        for title, rows in (("Who gains", gains), ("Who loses", losses)):
            if rows:
                more = f"; top {top} of {len(rows)}" if len(rows) > top else ""
                way = "up" if title == "Who gains" else "down"
                out += [f"**{title}** (cost goes {way}{more})", ""]
                out += _table(rows[:top], label) + [""]
        conserved = (
            "conserved"
            if all(abs(v) < NOISE for v in diff.net(dim).values())
            else ("not conserved: money entered or left this view (e.g. became unallocated)")
        )
        out += [f"Net of all moves: {net} ({conserved}).", ""]
    if diff.pools:
        pools = len({m.dimension for m in diff.pools})
        more = f" (the {top} largest of {len(diff.pools)} moves)" if len(diff.pools) > top else ""
        out += [f"### Pools whose split changed: {pools}{more}", ""]
        out += [
            "| month | currency | pool (rule) | target | base | head | moved |",
            "|---|---|---|---|---:|---:|---:|",
        ]
        ranked = sorted(diff.pools, key=lambda m: -abs(m.moved))[:top]
        ranked.sort(key=lambda m: (m.month, m.currency, m.dimension, -abs(m.moved)))
        for m in ranked:
            out.append(
                f"| {m.month} | {m.currency} | {m.dimension} | {m.target} | {_money(m.base)} "
                f"| {_money(m.head)} | {'+' if m.shown > 0 else ''}{_money(m.shown)} |"
            )
        out.append("")
    builds = ", ".join(f"{k} build {v:.1f} s" for k, v in diff.builds.items())
    together = ", side by side" if len(diff.builds) > 1 else ""
    out += [f"_Rebuilt: {diff.rebuilt} ({builds}{together}; {diff.seconds:.1f} s in all)._", ""]
    return "\n".join(out)


# --- thresholds -----------------------------------------------------------------------------


_THRESHOLD = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$")


def parse_threshold(text: str) -> tuple[Decimal, bool]:
    """``AMOUNT`` or ``PCT%`` → (value, is_percent)."""
    match = _THRESHOLD.match(text)
    if not match:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an amount or a percent: write e.g. 500 (in each target's "
            "currency) or 5% (of each target's base cost)"
        )
    return Decimal(match.group(1)), bool(match.group(2))


def crossed(diff: Diff, threshold: tuple[Decimal, bool]) -> list[Move]:
    """The targets (in any dimension) that moved more than the threshold."""
    value, is_percent = threshold
    out = []
    for moves in diff.moves.values():
        for m in moves:
            if is_percent:
                over = m.pct is None or abs(m.pct) > float(value)
            else:
                over = abs(m.moved) > value
            if over:
                out.append(m)
    return out


# --- command line ---------------------------------------------------------------------------


def _month(text: str) -> str:
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a month: write YYYY-MM, e.g. 2026-09")
    return text


def _top(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return int(text)


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """The ``diff`` sub-command."""
    p = sub.add_parser(
        "diff",
        help="what a rule change does to every product's, customer's and team's cost",
        description="Rebuild the allocation under the rules at --base (a git revision) and under "
        "the working tree's rules, on scratch copies of the warehouse, and print who gains and "
        "who loses as Markdown for a pull request. --base may instead be a saved warehouse "
        ".duckdb file, whose marts are the base as they are. The warehouse (--db) is only read. "
        "Exit 1 when a target moved more than --fail-above, 2 when the diff could not be made.",
    )
    p.add_argument("--base", required=True, metavar="REF", help="git revision or .duckdb file")
    p.add_argument("--db", help="DuckDB file with the loaded bills (only read)")
    p.add_argument(
        "--project",
        type=Path,
        default=PROJECT_DIR,
        metavar="DIR",
        help="the dbt project (a git working tree) whose rules are compared (default: this one)",
    )
    p.add_argument("--month", type=_month, metavar="YYYY-MM", help="one month (default: all)")
    p.add_argument("--top", type=_top, default=10, metavar="N", help="rows per table (default 10)")
    p.add_argument(
        "--fail-above",
        type=parse_threshold,
        metavar="AMOUNT|PCT%",
        help="exit 1 when any single target moves more than AMOUNT (in its currency) or PCT%% "
        "of its base cost",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of Markdown")


def run(args: argparse.Namespace) -> int:
    """Make the diff and print it; the exit code follows the module docstring."""
    try:
        diff = make_diff(database_path(args.db), args.base, args.project, month=args.month)
    except DiffError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    over = crossed(diff, args.fail_above) if args.fail_above else []
    if args.json:
        result = diff.as_dict()
        result["crossed_fail_above"] = [m.as_dict() for m in over]
        # what a CI job posts on the pull request, beside the numbers it decides on
        result["markdown"] = markdown(diff, args.top)
        print(json.dumps(result, indent=2))
    else:
        print(markdown(diff, args.top))
    if over:
        value, is_percent = args.fail_above
        limit = f"{value} %" if is_percent else f"{value}"
        print(f"fail-above {limit}: {len(over)} target(s) moved more:", file=sys.stderr)
        for m in over:
            print(
                f"  {m.dimension} {m.target} {m.month} {m.currency}: {_money(m.shown)} ({_pct(m)})",
                file=sys.stderr,
            )
        return 1
    return 0
