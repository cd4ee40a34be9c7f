"""ClickHouse ``system.query_log`` exports: Parquet, TSVWithNames(AndTypes), CSVWithNames,
JSONEachRow.

Lands in ``raw.clickhouse_query_log`` with ClickHouse's own column names. Which rows count as
work (QueryFinish / ExceptionWhileProcessing, initial queries only) is decided in SQL, not here:
the loader keeps every row as exported. A load replaces the (hostname, event_date) partitions it
contains, so re-exporting a day from a node restates that day; export every node (or
``clusterAllReplicas``) to see all work.
"""

from __future__ import annotations

from ingest.load.spec import Column, MapColumn, TableSpec
from ingest.registry import Source, register


def _t(name: str, *, required: bool = False) -> Column:
    return Column(name, "VARCHAR", required=required)


def _n(name: str) -> Column:
    return Column(name, "HUGEINT")  # UInt64 counters can exceed BIGINT


SPEC = TableSpec(
    source="clickhouse_query_log",
    table="raw.clickhouse_query_log",
    columns=(
        _t("hostname"),
        _t("type", required=True),
        Column("event_date", "DATE"),
        Column("event_time", "TIMESTAMP", required=True),
        Column("query_start_time", "TIMESTAMP"),
        Column(
            "query_duration_ms",
            "HUGEINT",
            if_missing="pools split by duration_ms get no driver from this file",
        ),
        _n("read_rows"),
        Column(
            "read_bytes",
            "HUGEINT",
            if_missing="pools split by read_bytes get no driver from this file",
        ),
        _n("written_rows"),
        _n("written_bytes"),
        _n("result_rows"),
        _n("result_bytes"),
        _n("memory_usage"),
        _t("current_database"),
        _n("normalized_query_hash"),
        _t("query_kind"),
        _t("databases"),
        _t("tables"),
        Column("exception_code", "INTEGER"),
        Column("is_initial_query", "INTEGER", required=True),
        Column(
            "user",
            "VARCHAR",
            if_missing="queries cannot be attributed to products by user (clickhouse_user_products)",
        ),
        _t("query_id", required=True),
        _t("initial_user"),
        _t("initial_query_id"),
        _n("distributed_depth"),
        Column(
            "log_comment",
            "VARCHAR",
            if_missing="queries cannot be attributed to products by their log_comment",
        ),
    ),
    maps=(MapColumn("ProfileEvents", native=("ProfileEvents",), value_type="UBIGINT"),),
    normalise=lambda header: header.strip().lstrip("\ufeff"),
    account_column="hostname",
    period_column="event_time",
    period_grain="day",
    currency_column=None,
    billed_column=None,
    # TSVWithNamesAndTypes: the second line holds ClickHouse type names; `type` is required and
    # its type is always Enum8(...), so it identifies that row in every export.
    skip_row=("type", "Enum8("),
    # One query's row of one type on one node; query_id alone repeats (QueryStart and
    # QueryFinish share it, and clients may reuse their own ids).
    line_id=("hostname", "query_id", "type", "event_time"),
    natural_key=("hostname", "query_id", "type", "event_time"),
)


register(
    Source(
        SPEC,
        command="query-log",
        label="a ClickHouse query_log export",
        help="ClickHouse system.query_log export (Parquet, TSVWithNames, CSVWithNames, JSONEachRow)",
        description="Load a ClickHouse system.query_log export (Parquet, TSVWithNames, CSVWithNames, JSONEachRow).",
    )
)
