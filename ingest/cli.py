"""Command line: ``python -m ingest <source> PATH``, the demo pipeline and the reports.

Exit codes: 0 ok, 1 the load failed (nothing was written) or the report could not be made,
2 the command line was wrong.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import tomllib
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path

from ingest import (
    ai_requests,
    aws_cur,
    azure,
    clickhouse_query_log,
    diff,
    explain,
    focus,
    focus_commitments,
    focus_export,
    gcp,
    oci,
    opencost,
    otel_spans,
    revenue,
    usage,
)
from ingest.core import (
    DEFAULT_DB_ENV,
    DEFAULT_DB_PATH,
    Guards,
    LoadError,
    LoadResult,
    TableSpec,
    UsageError,
    bill_sources,
    connect,
    database_path,
    ensure_all_tables,
    file_fingerprint,
    load_path,
    stderr_progress,
)

SOURCES: dict[str, tuple[TableSpec, str]] = {
    "focus": (focus.SPEC, "FOCUS 1.0-1.3 export (CSV/parquet) from any cloud"),
    "focus-commitments": (
        focus_commitments.SPEC,
        "FOCUS 1.3 Contract Commitment dataset (CSV/parquet)",
    ),
    "azure": (azure.SPEC, "Azure EA/MCA cost details CSV, actual or amortized (native columns)"),
    "oci": (oci.SPEC, "Oracle Cloud cost report CSV (native columns)"),
    "gcp": (gcp.SPEC, "Google Cloud Billing export from BigQuery (Parquet or JSON lines)"),
    "query-log": (
        clickhouse_query_log.SPEC,
        "ClickHouse system.query_log export (Parquet, TSVWithNames, CSVWithNames, JSONEachRow)",
    ),
    "usage": (usage.SPEC, "usage driver metrics: date, metric, product, customer_id, ..."),
    "revenue": (revenue.REVENUE, "revenue: month, customer_id, product, amount, currency"),
    "customers": (revenue.CUSTOMERS, "customer list: customer_id, name, plan, status"),
    "ai-requests": (
        ai_requests.SPEC,
        "AI request log: timestamp, customer_id, feature_id, provider, model, tokens, is_batch",
    ),
    "otel-spans": (
        otel_spans.SPEC,
        "OpenTelemetry spans as OTLP/JSON (collector file exporter JSON Lines, or OTLP/HTTP bodies)",
    ),
}


# What `python -m ingest <source> --help` says the source is (a whole sentence after "Load").
LOAD_DESCRIPTIONS: dict[str, str] = {
    "focus": "a FOCUS 1.0-1.3 export (CSV or Parquet) from any cloud",
    "focus-commitments": "a FOCUS 1.3 Contract Commitment dataset (CSV or Parquet): the "
    "commitments of a contract the cost rows' ContractApplied points at",
    "azure": "an Azure EA/MCA cost details CSV, actual or amortized (native columns)",
    "oci": "an Oracle Cloud cost report CSV (native columns)",
    "gcp": "a Google Cloud Billing export (standard or detailed cost) exported from BigQuery "
    "as Parquet or newline-delimited JSON",
    "query-log": "a ClickHouse system.query_log export (Parquet, TSVWithNames, CSVWithNames, "
    "JSONEachRow)",
    "usage": "usage driver metrics (columns date, metric, product, customer_id, ...)",
    "revenue": "revenue (columns month, customer_id, product, amount, currency)",
    "customers": "the customer list (columns customer_id, name, plan, status)",
    "ai-requests": "an AI request log (columns timestamp, customer_id, feature_id, provider, "
    "model, tokens, is_batch)",
    "otel-spans": "OpenTelemetry spans as OTLP/JSON (collector file exporter JSON Lines, or "
    "OTLP/HTTP bodies)",
}


def _common(p: argparse.ArgumentParser, spec: TableSpec) -> None:
    """The options every file loader has, and those that mean something for ``spec`` only:
    ``--allow-currency`` where the source carries a currency, ``--replace`` where a delivery
    can hold a bill or a fact another export already holds."""
    p.add_argument("path", help="a file, a folder (searched recursively) or s3://bucket/prefix")
    p.add_argument(
        "--db",
        help=f"DuckDB file (default: ${DEFAULT_DB_ENV} or {DEFAULT_DB_PATH})",
    )
    p.add_argument("--export", dest="export_name", help="export name (default: from manifest)")
    p.add_argument(
        "--force", action="store_true", help="reload even if these exact files were loaded"
    )
    if spec.currency_column:
        p.add_argument(
            "--allow-currency",
            action="append",
            default=[],
            metavar="CODE",
            help="accept a non-ISO billing currency (repeatable), e.g. CHC",
        )
    else:
        p.set_defaults(allow_currency=[])
    if spec.is_bill or (spec.natural_key and spec.period_grain != "all"):
        p.add_argument(
            "--replace",
            action="store_true",
            help="make this delivery count for the bills (or usage days) it holds, replacing "
            "one loaded before under another export name or format (default: refuse to count "
            "twice)",
        )
    else:
        p.set_defaults(replace=False)
    p.add_argument(
        "--allow-shrink",
        action="store_true",
        help="replace a loaded period even when this delivery is much smaller than it",
    )
    p.add_argument(
        "--shrink-limit",
        type=_fraction,
        default=Guards.shrink_limit,
        metavar="FRACTION",
        help="refuse a delivery with fewer rows or less gross cost than this fraction of the "
        "period it replaces (default %(default)s)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.add_argument("--json", action="store_true", help="print what the load did as JSON")
    p.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="if another load or dbt build holds the database, wait this long (default: fail)",
    )


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
    cur = sub.add_parser(
        "cur",
        help="AWS CUR 2.0 or legacy CUR (parquet, csv, csv.gz, zip), auto-detected",
        description="Load an AWS CUR 2.0 (Data Exports) or legacy CUR delivery. Manifests, "
        "when present, decide which files are current. A delivery replaces the billing "
        "periods it contains; closed (invoiced) periods get correction rows instead.",
    )
    _common(cur, aws_cur.SPEC)
    cur.add_argument(
        "--header-file",
        type=Path,
        help="names for headerless text exports (one column name per line)",
    )
    for name, (spec, text) in SOURCES.items():
        source_parser = sub.add_parser(
            name, help=text, description=f"Load {LOAD_DESCRIPTIONS.get(name, text)}."
        )
        _common(source_parser, spec)
        if name == "azure":
            source_parser.add_argument(
                "--cost-basis",
                choices=azure.COST_BASES,
                help="actual (the invoice) or amortized cost export (default: detected from "
                "the file: Unused* charges or priced reservation usage mean amortized); an "
                "amortized export loads as EXPORT-amortized, beside the actual one",
            )
    oc = sub.add_parser(
        "opencost",
        help="OpenCost Kubernetes allocations: daily CSV export or allocation API JSON",
        description="Load OpenCost allocations (the EXPORT_CSV_FILE export, or /allocation API "
        "responses saved as .json). They become the driver that splits each cluster's node "
        "cost from the bill (one pool per cluster in seeds/rules/allocation_pools.csv); OpenCost's "
        "own dollars are never added to the bill. A load replaces the (cluster, day) "
        "partitions it contains.",
    )
    _common(oc, opencost.SPEC)
    oc.add_argument(
        "--cluster",
        help="cluster name for CSV exports, which do not carry one (API responses do)",
    )
    _cost_explorer_parsers(sub)
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


def _cost_explorer_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """``cost-explorer`` (the API) and ``cost-explorer-file`` (saved responses)."""
    api = sub.add_parser(
        "cost-explorer",
        help="AWS Cost Explorer GetCostAndUsage (daily/monthly × service × tag), via the API",
        description="Query AWS Cost Explorer for [--start, --end) and load the result: "
        "UnblendedCost, AmortizedCost and UsageQuantity per group, credits and refunds as "
        "their own rows. A load replaces the account's days it contains. Credentials and "
        "endpoint come from the standard AWS environment (AWS_PROFILE, AWS_ENDPOINT_URL, ...).",
    )
    api.add_argument("--start", type=_date, required=True, metavar="YYYY-MM-DD")
    api.add_argument("--end", type=_date, required=True, metavar="YYYY-MM-DD", help="exclusive")
    api.add_argument("--granularity", choices=["DAILY", "MONTHLY"], default="DAILY", type=str.upper)
    api.add_argument("--endpoint-url", help="Cost Explorer (and STS) endpoint, e.g. a test server")
    ce_file = sub.add_parser(
        "cost-explorer-file",
        help="saved AWS Cost Explorer GetCostAndUsage responses (.json file or folder)",
        description="Load saved GetCostAndUsage responses through the same flattening as "
        "cost-explorer. A response with only BlendedCost is refused (never allocate on "
        "blended cost) unless --allow-blended.",
    )
    ce_file.add_argument("path", type=Path, help="a .json response or a folder of them")
    ce_file.add_argument(
        "--allow-blended",
        action="store_true",
        help="load BlendedCost-only responses anyway (billed = effective = blended)",
    )
    ce_file.add_argument(
        "--force", action="store_true", help="reload even if these exact files were loaded"
    )
    for p in (api, ce_file):
        p.add_argument(
            "--group-by",
            action="append",
            default=[],
            metavar="KEY",
            help="SERVICE, LINKED_ACCOUNT, REGION …, TAG:<key> or COST_CATEGORY:<name> "
            "(at most 2; API default SERVICE; for files: the keys of a response saved "
            "without GroupDefinitions)",
        )
        p.add_argument(
            "--account-id",
            help="billing account of the results (default: the LINKED_ACCOUNT group key, "
            "else STS GetCallerIdentity on the API path)",
        )
        p.add_argument(
            "--db", help=f"DuckDB file (default: ${DEFAULT_DB_ENV} or {DEFAULT_DB_PATH})"
        )
        p.add_argument(
            "--allow-currency",
            action="append",
            default=[],
            metavar="CODE",
            help="accept a non-ISO currency (repeatable)",
        )
        p.add_argument("--quiet", action="store_true", help="no progress lines")
        p.add_argument("--json", action="store_true", help="print what the load did as JSON")
        p.add_argument(
            "--wait",
            type=float,
            default=0.0,
            metavar="SECONDS",
            help="if another process holds the database, wait this long",
        )


def _run_cost_explorer(args: argparse.Namespace) -> LoadResult:
    from ingest import cost_explorer

    group_bys = [cost_explorer.parse_group_by(g) for g in args.group_by]
    progress = None if args.quiet else stderr_progress
    con = connect(args.db, wait=args.wait, progress=progress)
    try:
        if args.command == "cost-explorer":
            return cost_explorer.load_api(
                con,
                start=args.start,
                end=args.end,
                granularity=args.granularity,
                group_bys=group_bys or [cost_explorer.GroupBy("DIMENSION", "SERVICE")],
                account_id=args.account_id,
                endpoint_url=args.endpoint_url,
                allow_currencies=tuple(args.allow_currency),
                progress=progress,
            )
        return cost_explorer.load_files(
            con,
            args.path,
            group_bys=group_bys,
            account_id=args.account_id,
            allow_blended=args.allow_blended,
            allow_currencies=tuple(args.allow_currency),
            force=args.force,
            progress=progress,
        )
    finally:
        con.close()


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-10-01") from None


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


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a fraction between 0 and 1, e.g. 0.5")
    return value


def _guards(args: argparse.Namespace) -> Guards:
    return Guards(
        replace=args.replace, allow_shrink=args.allow_shrink, shrink_limit=args.shrink_limit
    )


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return value


def _run_source(
    args: argparse.Namespace, load: Callable[..., list[LoadResult]]
) -> list[LoadResult]:
    progress = None if args.quiet else stderr_progress
    con = connect(args.db, wait=args.wait, progress=progress)
    try:
        if str(args.path).startswith("s3://"):
            from ingest import s3

            with tempfile.TemporaryDirectory(prefix="ingest-s3-") as tmp:
                etags = s3.download(str(args.path), Path(tmp), progress)
                return load(
                    con,
                    Path(tmp),
                    args,
                    fingerprint=lambda p: etags.get(p, file_fingerprint(p)),
                    display_root=str(args.path),
                    progress=progress,
                )
        return load(con, Path(args.path), args, progress=progress)
    finally:
        con.close()


def _load_cur(con, path, args, **kw):  # type: ignore[no-untyped-def]
    header = None
    if args.header_file:
        try:
            header = [h.strip() for h in args.header_file.read_text().splitlines() if h.strip()]
        except OSError as exc:
            raise LoadError(f"{args.header_file}: cannot read header file ({exc})") from None
    return aws_cur.load(
        con,
        path,
        export_name=args.export_name,
        header_names=header,
        force=args.force,
        allow_currencies=tuple(args.allow_currency),
        guards=_guards(args),
        **kw,
    )


def _load_opencost(con, path, args, **kw):  # type: ignore[no-untyped-def]
    return [
        opencost.load(
            con,
            path,
            cluster=args.cluster,
            export_name=args.export_name,
            force=args.force,
            guards=_guards(args),
            **kw,
        )
    ]


def _load_otel_spans(con, path, args, **kw):  # type: ignore[no-untyped-def]
    return [
        otel_spans.load(
            con,
            path,
            export_name=args.export_name or otel_spans.SPEC.source,
            force=args.force,
            guards=_guards(args),
            **kw,
        )
    ]


def _load_azure(con, path, args, **kw):  # type: ignore[no-untyped-def]
    return [
        azure.load(
            con,
            path,
            export_name=args.export_name,
            cost_basis=args.cost_basis,
            force=args.force,
            allow_currencies=tuple(args.allow_currency),
            guards=_guards(args),
            **kw,
        )
    ]


def _load_gcp(con, path, args, **kw):  # type: ignore[no-untyped-def]
    return [
        gcp.load(
            con,
            path,
            export_name=args.export_name,
            force=args.force,
            allow_currencies=tuple(args.allow_currency),
            guards=_guards(args),
            **kw,
        )
    ]


def _loader_for(spec: TableSpec) -> Callable[..., list[LoadResult]]:
    if spec is otel_spans.SPEC:
        return _load_otel_spans
    if spec is gcp.SPEC:
        return _load_gcp

    def _load(con, path, args, **kw):  # type: ignore[no-untyped-def]
        return [
            load_path(
                con,
                spec,
                path,
                export_name=args.export_name or spec.source,
                force=args.force,
                allow_currencies=tuple(args.allow_currency),
                guards=_guards(args),
                **kw,
            )
        ]

    return _load


def _print_results(results: list[LoadResult], *, as_json: bool) -> None:
    if as_json:
        print(json.dumps([r.as_dict() for r in results], indent=2))
    else:
        for result in results:
            print(result.summary())


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
        if args.command in ("cost-explorer", "cost-explorer-file"):
            _print_results([_run_cost_explorer(args)], as_json=args.json)
            return 0
        if args.command == "cur":
            loader = _load_cur
        elif args.command == "opencost":
            loader = _load_opencost
        elif args.command == "azure":
            loader = _load_azure
        else:
            loader = _loader_for(SOURCES[args.command][0])
        _print_results(list(_run_source(args, loader)), as_json=args.json)
        return 0
    except LoadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: nothing was written", file=sys.stderr)
        return 1
