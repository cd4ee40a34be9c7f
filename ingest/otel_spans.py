"""OpenTelemetry spans as OTLP/JSON: the collector's file exporter and OTLP/HTTP bodies.

A file holds ``ExportTraceServiceRequest`` documents, one per file (OTLP/HTTP, pretty-printed
or not), one per line (the collector's ``file`` exporter, JSON Lines) or a JSON array of them::

    {"resourceSpans": [{"resource": {"attributes": [{"key": "service.name",
                                                     "value": {"stringValue": "replay-api"}}]},
                        "scopeSpans": [{"scope": {"name": "..."},
                                        "spans": [{"traceId": "...", "spanId": "...",
                                                   "startTimeUnixNano": "1790...", ...}]}]}]}

One statement per file (``read_json`` + three ``unnest``) lands one row per span in
``raw.otel_spans``: ids, ``service.name`` from the resource, name, kind, start/end as exact
nanoseconds and as timestamps, ``duration_ns``, and the attributes the feature cost model reads:

* ``feature.id`` and ``tenant.id``: span attribute, else resource attribute;
* ``feature_flag.enabled`` (boolean): the feature's flag as evaluated for this span; a span
  with ``false`` is kept but not charged (absent = the taxonomy's flag decides);
* ``gpu.used`` (boolean): the span ran on a GPU, so the rate card's ``gpu_per_ms`` applies
  (span attribute, else resource attribute: a GPU node pool sets it once on its resource);
* ``db_query_count``: the number of span events named ``db.query``.

Every attribute also lands in ``resource_attributes`` / ``span_attributes`` maps (values as
text; arrays and key-value lists as their JSON), so nothing in the file is lost.

Proto3's JSON mapping writes 64-bit integers (``intValue``, ``*UnixNano``) as strings; both
strings and numbers are accepted. Guarantees are the other loaders': one transaction per load,
a reload of the same files is a no-op, a load replaces the (service, day) partitions it holds
(so load a day's folder at once: a file loaded alone replaces its services' days), and a bad
file raises a :class:`~ingest.load.spec.LoadError` naming file, request, span and field.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from ingest.load import commands
from ingest.load.db import transaction
from ingest.load.files import file_fingerprint, format_family, literal_files, source_files
from ingest.load.partitions import (
    apply_partitions,
    delivery_fingerprint,
    new_load_id,
    prior_load,
    record_load,
)
from ingest.load.spec import (
    DEFAULT_GUARDS,
    LINEAGE_COLUMNS,
    Column,
    Guards,
    LoadError,
    LoadResult,
    MapColumn,
    TableSpec,
    error_line,
    quote_ident,
    snake_name,
)
from ingest.registry import Source, ensure_all_tables, register

log = logging.getLogger(__name__)

FEATURE_ATTRIBUTE = "feature.id"
TENANT_ATTRIBUTE = "tenant.id"
FLAG_ATTRIBUTE = "feature_flag.enabled"
GPU_ATTRIBUTE = "gpu.used"
DB_QUERY_EVENT = "db.query"

SPEC = TableSpec(
    source="otel_spans",
    table="raw.otel_spans",
    columns=(
        Column("trace_id", "VARCHAR", required=True),
        Column("span_id", "VARCHAR", required=True),
        Column("parent_span_id", "VARCHAR"),
        Column("service_name", "VARCHAR", required=True),
        Column("span_name", "VARCHAR"),
        Column("span_kind", "VARCHAR"),
        Column("scope_name", "VARCHAR"),
        Column("status_code", "VARCHAR"),
        Column("start_time_unix_nano", "BIGINT", required=True),
        Column("end_time_unix_nano", "BIGINT", required=True),
        Column("start_at", "TIMESTAMP", required=True),
        Column("end_at", "TIMESTAMP", required=True),
        Column("duration_ns", "BIGINT", required=True),
        Column("feature_id", "VARCHAR"),
        Column("tenant_id", "VARCHAR"),
        Column("feature_flag_enabled", "BOOLEAN"),
        Column("uses_gpu", "BOOLEAN"),
        Column("db_query_count", "INTEGER", required=True),
        Column("span_path", "VARCHAR", required=True),
    ),
    maps=(MapColumn("resource_attributes"), MapColumn("span_attributes")),
    normalise=snake_name,
    account_column="service_name",
    period_column="start_at",
    period_grain="day",
    currency_column=None,
    billed_column=None,
)
"""Partitions are (export, service, day of the span's start)."""

# The OTLP/JSON shape read from each file; keys not named here are ignored, keys missing from a
# document read as null. Scalars are read as text: proto3 JSON writes int64 as strings, some
# producers as numbers, and the loader (not the JSON sniffer) decides what is valid.
_VALUE = (
    "STRUCT(stringValue VARCHAR, intValue VARCHAR, boolValue VARCHAR, doubleValue VARCHAR, "
    "bytesValue VARCHAR, arrayValue JSON, kvlistValue JSON)"
)
_ATTRIBUTES = f"STRUCT(key VARCHAR, value {_VALUE})[]"
_SPAN = (
    "STRUCT(traceId VARCHAR, spanId VARCHAR, parentSpanId VARCHAR, name VARCHAR, kind VARCHAR, "
    "startTimeUnixNano VARCHAR, endTimeUnixNano VARCHAR, "
    f"attributes {_ATTRIBUTES}, "
    f"events STRUCT(timeUnixNano VARCHAR, name VARCHAR, attributes {_ATTRIBUTES})[], "
    "status STRUCT(code VARCHAR, message VARCHAR))"
)
_RESOURCE_SPANS = (
    f"STRUCT(resource STRUCT(attributes {_ATTRIBUTES}), "
    f"scopeSpans STRUCT(scope STRUCT(name VARCHAR, version VARCHAR), spans {_SPAN}[])[])[]"
)


def _attr_map(attrs: str) -> str:
    """An OTLP attribute list as MAP(VARCHAR, VARCHAR): the one value field that is set."""
    value = (
        "coalesce(a.value.stringValue, a.value.intValue, a.value.boolValue, "
        "a.value.doubleValue, a.value.bytesValue, CAST(a.value.arrayValue AS VARCHAR), "
        "CAST(a.value.kvlistValue AS VARCHAR))"
    )
    return (
        f"map_from_entries(list_transform(coalesce({attrs}, []), "
        f"lambda a: {{'key': a.key, 'value': {value}}}))"
    )


def _has_duplicate_key(attrs: str) -> str:
    keys = f"list_transform(coalesce({attrs}, []), lambda a: a.key)"
    return f"len(list_distinct({keys})) <> len(list_filter({keys}, lambda k: k IS NOT NULL))"


# One row per span of one file, every value still as written (text), beside its parse. The
# checks below read this table; the insert into raw reads the parsed columns.
_STAGE_SQL = f"""
INSERT INTO _otel_stage
SELECT
    ? AS source_file,
    r.ordinality AS request_number,
    'resourceSpans[' || (rs_i - 1) || '].scopeSpans[' || (ss_i - 1) || '].spans['
        || (sp_i - 1) || ']' AS span_path,
    nullif(trim(sp.traceId), '') AS trace_id,
    nullif(trim(sp.spanId), '') AS span_id,
    nullif(trim(sp.parentSpanId), '') AS parent_span_id,
    sp.name AS span_name,
    sp.kind AS span_kind,
    ss.scope.name AS scope_name,
    sp.status.code AS status_code,
    sp.startTimeUnixNano AS start_text,
    sp.endTimeUnixNano AS end_text,
    CASE WHEN regexp_full_match(trim(sp.startTimeUnixNano), '[0-9]{{1,19}}')
        THEN TRY_CAST(trim(sp.startTimeUnixNano) AS BIGINT) END AS start_ns,
    CASE WHEN regexp_full_match(trim(sp.endTimeUnixNano), '[0-9]{{1,19}}')
        THEN TRY_CAST(trim(sp.endTimeUnixNano) AS BIGINT) END AS end_ns,
    {_attr_map("rs.resource.attributes")} AS resource_attributes,
    {_attr_map("sp.attributes")} AS span_attributes,
    len(list_filter(coalesce(sp.events, []), lambda e: e.name = '{DB_QUERY_EVENT}'))
        AS db_query_count,
    {_has_duplicate_key("rs.resource.attributes")} AS resource_key_repeated,
    {_has_duplicate_key("sp.attributes")} AS span_key_repeated
FROM read_json(?, format = 'auto', columns = {{'resourceSpans': '{_RESOURCE_SPANS}'}},
               maximum_object_size = 1073741824) WITH ORDINALITY AS r,
    unnest(r.resourceSpans) WITH ORDINALITY AS u1(rs, rs_i),
    unnest(rs.scopeSpans) WITH ORDINALITY AS u2(ss, ss_i),
    unnest(ss.spans) WITH ORDINALITY AS u3(sp, sp_i)
"""

_STAGE_COLUMNS = """
    source_file VARCHAR, request_number BIGINT, span_path VARCHAR, trace_id VARCHAR,
    span_id VARCHAR, parent_span_id VARCHAR, span_name VARCHAR, span_kind VARCHAR,
    scope_name VARCHAR, status_code VARCHAR, start_text VARCHAR, end_text VARCHAR,
    start_ns BIGINT, end_ns BIGINT, resource_attributes MAP(VARCHAR, VARCHAR),
    span_attributes MAP(VARCHAR, VARCHAR), db_query_count INTEGER,
    resource_key_repeated BOOLEAN, span_key_repeated BOOLEAN
"""


def _attr(name: str) -> str:
    """A span attribute, else the resource's (text)."""
    return f"coalesce(span_attributes['{name}'], resource_attributes['{name}'])"


def _flag(name: str) -> str:
    return f"TRY_CAST(lower(trim({_attr(name)})) AS BOOLEAN)"


def _bool_ok(name: str) -> str:
    return f"({_attr(name)} IS NULL OR lower(trim({_attr(name)})) IN ('true', 'false'))"


# (condition that marks a bad span, field it names, the value shown), checked in this order.
_CHECKS: tuple[tuple[str, str, str], ...] = (
    ("trace_id IS NULL", "traceId: missing", "trace_id"),
    ("span_id IS NULL", "spanId: missing", "span_id"),
    (
        "nullif(trim(resource_attributes['service.name']), '') IS NULL",
        "resource attribute 'service.name': missing",
        "resource_attributes['service.name']",
    ),
    (
        "start_ns IS NULL OR start_ns = 0",
        "startTimeUnixNano: not a positive whole number of nanoseconds",
        "start_text",
    ),
    (
        "end_ns IS NULL OR end_ns = 0",
        "endTimeUnixNano: not a positive whole number of nanoseconds",
        "end_text",
    ),
    (
        "end_ns < start_ns",
        "endTimeUnixNano: before startTimeUnixNano",
        "end_text || ' < ' || start_text",
    ),
    ("resource_key_repeated", "resource attributes: a key appears twice", "NULL"),
    ("span_key_repeated", "attributes: a key appears twice", "NULL"),
    (
        f"NOT {_bool_ok(FLAG_ATTRIBUTE)}",
        f"attribute {FLAG_ATTRIBUTE!r}: not true or false",
        _attr(FLAG_ATTRIBUTE),
    ),
    (
        f"NOT {_bool_ok(GPU_ATTRIBUTE)}",
        f"attribute {GPU_ATTRIBUTE!r}: not true or false",
        _attr(GPU_ATTRIBUTE),
    ),
)


def _check_stage(con: duckdb.DuckDBPyConnection) -> None:
    """The first bad span of the load, as a LoadError naming file, request, span and field."""
    cases = " ".join(f"WHEN {cond} THEN {i}" for i, (cond, _, _) in enumerate(_CHECKS))
    values = " ".join(f"WHEN {cond} THEN CAST({v} AS VARCHAR)" for cond, _, v in _CHECKS)
    bad = con.execute(
        f"""
        SELECT source_file, request_number, span_path, CASE {cases} END, CASE {values} END
        FROM _otel_stage
        WHERE CASE {cases} END IS NOT NULL
        ORDER BY source_file, request_number, span_path
        LIMIT 1
        """
    ).fetchone()
    if bad:
        shown = "" if bad[4] is None else f" ({bad[4][:60]!r})"
        raise LoadError(f"{bad[0]}: request {bad[1]}, {bad[2]}, {_CHECKS[bad[3]][1]}{shown}")


def load(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    *,
    export_name: str = SPEC.source,
    force: bool = False,
    fingerprint: Callable[[Path], str] = file_fingerprint,
    display_root: str | None = None,
    progress: Callable[[str], None] | None = None,
    guards: Guards = DEFAULT_GUARDS,
) -> LoadResult:
    """Load every OTLP/JSON file below ``path`` as one delivery into ``raw.otel_spans``."""
    say = progress or (lambda _msg: None)
    started = time.monotonic()
    files = source_files(path, fingerprint, display_root, progress)
    for f in files:
        if format_family(f.path) != "json":
            raise LoadError(f"{f.display}: not an OTLP/JSON file (expected .json or .jsonl)")
    digest = delivery_fingerprint(sorted(f.fingerprint for f in files))
    if not force and (prior := prior_load(con, SPEC, export_name, digest)):
        return LoadResult(SPEC.source, prior, export_name, len(files), 0, 0.0, True)

    load_id = new_load_id()
    loaded_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with transaction(con):
        ensure_all_tables(con)
        con.execute(f"CREATE OR REPLACE TEMP TABLE _otel_stage ({_STAGE_COLUMNS})")
        with literal_files(files) as readable:
            for n, f in enumerate(readable, 1):
                try:
                    got = con.execute(_STAGE_SQL, [f.display, str(f.path)]).fetchone()
                except duckdb.Error as exc:
                    why = re.sub(r' in file "[^"]*"|^[A-Za-z ]+Error: ', "", error_line(exc))
                    raise LoadError(f"{f.display}: not readable as OTLP/JSON: {why}") from None
                say(f"[{n}/{len(files)}] {f.display}: {got[0] if got else 0:,} spans")
        _check_stage(con)
        rows = _insert(con, load_id, loaded_at, export_name)
        if rows == 0:
            raise LoadError(
                f"{files[0].display if len(files) == 1 else path}: no spans found "
                "(expected OTLP/JSON resourceSpans → scopeSpans → spans)"
            )
        con.execute("DROP TABLE _otel_stage")
        partitions = apply_partitions(con, SPEC, load_id, export_name, loaded_at, guards)
        record_load(
            con,
            SPEC,
            load_id,
            export_name,
            digest,
            [f.display for f in files],
            rows,
            loaded_at,
            partitions,
        )
    return LoadResult(
        SPEC.source,
        load_id,
        export_name,
        len(files),
        rows,
        time.monotonic() - started,
        partitions=partitions,
        period_grain="day",
        key_label="service",
    )


def _insert(
    con: duckdb.DuckDBPyConnection, load_id: str, loaded_at: dt.datetime, export_name: str
) -> int:
    """Staged spans → raw.otel_spans with lineage; returns the rows inserted."""
    cols = ", ".join(quote_ident(c) for c in SPEC.column_names)
    lineage = ", ".join(name for name, _ in LINEAGE_COLUMNS)
    got = con.execute(
        f"""
        INSERT INTO {SPEC.table} ({cols}, {lineage})
        SELECT
            trace_id, span_id, parent_span_id,
            trim(resource_attributes['service.name']),
            span_name, span_kind, scope_name, status_code,
            start_ns, end_ns,
            make_timestamp(start_ns // 1000), make_timestamp(end_ns // 1000),
            end_ns - start_ns,
            nullif(trim({_attr(FEATURE_ATTRIBUTE)}), ''),
            nullif(trim({_attr(TENANT_ATTRIBUTE)}), ''),
            {_flag(FLAG_ATTRIBUTE)},
            {_flag(GPU_ATTRIBUTE)},
            db_query_count, span_path, resource_attributes, span_attributes,
            ?, source_file, request_number, ?, ?,
            trim(resource_attributes['service.name']),
            CAST(make_timestamp(start_ns // 1000) AS DATE),
            false, 1, CAST(NULL AS DATE)
        FROM _otel_stage
        """,
        [load_id, loaded_at, export_name],
    ).fetchone()
    return int(got[0]) if got else 0


def _load_command(con, path, args, **kw):  # type: ignore[no-untyped-def]
    return load(
        con,
        path,
        export_name=args.export_name or SPEC.source,
        force=args.force,
        guards=commands.guards(args),
        **kw,
    )


register(
    Source(
        SPEC,
        command="otel-spans",
        label="an OpenTelemetry span export",
        help="OpenTelemetry spans as OTLP/JSON (collector file exporter JSON Lines, or OTLP/HTTP "
        "bodies)",
        description="Load OpenTelemetry spans as OTLP/JSON (collector file exporter JSON Lines, "
        "or OTLP/HTTP bodies).",
        load=_load_command,
    )
)
