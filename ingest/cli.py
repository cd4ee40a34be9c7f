"""Command line: ``python -m ingest <source> PATH``, the demo pipeline and the reports.

Exit codes: 0 ok, 1 the load failed (nothing was written) or the report could not be made,
2 the command line was wrong.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tomllib
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

from ingest import diff, explain, focus_export
from ingest.load import commands
from ingest.load.bill_once import bill_sources
from ingest.load.db import connect, database_path
from ingest.load.spec import DEFAULT_DB_ENV, DEFAULT_DB_PATH, LoadError, UsageError
from ingest.registry import ensure_all_tables


def version_text() -> str:
    """``cost-to-serve 0.1.0 (dbt-core 1.11.16, dbt-duckdb 1.11.1, duckdb 2.0.0)``.

    The project's name and version come from pyproject.toml (the one place they are written);
    an installed copy without it reads the same from its package metadata.
    """
    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    try:
        project = tomllib.loads(pyproject.read_text())["project"]
        name, version = str(project["name"]), str(project["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        name = "cost-to-serve"
        version = _installed(name)
    tools = ", ".join(f"{dist} {_installed(dist)}" for dist in ("dbt-core", "dbt-duckdb", "duckdb"))
    return f"{name} {version} ({tools})"


def _installed(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


class _VersionAction(argparse.Action):
    """``--version``, computed only when asked (argparse's own takes the text up front)."""

    def __init__(self, option_strings: Sequence[str], dest: str, help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(self, parser, namespace, values, option_string=None):  # type: ignore[no-untyped-def]
        print(version_text())
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ingest",
        description="Load cloud bills and usage exports into the cost model's DuckDB.",
    )
    parser.add_argument(
        "--version",
        action=_VersionAction,
        help="print the project's version and those of dbt and DuckDB, then exit",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_source_parsers(sub)
    gen = sub.add_parser(
        "generate-sample",
        help="write the bundled fictional SaaS company's bills and usage exports",
        description="Generate deterministic sample data (CUR 2.0, query_log, usage, revenue).",
    )
    gen.add_argument("out", type=Path, help="output folder")
    gen.add_argument("--cur-lines", type=int, default=20_000, help="approximate CUR rows")
    gen.add_argument("--query-log-rows", type=int, help="query_log rows (default ~CUR rows)")
    gen.add_argument("--seed", type=int, default=42)
    gen.add_argument("--months", type=int, default=3)
    export = sub.add_parser(
        "export-parquet",
        help="write every raw table to Parquet (one folder per table) for Spark and other engines",
        description="Export the raw tables the loaders landed to OUT/<table>/data.parquet. "
        "dbt's spark target registers them as its raw sources (COST_MODEL_RAW_PARQUET=OUT).",
    )
    export.add_argument("out", type=Path, help="output folder")
    export.add_argument("--db", help="DuckDB file")
    bills = sub.add_parser(
        "bills",
        help="which delivery counts for each provider × billing account × billing period",
        description="List, for every bill loaded, the one delivery that counts for it (each "
        "provider × billing account × billing period is counted from exactly one export): its "
        "source, export name, newest load, lines and billed total per currency.",
    )
    bills.add_argument(
        "--db", help=f"DuckDB file (default: ${DEFAULT_DB_ENV} or {DEFAULT_DB_PATH})"
    )
    bills.add_argument("--json", action="store_true", help="print JSON instead of a table")
    init = sub.add_parser(
        "init",
        help="create the raw tables (so dbt can build before every source is loaded)",
        description=(
            "Create the raw schema and every source's raw table if missing; add the columns a"
            " newer version of the project expects to tables an older one created."
        ),
    )
    init.add_argument("--db", help="DuckDB file")
    demo = sub.add_parser(
        "demo",
        help="generate the sample, load it, run dbt build and print a summary",
        description="The README's first command: sample data → DuckDB → dbt build → summary.",
    )
    demo.add_argument("--db", help="DuckDB file")
    demo.add_argument("--sample-dir", type=Path, default=Path("sample_data"))
    demo.add_argument("--cur-lines", type=int, default=20_000)
    report = sub.add_parser(
        "report",
        help="growth review: product and customer unit economics, anomalies, budgets (+ HTML)",
        description="Print the growth review for one month and billing currency from the "
        "built marts (cost, cost per unit, gross margin, MoM trend and cost range per "
        "product; the worst-margin customers; anomalies of the last 14 days; team budgets) "
        "and write the same as a self-contained HTML report with charts.",
    )
    report.add_argument(
        "--db", help=f"DuckDB file (default: ${DEFAULT_DB_ENV} or {DEFAULT_DB_PATH})"
    )
    report.add_argument(
        "--month",
        type=_month,
        metavar="YYYY-MM",
        help="report month (default: the latest month with product cost)",
    )
    report.add_argument(
        "--currency",
        type=str.upper,
        metavar="CODE",
        help="billing currency (default: the one with the most cost in the month); "
        "currencies are never added together",
    )
    report.add_argument(
        "--html",
        type=Path,
        metavar="PATH",
        help="where to write the HTML report (default: report.html next to the DB)",
    )
    report.add_argument(
        "--top", type=_positive, default=10, metavar="N", help="worst-margin customers (default 10)"
    )
    report.add_argument(
        "--json",
        action="store_true",
        help="print the review's data as JSON instead of the text (the HTML is still written)",
    )
    check_rules = sub.add_parser(
        "check-rules",
        help="coverage, dead and shadowed rules, and every rule error (run after dbt build)",
        description="Read the built warehouse and print, for every tag rule and pool of seeds/, "
        "the lines and cost it matches and the cost it actually won, the dead and shadowed ones "
        "and every error and warning of the rule checks (the messages dbt build prints). "
        "Exit code 1 when a rule has an error.",
    )
    check_rules.add_argument(
        "--db", help=f"DuckDB file (default: ${DEFAULT_DB_ENV} or {DEFAULT_DB_PATH})"
    )
    check_rules.add_argument("--json", action="store_true", help="print JSON instead of text")
    discover = sub.add_parser(
        "discover",
        help="after a load: the bill's tag keys, values, untagged cost, and starter seeds",
        description="Read the loaded bill (building just its cost line table if needed) and "
        "print the tag keys with their coverage of cost per currency, the values of the "
        "product / team / customer / environment / feature -like keys with cost, the top "
        "untagged cost by service, account and resource, the accounts, and a starter "
        "products.csv and allocation_tag_rules.csv to edit and merge into seeds/. Writes "
        "discover.md and one CSV per table into --out.",
    )
    discover.add_argument(
        "--db", help=f"DuckDB file (default: ${DEFAULT_DB_ENV} or {DEFAULT_DB_PATH})"
    )
    discover.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="where to write discover.md and the CSVs (default: discover/ beside the DB)",
    )
    discover.add_argument(
        "--top", type=_positive, default=10, metavar="N", help="rows per top list (default 10)"
    )
    discover.add_argument("--json", action="store_true", help="print JSON instead of text")
    assumptions = sub.add_parser(
        "assumptions",
        help="print every allocation assumption as Markdown (or write the dbt docs block)",
        description="Print marts.fct_allocation_assumptions as Markdown, a heading per topic. "
        "With --write-docs, write it as the dbt docs block allocation_assumptions "
        "(models/marts/unit_economics/assumptions.md) instead.",
    )
    assumptions.add_argument("--db", help="DuckDB file")
    assumptions.add_argument(
        "--write-docs",
        type=Path,
        metavar="PATH",
        help="write a dbt docs block file, e.g. models/marts/unit_economics/assumptions.md",
    )
    explain.add_parser(sub)
    focus_export.add_parser(sub)
    diff.add_parser(sub)
    _schedule_parsers(sub)
    return parser


def _schedule_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """``publish`` (the readers' copy) and ``daily`` (load, build, publish: for a scheduler)."""
    pub = sub.add_parser(
        "publish",
        help="copy the warehouse to the read-only copy readers and BI tools open",
        description="Checkpoint the warehouse and replace its published copy atomically "
        "(default: published/<warehouse file> beside the warehouse, or $COST_MODEL_PUBLISHED_DB). "
        "report, check-rules, discover and assumptions read the copy while it is current; a "
        "BI tool reading it never blocks a load or a build. daily and demo publish after every "
        "passing build.",
    )
    pub.add_argument("--db", help=f"DuckDB file (default: ${DEFAULT_DB_ENV} or {DEFAULT_DB_PATH})")
    pub.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="if a load or dbt build holds the warehouse, wait this long (default: fail)",
    )
    daily = sub.add_parser(
        "daily",
        help="for cron/Airflow/Dagster: load new deliveries, dbt build, publish",
        description="Load every [[load]] of the configuration file (new deliveries only: one "
        "loaded before is a no-op), run dbt build, and publish the readers' copy when it "
        "passes. Exit code 0 built and published; 1 a load or the build failed, or a guardrail "
        "of vars: unallocated_thresholds failed (nothing published); 2 the configuration is "
        "wrong; 3 with --strict, published but a guardrail warned.",
    )
    daily.add_argument(
        "--db", help=f"DuckDB file (default: ${DEFAULT_DB_ENV} or {DEFAULT_DB_PATH})"
    )
    daily.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="TOML file of [[load]] tables (default: cost_model.toml beside the warehouse)",
    )
    daily.add_argument(
        "--strict",
        action="store_true",
        help="exit 3 when an unallocated guardrail warns (default: warn, exit 0)",
    )
    daily.add_argument("--vars", metavar="YAML", help="dbt --vars for the build")
    daily.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="if another load, build or a reader of the warehouse holds it, wait this long",
    )
    daily.add_argument("--quiet", action="store_true", help="no progress lines")
    daily.add_argument("--json", action="store_true", help="print JSON instead of text")


def _month(text: str) -> dt.date:
    try:
        return dt.datetime.strptime(text, "%Y-%m").date()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a month like 2026-10") from None


def _bills_text(rows: list[dict[str, object]], *, as_json: bool) -> str:
    if as_json:
        return json.dumps(rows, default=str, indent=2)
    if not rows:
        return "no bills loaded"
    head = ("provider", "account", "period", "currency", "source", "export", "load", "lines")
    table = [
        (
            str(r["provider"]).upper(),
            str(r["billing_account_id"] or "-"),
            f"{r['billing_period']:%Y-%m}",
            str(r["currency"] or "-"),
            str(r["source"]) + (f" ({r['basis']})" if r["basis"] else ""),
            str(r["export_name"]),
            str(r["load_id"]),
            f"{r['lines']:,}",
            "-" if r["billed_cost"] is None else f"{float(r['billed_cost']):,.2f}",  # type: ignore[arg-type]
        )
        for r in rows
    ]
    cols = [*head, "billed"]
    widths = [max(len(c), *(len(t[i]) for t in table)) for i, c in enumerate(cols)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(t, widths, strict=True)) for t in table]
    return "\n".join(lines)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "generate-sample":
            from ingest import sample_data

            summary = sample_data.generate(
                args.out,
                cur_lines=args.cur_lines,
                query_log_rows=args.query_log_rows,
                seed=args.seed,
                months=args.months,
            )
            print(summary)
            return 0
        if args.command == "export-focus":
            return focus_export.run(args)
        if args.command == "export-parquet":
            from ingest.parquet_export import export_raw

            con = connect(args.db)
            try:
                rows = export_raw(con, args.out)
            finally:
                con.close()
            for name, n in rows.items():
                print(f"{name}: {n:,} rows")
            print(f"raw tables written to {args.out}/<table>/data.parquet")
            return 0
        if args.command == "bills":
            con = connect(args.db)
            try:
                rows = bill_sources(con)
            finally:
                con.close()
            print(_bills_text(rows, as_json=args.json))
            return 0
        if args.command == "init":
            con = connect(args.db)
            ensure_all_tables(con)
            con.close()
            print(f"raw tables ready in {database_path(args.db)}")
            return 0
        if args.command == "diff":
            return diff.run(args)
        if args.command == "demo":
            from ingest import demo

            return demo.run(args.db, args.sample_dir, args.cur_lines)
        if args.command in ("report", "assumptions"):
            from ingest import report

            try:
                if args.command == "report":
                    return report.run_report(
                        args.db, args.month, args.currency, args.html, args.top, as_json=args.json
                    )
                return report.run_assumptions(args.db, args.write_docs)
            except report.ReportError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 1
        if args.command == "explain":
            try:
                return explain.run(args)
            except explain.ExplainError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
        if args.command == "check-rules":
            from ingest import rules

            try:
                return rules.run(args.db, as_json=args.json)
            except rules.RulesError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 1
        if args.command == "discover":
            from ingest import discover

            try:
                return discover.run(args.db, args.out, args.top, as_json=args.json)
            except discover.DiscoverError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 1
        if args.command == "publish":
            from ingest.publish import PublishError, publish

            try:
                done = publish(args.db, wait=args.wait)
            except PublishError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 1
            print(f"published {done.path} ({done.bytes / 1e6:.1f} MB in {done.seconds:.2f} s)")
            return 0
        if args.command == "daily":
            from ingest import daily as daily_run

            return daily_run.run(args)
        return commands.run(args)
    except LoadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: nothing was written", file=sys.stderr)
        return 1
