"""Google Cloud Billing export (standard usage cost or detailed/resource-level cost), as files
exported from the BigQuery billing tables: Parquet or newline-delimited JSON, nested fields as
Google writes them (``service.id``, ``credits[]``, ``invoice.month``, ``labels[]`` …).

Lands in ``raw.gcp_billing_export``. Each file is first flattened by DuckDB (a second,
in-memory connection) into a scratch Parquet file that the shared loader then reads like any
other source (typed projection, one transaction, bill-once registry, partition replacement):

* one row per export row (``line_kind = 'cost'``), in file order, so ``_source_row`` is the
  row of the file; ``cost`` is Google's cost before credits;
* then one row per credit (``line_kind = 'credit'``), numbered after the file's rows, with the
  credit's id, name, full name and type, its (negative) amount in ``cost``, and its export
  row's account, project, service, SKU, resource, dates and labels, so a credit is a line of
  its own and is allocated like the usage it discounts. ``export_row`` names the file row.

So Σ ``cost`` of a load is Google's invoice total: Σ cost + Σ credits.amount per invoice month
× billing account × currency. The billing period is ``invoice.month`` (``YYYYMM``): Google keeps
adding rows to a month until it closes, so a re-export of a month replaces it.

``labels`` and ``project.labels`` become the ``tags`` map (a resource label wins over a project
label of the same key); ``system_labels`` and the Resource Manager ``tags`` keep maps of their
own. Values of the nested records are read as text and typed by the loader, so a bad value is
an error naming the file, row and Google's column (``usage.amount``).
"""

from __future__ import annotations

import logging
import re
import tempfile
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import duckdb

from ingest.load import commands
from ingest.load.db import transaction
from ingest.load.files import (
    _reader,
    describe,
    expanded,
    file_fingerprint,
    format_family,
    source_files,
)
from ingest.load.land import land
from ingest.load.projection import match_sources, wrong_file_hint
from ingest.load.spec import (
    DEFAULT_GUARDS,
    MONEY,
    Column,
    Guards,
    LoadError,
    LoadResult,
    MapColumn,
    SourceFile,
    TableSpec,
    error_line,
    quote_ident,
    snake_name,
)
from ingest.registry import Source, register

log = logging.getLogger(__name__)

CREDIT_TYPES = (
    "COMMITTED_USAGE_DISCOUNT",
    "COMMITTED_USAGE_DISCOUNT_DOLLAR_BASE",
    "SUSTAINED_USAGE_DISCOUNT",
    "FREE_TIER",
    "PROMOTION",
    "DISCOUNT",
    "SUBSCRIPTION_BENEFIT",
    "RESELLER_MARGIN",
    "FEE_UTILIZATION_OFFSET",
)
"""Google's documented ``credits.type`` values (any other is landed as given)."""

COST_TYPES = ("regular", "tax", "adjustment", "rounding_error")

REQUIRED_FIELDS = ("billing_account_id", "cost", "currency", "invoice", "usage_start_time")
"""Top-level fields without which a file is not a billing export."""


def _t(name: str) -> Column:
    return Column(name, "VARCHAR")


SPEC = TableSpec(
    source="gcp",
    table="raw.gcp_billing_export",
    columns=(
        _t("line_kind"),
        Column("export_row", "BIGINT"),
        Column("credit_index", "BIGINT"),
        Column("billing_account_id", "VARCHAR", required=True),
        _t("service_id"),
        _t("service_description"),
        _t("sku_id"),
        _t("sku_description"),
        Column("usage_start_time", "TIMESTAMP", required=True),
        Column("usage_end_time", "TIMESTAMP"),
        _t("project_id"),
        _t("project_number"),
        _t("project_name"),
        _t("project_ancestors"),
        _t("location_location"),
        _t("location_country"),
        _t("location_region"),
        _t("location_zone"),
        _t("resource_name"),
        _t("resource_global_name"),
        Column("cost", MONEY, required=True),
        Column("cost_at_list", MONEY),
        Column("currency", "VARCHAR"),
        Column("currency_conversion_rate", "DOUBLE"),
        Column("usage_amount", "DOUBLE"),
        _t("usage_unit"),
        Column("usage_amount_in_pricing_units", "DOUBLE"),
        _t("usage_pricing_unit"),
        # Alias `invoice`: the nested record of an unflattened export, so another loader given
        # one (``ingest focus``) recognises it and names this command.
        Column("invoice_month", "DATE", required=True, formats=("%Y%m",), aliases=("invoice",)),
        _t("cost_type"),
        _t("adjustment_info_id"),
        _t("adjustment_info_description"),
        _t("adjustment_info_mode"),
        _t("adjustment_info_type"),
        Column("export_time", "TIMESTAMP"),
        Column("credit_id", "VARCHAR", aliases=("credits_id",)),
        Column("credit_name", "VARCHAR", aliases=("credits_name",)),
        Column("credit_full_name", "VARCHAR", aliases=("credits_full_name",)),
        Column("credit_type", "VARCHAR", aliases=("credits_type",)),
    ),
    maps=(
        MapColumn("tags", native=("tags",)),
        MapColumn("system_labels", native=("system_labels",)),
        MapColumn("resource_tags", native=("resource_tags",)),
    ),
    normalise=snake_name,
    account_column="billing_account_id",
    period_column="invoice_month",
    currency_column="currency",
    billed_column="cost",
    provider="gcp",
)

# Nested record → (field, landed column). Read through JSON so a field an older export lacks
# (cost_at_list, adjustment_info, resource) or a record JSON inferred as all-null is NULL.
_NESTED = (
    ("service", "id", "service.id"),
    ("service", "description", "service.description"),
    ("sku", "id", "sku.id"),
    ("sku", "description", "sku.description"),
    ("project", "id", "project.id"),
    ("project", "number", "project.number"),
    ("project", "name", "project.name"),
    ("location", "location", "location.location"),
    ("location", "country", "location.country"),
    ("location", "region", "location.region"),
    ("location", "zone", "location.zone"),
    ("resource", "name", "resource.name"),
    ("resource", "global_name", "resource.global_name"),
    ("usage", "amount", "usage.amount"),
    ("usage", "unit", "usage.unit"),
    ("usage", "amount_in_pricing_units", "usage.amount_in_pricing_units"),
    ("usage", "pricing_unit", "usage.pricing_unit"),
    ("invoice", "month", "invoice.month"),
    ("adjustment_info", "id", "adjustment_info.id"),
    ("adjustment_info", "description", "adjustment_info.description"),
    ("adjustment_info", "mode", "adjustment_info.mode"),
    ("adjustment_info", "type", "adjustment_info.type"),
)
_TOP = (
    "billing_account_id",
    "usage_start_time",
    "usage_end_time",
    "cost",
    "cost_at_list",
    "currency",
    "currency_conversion_rate",
    "cost_type",
    "export_time",
)
# Columns a credit line copies from its export row that are not text: checked here, on the
# export row, so an error names the file's row, never the credit line's.
_CHECKED = {
    "usage_start_time": "TIMESTAMP",
    "usage_end_time": "TIMESTAMP",
    "export_time": "TIMESTAMP",
    "currency_conversion_rate": "DOUBLE",
    "invoice.month": "DATE",
    "credits.amount": MONEY,
}
_KV = '[{"key": "VARCHAR", "value": "VARCHAR"}]'
_CREDIT = (
    '[{"id": "VARCHAR", "name": "VARCHAR", "full_name": "VARCHAR", "type": "VARCHAR", '
    '"amount": "VARCHAR"}]'
)
_CODED = re.compile("\x02(\\d+)\x02([^\x02]*)\x02(.*)", re.S)


def _text(expr: str) -> str:
    return f"NULLIF(TRIM(CAST({expr} AS VARCHAR)), '')"


def _parse_check(expr: str, typ: str) -> str:
    """NULL when ``expr`` reads as ``typ`` (or is empty), else the unreadable text."""
    text = _text(expr)
    if typ == "DATE":  # invoice.month: YYYYMM
        ok = f"TRY_STRPTIME({text}, '%Y%m')"
    elif typ == "TIMESTAMP":
        ok = f"COALESCE(TRY_CAST({text} AS TIMESTAMP), TRY_CAST({text} AS TIMESTAMPTZ))"
    else:
        ok = f"TRY_CAST({text} AS {typ})"
    return f"CASE WHEN {text} IS NOT NULL AND {ok} IS NULL THEN {text} END"


def _kv_map(expr: str) -> str:
    """A repeated {key, value} record as a MAP; rows without the field get an empty map."""
    entries = f"json_transform(to_json({expr}), '{_KV}')"
    return (
        f"COALESCE(map_from_entries(list_filter({entries}, lambda e: e.key IS NOT NULL)), "
        "CAST(MAP {} AS MAP(VARCHAR, VARCHAR)))"
    )


def _flatten_sql(present: set[str], call: str, row_expr: str) -> str:
    """The export flattened: its rows in order, then one row per credit (see module doc)."""

    def top(name: str) -> str:
        return quote_ident(name) if name in present else "NULL"

    def nested(record: str, field: str) -> str:
        if record not in present:
            return "NULL"
        return f"(to_json({quote_ident(record)}) ->> '{field}')"

    fields = [f"{top(name)} AS {quote_ident(name)}" for name in _TOP]
    fields += [f"{nested(r, fld)} AS {quote_ident(out)}" for r, fld, out in _NESTED]
    ancestors = "to_json(project) -> 'ancestors'" if "project" in present else "NULL"
    fields.append(f"CAST({ancestors} AS VARCHAR) AS project_ancestors")
    project_labels = (
        _kv_map("to_json(project) -> 'labels'")
        if "project" in present
        else _kv_map("CAST(NULL AS JSON)")
    )
    labels = _kv_map(top("labels"))
    # map_concat keeps the last value of a key: the resource's own label wins.
    fields.append(f"map_concat({project_labels}, {labels}) AS tags")
    fields.append(f"{_kv_map(top('system_labels'))} AS system_labels")
    fields.append(f"{_kv_map(top('tags'))} AS resource_tags")
    credits = (
        f"COALESCE(json_transform(to_json({quote_ident('credits')}), '{_CREDIT}'), [])"
        if "credits" in present
        else "[]"
    )
    fields.append(f"{credits} AS __credits")
    checks = [
        f"CASE WHEN {_parse_check(quote_ident(col), typ)} IS NOT NULL THEN "
        f"error(chr(2) || __row || chr(2) || '{col}' || chr(2) || "
        f"LEFT({_text(quote_ident(col))}, 60)) END"
        for col, typ in _CHECKED.items()
        if col != "credits.amount"
    ]
    bad_credit = _parse_check("c.amount", MONEY)
    checks.append(
        f"CASE WHEN list_bool_or(list_transform(__credits, lambda c: {bad_credit} IS NOT NULL))"
        " THEN error(chr(2) || __row || chr(2) || 'credits.amount' || chr(2) || "
        f"LEFT(list_filter(__credits, lambda c: {bad_credit} IS NOT NULL)[1].amount, 60)) END"
    )
    copied = ", ".join(
        quote_ident(name)
        for name in (
            "billing_account_id",
            "usage_start_time",
            "usage_end_time",
            "currency",
            "currency_conversion_rate",
            "cost_type",
            "export_time",
            "service.id",
            "service.description",
            "sku.id",
            "sku.description",
            "project.id",
            "project.number",
            "project.name",
            "project_ancestors",
            "location.location",
            "location.country",
            "location.region",
            "location.zone",
            "resource.name",
            "resource.global_name",
            "invoice.month",
            "adjustment_info.id",
            "adjustment_info.description",
            "adjustment_info.mode",
            "adjustment_info.type",
            "tags",
            "system_labels",
            "resource_tags",
        )
    )
    return f"""
        WITH flat AS (
            SELECT {row_expr} AS __row, {", ".join(fields)} FROM {call}
        ),
        checked AS MATERIALIZED (
            SELECT *, coalesce({", ".join(checks)}) AS __check FROM flat
        )
        SELECT 'cost' AS line_kind, __row AS export_row, CAST(NULL AS BIGINT) AS credit_index,
            {copied}, CAST(cost AS VARCHAR) AS cost, cost_at_list,
            "usage.amount", "usage.unit", "usage.amount_in_pricing_units", "usage.pricing_unit",
            NULL AS "credits.id", NULL AS "credits.name", NULL AS "credits.full_name",
            NULL AS "credits.type"
        FROM checked WHERE __check IS NULL
        UNION ALL
        SELECT 'credit', __row, credit_index, {copied}, credit.amount, NULL,
            NULL, NULL, NULL, NULL,
            credit.id, credit.name, credit.full_name, credit.type
        FROM (
            SELECT *, unnest(__credits) AS credit,
                unnest(range(1, len(__credits) + 1)) AS credit_index
            FROM checked
        )
        ORDER BY credit_index IS NOT NULL, export_row, credit_index
    """


def flatten(f: SourceFile, scratch: Path, n: int) -> tuple[SourceFile, int, str | None]:
    """Write one export file flattened to ``scratch`` (see module doc).

    Returns the flattened file (named as the user knows the original), the file's row count
    and its Σ cost + Σ credits (as text, exact), read independently for reconciliation.
    """
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        if format_family(f.path) == "text":
            raise LoadError(_not_an_export(con, f))
        sources = describe(con, SPEC, f)
        present = {name for name, _ in sources}
        missing = [name for name in REQUIRED_FIELDS if name not in present]
        if missing:
            raise LoadError(_missing(f, sources, missing))
        call, params, row_expr = _reader(SPEC, f)
        out = scratch / f"gcp-{n}.parquet"
        sql = _flatten_sql(present, call, row_expr)
        try:
            con.execute(f"COPY ({sql}) TO ? (FORMAT parquet)", [*params, str(out)])
            money = f"TRY_CAST({_text('x')} AS {MONEY})"
            total = con.execute(
                f"""
                SELECT count(*), CAST(SUM(COALESCE(TRY_CAST({_text("cost")} AS {MONEY}), 0)
                    + COALESCE(list_sum(list_transform(c, lambda x: {money})), 0)) AS VARCHAR)
                FROM (SELECT cost, list_transform(
                            json_transform(to_json(credits), '{_CREDIT}'), lambda e: e.amount
                        ) AS c
                      FROM {call})
                """
                if "credits" in present
                else f"SELECT count(*), CAST(SUM(TRY_CAST({_text('cost')} AS {MONEY})) "
                f"AS VARCHAR) FROM {call}",
                params,
            ).fetchone()
        except duckdb.Error as exc:
            m = _CODED.search(str(exc))
            if m:
                value = m.group(3).splitlines()[0] if m.group(3) else ""
                raise LoadError(
                    f"{f.display}: row {m.group(1)}, column {m.group(2)!r}: cannot read "
                    f"{value!r} as the expected type"
                ) from None
            raise LoadError(f"{f.display}: cannot read file: {error_line(exc)}") from None
    finally:
        con.close()
    rows, money_total = (int(total[0]), total[1]) if total else (0, None)
    return SourceFile(out, f.display, f.fingerprint), rows, money_total


def _missing(f: SourceFile, sources: list[tuple[str, str]], names: list[str]) -> str:
    hint = wrong_file_hint(SPEC, f, sources, match_sources(SPEC, f, sources))
    if hint and not hint.startswith(";"):
        hint = ""
    return (
        f"{f.display}: required column{'s' if len(names) > 1 else ''} "
        f"{', '.join(repr(n) for n in names)} {'are' if len(names) > 1 else 'is'} missing: "
        "not a Google Cloud Billing export "
        f"(BigQuery billing table exported as Parquet or JSON lines){hint}"
    )


def _not_an_export(con: duckdb.DuckDBPyConnection, f: SourceFile) -> str:
    hint = ""
    try:
        sources = describe(con, SPEC, f)
        hint = wrong_file_hint(SPEC, f, sources, match_sources(SPEC, f, sources))
    except LoadError:
        pass
    if hint and not hint.startswith(";"):
        hint = ""
    return (
        f"{f.display}: a Google Cloud Billing export is Parquet or newline-delimited JSON "
        "(BigQuery cannot export its nested credits and labels as CSV); export the billing "
        f"table with `bq extract --destination_format PARQUET`{hint}"
    )


def load(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    *,
    export_name: str | None = None,
    force: bool = False,
    allow_currencies: tuple[str, ...] = (),
    fingerprint: Callable[[Path], str] = file_fingerprint,
    display_root: str | None = None,
    progress: Callable[[str], None] | None = None,
    guards: Guards = DEFAULT_GUARDS,
) -> LoadResult:
    """Load a GCP billing export (every file below ``path``) as one delivery, atomically."""
    files = source_files(path, fingerprint, display_root, progress)
    if not files:
        raise LoadError(f"{path}: no loadable files found (expected .parquet, .jsonl, .json)")
    with tempfile.TemporaryDirectory(prefix="ingest-gcp-") as tmp, expanded(files) as real:
        flat = [flatten(f, Path(tmp), n) for n, f in enumerate(real)]
        with transaction(con):
            result = land(
                con,
                SPEC,
                [f for f, _, _ in flat],
                export_name=export_name or SPEC.source,
                force=force,
                allow_currencies=allow_currencies,
                progress=progress,
                guards=guards,
            )
            if not result.skipped:
                _reconcile(con, result.load_id, flat)
    credits = result.rows - sum(rows for _, rows, _ in flat)
    if not result.skipped and credits:
        result.notices.append(f"{credits:,} credit(s) landed as lines of their own")
    return result


def _reconcile(
    con: duckdb.DuckDBPyConnection, load_id: str, flat: list[tuple[SourceFile, int, str | None]]
) -> None:
    """Each file's rows and Σ cost + Σ credits, read from the original file, equal the cost
    rows and Σ cost of the lines landed from it (the loader's own check compares the landed
    lines with the flattened file only)."""
    for f, rows, total in flat:
        got = con.execute(
            f"""
            SELECT count(*) FILTER (WHERE line_kind = 'cost'), CAST(SUM(cost) AS VARCHAR)
            FROM {SPEC.table} WHERE _load_id = ? AND _source_file = ?
            """,
            [load_id, f.display],
        ).fetchone()
        landed_rows, landed_total = (int(got[0]), got[1]) if got else (0, None)
        if landed_rows != rows or _num(landed_total) != _num(total):
            raise LoadError(
                f"{f.display}: reconciliation failed: the file has {rows:,} rows (cost + "
                f"credits {total}) but {landed_rows:,} rows (cost + credits {landed_total}) "
                "landed"
            )


def _num(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def _load_command(con, path, args, **kw):  # type: ignore[no-untyped-def]
    return load(
        con,
        path,
        export_name=args.export_name,
        force=args.force,
        allow_currencies=tuple(args.allow_currency),
        guards=commands.guards(args),
        **kw,
    )


register(
    Source(
        SPEC,
        command="gcp",
        label="a Google Cloud Billing export",
        help="Google Cloud Billing export from BigQuery (Parquet or JSON lines)",
        description="Load a Google Cloud Billing export (standard or detailed cost) exported "
        "from BigQuery as Parquet or newline-delimited JSON.",
        load=_load_command,
    )
)
