"""``python -m ingest daily``: load the new deliveries, ``dbt build``, publish, for a scheduler.

One run: every ``[[load]]`` of the configuration file (``cost_model.toml`` beside the
warehouse, or ``--config``) in order, through the same loader functions as the loader
commands, so their guarantees hold (a delivery loaded before is a no-op; a restated one
replaces its periods; a bill is counted from one export). Then ``dbt build`` (incremental
models stay incremental; dbt's output goes to a log file) and, when it passes, the read-only
copy readers use is replaced (:mod:`ingest.publish`).

Exit codes, for cron / Airflow / Dagster: 0 built and published; 1 a load or the build
failed, or a guardrail of ``vars: unallocated_thresholds`` failed (nothing published: readers
keep the last good numbers); 2 the configuration or command line is wrong; 3 with ``--strict``
only: built and published, but a guardrail warned.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
import time
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ingest import registry
from ingest.load import commands
from ingest.load.db import connect, database_path
from ingest.load.spec import Guards, LoadError, LoadResult, UsageError
from ingest.publish import PublishError, published_path, published_stamp
from ingest.registry import ensure_all_tables

CONFIG_NAME = "cost_model.toml"
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_WARNED = 0, 1, 2, 3

# Options every [[load]] may set: key → (type check, what it must be, CLI attribute).
_COMMON: dict[str, tuple[Callable[[object], bool], str, str]] = {
    "export": (lambda v: isinstance(v, str) and bool(v), "a non-empty string", "export_name"),
    "force": (lambda v: isinstance(v, bool), "true or false", "force"),
    "allow_shrink": (lambda v: isinstance(v, bool), "true or false", "allow_shrink"),
    "shrink_limit": (
        lambda v: isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= 1,
        "a fraction between 0 and 1",
        "shrink_limit",
    ),
}
_CURRENCY = (
    lambda v: isinstance(v, list) and all(isinstance(c, str) for c in v),
    'a list of currency codes, e.g. ["CHC"]',
    "allow_currency",
)
_REPLACE = (lambda v: isinstance(v, bool), "true or false", "replace")


@dataclass
class LoadSpec:
    """One validated ``[[load]]``: the source, where its deliveries are, its loader options."""

    source: str
    path: str
    line: int | None
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class Config:
    path: Path
    loads: list[LoadSpec]


@dataclass
class LoadOutcome:
    source: str
    path: str
    status: str  # loaded | unchanged | failed
    rows: int = 0
    load_ids: list[str] = field(default_factory=list)
    summary: str = ""


@dataclass
class DailyResult:
    """What one run did, printed as text or JSON."""

    warehouse: str
    config: str
    loads: list[LoadOutcome] = field(default_factory=list)
    build: str = "not run"  # passed | failed | not run
    build_seconds: float | None = None
    build_log: str | None = None
    build_lines: list[str] = field(default_factory=list)
    unallocated: list[dict[str, Any]] = field(default_factory=list)
    published: str | None = None
    publish_seconds: float | None = None
    kept_published: str | None = None
    error: str | None = None
    exit_code: int = EXIT_OK
    seconds: float = 0.0


def _sources() -> dict[str, set[str]]:
    """Every source ``daily`` can load → the option keys it takes beyond the common ones."""
    options: dict[str, set[str]] = {}
    for source in registry.sources():
        if source.add_parser is not None:
            continue  # commands unlike a file load (the Cost Explorer API)
        keys = {"allow_currency"} if source.spec.currency_column else set()
        if commands.counts_once(source.spec):
            keys.add("replace")
        options[source.command] = keys | source.config_keys
    return options


def config_path(explicit: Path | None, db: Path) -> Path:
    """``--config``, else ``cost_model.toml`` beside the warehouse."""
    return explicit if explicit is not None else db.parent / CONFIG_NAME


def _table_lines(text: str) -> list[int]:
    """1-based line of each ``[[load]]`` header, in order."""
    return [
        n for n, line in enumerate(text.splitlines(), 1) if re.match(r"\s*\[\[\s*load\s*\]\]", line)
    ]


def _key_line(text: str, start: int | None, key: str) -> int | None:
    """The line of ``key = ...`` in the table starting at line ``start``; else ``start``."""
    if start is None:
        return None
    lines = text.splitlines()
    for n in range(start, len(lines)):
        if re.match(r"\s*\[", lines[n]):
            break
        if re.match(rf"\s*{re.escape(key)}\s*=", lines[n]):
            return n + 1
    return start


def read_config(path: Path) -> Config:
    """Parse and validate the file; a :class:`UsageError` names the file, line and key."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise UsageError(
            f"{path}: no such configuration file; write one with a [[load]] table per source "
            '(e.g. [[load]] source = "cur" path = "/data/cur/"; see docs/scheduling.md) or '
            "pass --config FILE"
        ) from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML: {exc}") from None
    unknown = sorted(set(data) - {"load"})
    if unknown:
        raise UsageError(f"{path}: unknown table or key {unknown[0]!r}; only [[load]] tables")
    tables = data.get("load")
    if not isinstance(tables, list) or not tables or not all(isinstance(t, dict) for t in tables):
        raise UsageError(
            f"{path}: no [[load]] table; add one per source, e.g.\n"
            '[[load]]\nsource = "cur"\npath = "/data/cur/"'
        )
    starts = _table_lines(text)
    sources = _sources()
    loads = []
    for i, table in enumerate(tables):
        start = starts[i] if i < len(starts) else None
        loads.append(_validate(path, table, i + 1, start, text, sources))
    return Config(path, loads)


def _validate(
    path: Path,
    table: Mapping[str, Any],
    number: int,
    start: int | None,
    text: str,
    sources: Mapping[str, set[str]],
) -> LoadSpec:
    def where(key: str | None = None) -> str:
        line = _key_line(text, start, key) if key else start
        return f"{path}" + (f", line {line}" if line else "") + f": [[load]] #{number}"

    source = table.get("source")
    if source is None:
        raise UsageError(f"{where()} has no source; add source = one of {', '.join(sources)}")
    if source not in sources:
        close = difflib.get_close_matches(str(source), list(sources), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UsageError(
            f"{where('source')}: source {source!r} is not a source daily loads{hint}; "
            f"use one of {', '.join(sources)}"
        )
    raw_path = table.get("path")
    if raw_path is None:
        raise UsageError(
            f"{where()} (source {source!r}) has no path; add path = a file, a folder or "
            '"s3://bucket/prefix"'
        )
    if not isinstance(raw_path, str) or not raw_path:
        raise UsageError(f"{where('path')}: path must be a non-empty string, not {raw_path!r}")
    checks = dict(_COMMON)
    for key in sources[source]:
        if key == "allow_currency":
            checks[key] = _CURRENCY
        elif key == "replace":
            checks[key] = _REPLACE
        else:
            checks[key] = (lambda v: isinstance(v, str) and bool(v), "a non-empty string", key)
    options: dict[str, Any] = {}
    for key, value in table.items():
        if key in ("source", "path"):
            continue
        if key not in checks:
            close = difflib.get_close_matches(key, list(checks), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise UsageError(
                f"{where(key)}: {key!r} is not an option of source {source!r}{hint}; "
                f"its options: {', '.join(sorted(checks))}"
            )
        ok, what, _ = checks[key]
        if not ok(value):
            raise UsageError(f"{where(key)}: {key} must be {what}, not {value!r}")
        options[key] = value
    resolved = _resolve(path, raw_path)
    if not resolved.startswith("s3://") and not Path(resolved).exists():
        raise UsageError(f"{where('path')}: path {resolved} does not exist")
    if "header_file" in options:
        options["header_file"] = _resolve(path, options["header_file"])
    return LoadSpec(str(source), resolved, _key_line(text, start, "source"), options)


def _resolve(config: Path, value: str) -> str:
    """A relative path in the file is relative to the file's folder (cron runs in $HOME)."""
    if value.startswith("s3://") or Path(value).is_absolute():
        return value
    return str((config.parent / value).resolve())


def _namespace(db: Path, spec: LoadSpec, wait: float, quiet: bool) -> argparse.Namespace:
    """The loader command's arguments for one ``[[load]]``, defaults as on the command line."""
    opts = spec.options
    return argparse.Namespace(
        db=str(db),
        path=spec.path,
        wait=wait,
        quiet=quiet,
        export_name=opts.get("export"),
        force=opts.get("force", False),
        allow_currency=list(opts.get("allow_currency", [])),
        replace=opts.get("replace", False),
        allow_shrink=opts.get("allow_shrink", False),
        shrink_limit=opts.get("shrink_limit", Guards.shrink_limit),
        header_file=Path(opts["header_file"]) if "header_file" in opts else None,
        cost_basis=opts.get("cost_basis"),
        cluster=opts.get("cluster"),
    )


def _loader(source: str) -> Callable[..., list[LoadResult]]:
    found = registry.by_command(source)
    if found is None:
        raise KeyError(source)
    return commands.loader(found)


def _outcome(spec: LoadSpec, results: list[LoadResult]) -> LoadOutcome:
    loaded = [r for r in results if not r.skipped]
    return LoadOutcome(
        spec.source,
        spec.path,
        "loaded" if loaded else "unchanged",
        sum(r.rows for r in loaded),
        [r.load_id for r in results],
        "\n".join(r.summary() for r in results),
    )


_UNALLOCATED = re.compile(
    r"^\s+(?P<currency>\S+) (?P<reason>\S+)\s+(?P<amount>-?[\d.]+)\s+(?P<pct>-?[\d.]+) %"
    r"(?:\s+(?P<status>ok|WARN|FAIL)\b)?"
)


def unallocated_rows(lines: list[str]) -> list[dict[str, Any]]:
    """dbt's ``Cost allocation (effective cost):`` block as rows (currency, reason, amount,
    pct, status: ok / WARN / FAIL, empty for the allocated row)."""
    if "Cost allocation (effective cost):" not in lines:
        return []
    start = lines.index("Cost allocation (effective cost):") + 1
    rows = []
    for line in lines[start:]:
        m = _UNALLOCATED.match(line)
        if not m:
            break
        rows.append(
            {
                "currency": m["currency"],
                "reason": m["reason"],
                "amount": float(m["amount"]),
                "pct": float(m["pct"]),
                "status": m["status"] or "",
            }
        )
    return rows


def run_daily(
    db_arg: str | None,
    config: Path | None,
    *,
    strict: bool = False,
    dbt_vars: str | None = None,
    wait: float = 0.0,
    quiet: bool = False,
) -> DailyResult:
    """Load, build, publish; the result says what happened and the exit code."""
    from ingest.demo import dbt_logged
    from ingest.publish import publish

    started = time.monotonic()
    db = database_path(db_arg)
    cfg = read_config(config_path(config, db))
    result = DailyResult(str(db), str(cfg.path))
    con = connect(db, wait=wait)
    try:
        ensure_all_tables(con)  # a fresh warehouse builds even before every source is loaded
    finally:
        con.close()
    for spec in cfg.loads:
        args = _namespace(db, spec, wait, quiet)
        try:
            outcome = _outcome(spec, commands.run_source(args, _loader(spec.source)))
        except LoadError as exc:
            result.loads.append(LoadOutcome(spec.source, spec.path, "failed", summary=str(exc)))
            result.error = (
                f"load of {spec.source} from {spec.path} failed: {exc}; nothing of that delivery "
                "was written, the loads before it were; no build, nothing published"
            )
            return _finish(result, db, EXIT_FAILED, started)
        result.loads.append(outcome)
    log = db.parent / "dbt-build.log"
    build_args = ["build", *(["--vars", dbt_vars] if dbt_vars else [])]
    build_started = time.monotonic()
    ok, lines = dbt_logged(db, log, *build_args)
    result.build_seconds = round(time.monotonic() - build_started, 1)
    result.build_log = str(log)
    result.build = "passed" if ok else "failed"
    result.build_lines = lines
    result.unallocated = unallocated_rows(lines)
    if not ok:
        failed = [r for r in result.unallocated if r["status"] == "FAIL"]
        what = (
            "a guardrail of vars: unallocated_thresholds failed ("
            + ", ".join(f"{r['currency']} {r['reason']} {r['pct']:.1f} %" for r in failed)
            + ")"
            if failed
            else "dbt build failed"
        )
        result.error = f"{what}; see {log}; nothing published"
        return _finish(result, db, EXIT_FAILED, started)
    try:
        published = publish(db, wait=wait)
    except PublishError as exc:
        result.error = f"the build passed but publishing failed: {exc}"
        return _finish(result, db, EXIT_FAILED, started)
    result.published = str(published.path)
    result.publish_seconds = round(published.seconds, 2)
    warned = [r for r in result.unallocated if r["status"] == "WARN"]
    if warned and strict:
        result.error = "--strict: a guardrail of vars: unallocated_thresholds warned (" + (
            ", ".join(f"{r['currency']} {r['reason']} {r['pct']:.1f} %" for r in warned) + ")"
        )
        return _finish(result, db, EXIT_WARNED, started)
    return _finish(result, db, EXIT_OK, started)


def _finish(result: DailyResult, db: Path, code: int, started: float) -> DailyResult:
    result.exit_code = code
    if result.published is None:
        stamp = published_stamp(db)
        if stamp is not None:
            result.kept_published = f"{published_path(db)} (published {stamp['published_at']})"
    result.seconds = round(time.monotonic() - started, 1)
    return result


def to_text(result: DailyResult) -> str:
    out = [f"daily: warehouse {result.warehouse}, config {result.config}"]
    for load in result.loads:
        first = load.summary.splitlines()[0] if load.summary else ""
        out.append(f"  {load.source} {load.path}: {load.status}" + (f" — {first}" if first else ""))
    if result.build != "not run":
        out.append(
            f"dbt build {result.build} in {result.build_seconds} s (log: {result.build_log})"
        )
    if result.unallocated:
        out.append("unallocated effective cost by reason:")
        out += [
            f"  {r['currency']} {r['reason']:<24} {r['amount']:>14,.2f} {r['pct']:5.1f} %  "
            f"{r['status']}".rstrip()
            for r in result.unallocated
            if r["reason"] != "(allocated)"
        ]
    if result.build == "failed" and not result.unallocated:
        out += [f"  {line}" for line in result.build_lines]
    if result.published:
        out.append(f"published {result.published} in {result.publish_seconds} s")
    elif result.kept_published:
        out.append(f"readers keep the last good copy {result.kept_published}")
    out.append(f"total {result.seconds} s, exit code {result.exit_code}")
    return "\n".join(out)


def to_json(result: DailyResult) -> str:
    data = asdict(result)
    data.pop("build_lines")
    return json.dumps(data, indent=2)


def run(args: argparse.Namespace) -> int:
    """The CLI entry (``python -m ingest daily``)."""
    result = run_daily(
        args.db,
        args.config,
        strict=args.strict,
        dbt_vars=args.vars,
        wait=args.wait,
        quiet=args.quiet or args.json,
    )
    print(to_json(result) if args.json else to_text(result))
    if result.error:
        print(f"error: {result.error}", file=sys.stderr)
    return result.exit_code
