"""What a source is to the loader: its raw table's columns (:class:`TableSpec`), the files it
reads, what a load did, and the errors a load raises."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

MONEY = "DECIMAL(38, 12)"
"""Exact money type. 12 decimal places keep CUR's 10-place rates exact; 26 integer digits."""
CUSTOMER_LOOK_ALIKES = ("customer", "cust_id", "client", "client_id", "tenant", "tenant_id")
"""Headers a user means as ``customer_id`` where a source does not accept them as such."""

DEFAULT_DB_ENV = "COST_MODEL_DB"
DEFAULT_DB_PATH = "warehouse/cost_model.duckdb"

PARQUET_EXT = (".parquet",)
TEXT_EXT = (".csv", ".csv.gz", ".tsv", ".tsv.gz", ".txt", ".txt.gz", ".gz", ".zip")
JSON_EXT = (".jsonl", ".ndjson", ".json", ".jsonl.gz", ".ndjson.gz")

LINEAGE_COLUMNS = (
    ("_load_id", "VARCHAR"),
    ("_source_file", "VARCHAR"),
    ("_source_row", "BIGINT"),
    ("_loaded_at", "TIMESTAMP"),
    ("_export_name", "VARCHAR"),
    ("_billing_account_id", "VARCHAR"),
    ("_billing_period", "DATE"),
    ("_is_correction", "BOOLEAN"),
    ("_correction_sign", "INTEGER"),
    ("_correction_period", "DATE"),
)


class LoadError(Exception):
    """A load failed; the message names the file and the column or row, nothing was written."""


class UsageError(Exception):
    """The command line was wrong (exit code 2)."""


@dataclass(frozen=True)
class Column:
    """One canonical column of a raw table.

    ``aliases`` are extra normalised source names that land in this column (e.g. FOCUS 0.5
    ``Provider`` for ``ProviderName``). ``formats`` are strptime formats tried for text
    timestamps that DuckDB's ISO cast does not accept (Azure's ``9/2/2023``).
    """

    name: str
    type: str
    aliases: tuple[str, ...] = ()
    required: bool = False
    formats: tuple[str, ...] = ()
    look_alikes: tuple[str, ...] = ()
    """Normalised headers that suggest this column but are not it (``customer``, ``tenant`` for
    ``customer_id``): a file holding one of them without the column is refused, so a
    misnamed column never lands as a column of nulls."""
    if_missing: str = ""
    """What is lost when a file lacks this optional column, printed as a warning (``this metric
    cannot split cost to customers``); empty: nothing worth a warning."""


@dataclass(frozen=True)
class MapColumn:
    """A MAP(VARCHAR, value_type) column assembled from a native map/JSON column or flattened ones.

    ``native`` names hold a whole map (CUR 2.0 ``resource_tags``, FOCUS ``Tags`` JSON);
    ``prefixes`` match flattened columns (legacy ``resourceTags/user:team``) whose remainder is
    the key. Matching is on the raw header, so keys keep their source spelling.
    """

    name: str
    native: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()
    # Tags are text; ClickHouse's ProfileEvents are UInt64 counters, kept as numbers: casting
    # a parquet MAP(VARCHAR, UBIGINT) to text values costs more than reading the whole file.
    value_type: str = "VARCHAR"

    @property
    def sql_type(self) -> str:
        return f"MAP(VARCHAR, {self.value_type})"


@dataclass(frozen=True)
class TableSpec:
    """What one source's raw table looks like and how files map onto it."""

    source: str
    table: str
    columns: tuple[Column, ...]
    maps: tuple[MapColumn, ...]
    normalise: Callable[[str], str]
    account_column: str | None
    period_column: str | None
    currency_column: str | None
    billed_column: str | None
    invoice_column: str | None = None
    period_grain: str = "month"
    """Partition grain of ``period_column``: ``month`` (bills), ``day`` (daily usage exports)
    or ``all`` (a snapshot such as the customer list: each load replaces the whole table)."""
    skip_row: tuple[str, str] | None = None
    """(column, prefix) marking a row to drop before loading, e.g. the types row of ClickHouse's
    TSVWithNamesAndTypes (``type`` starts with ``Enum8(``)."""
    null_strings: tuple[str, ...] = ("",)
    line_id: tuple[str, ...] = ()
    """Columns that identify one line within a delivery (CUR: line item id + time interval).
    A bill's lines without them are identified by a fingerprint of every column."""
    natural_key: tuple[str, ...] = ()
    """Columns that identify one fact across deliveries of a non-bill source (a usage metric's
    quantity per day, product, customer and feature): two exports holding the same fact would
    count it twice."""
    provider: str | None = None
    """Set on bill sources: the cloud whose bills land here (``aws``, ``azure``, ``oci``)."""
    provider_column: str | None = None
    """Bill sources carrying several clouds (FOCUS): the column naming the provider."""
    basis_column: str | None = None
    """A bill source whose exports come in complementary kinds (Azure actual and amortized
    cost): deliveries of different kinds of one bill are a pair, not the bill twice."""
    basis_default: str = ""
    """The kind of rows loaded before the basis was recorded."""
    load_columns: tuple[str, ...] = ()
    """Text columns holding one value per load (Azure's cost basis), written by the load in its
    own transaction and left out of the closed-period comparison (they describe the delivery,
    not the line)."""
    narrow: bool = False
    """A file of this source holds few columns, nearly all of them the spec's (usage, revenue,
    customers, AI requests): a header spelt close to a missing column (``custmer_id``) is an
    error, and the columns it ignores are listed. Wide exports (bills, query_log) carry
    hundreds of columns the spec does not read, so only headers that equal a missing column
    but for case and separators, or a declared look-alike, are errors there."""

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns] + [m.name for m in self.maps]

    @property
    def is_bill(self) -> bool:
        return bool(self.provider or self.provider_column)


@dataclass
class SourceFile:
    """One file to load, as the user sees it (``display``) and as DuckDB reads it (``path``)."""

    path: Path
    display: str
    fingerprint: str
    header_names: list[str] | None = None
    head: tuple[str, str] | None = field(default=None, repr=False)
    raw_header: list[str] | None = field(default=None, repr=False)
    """Header names exactly as written (DuckDB renames duplicates and trims spaces)."""


@dataclass
class PartitionResult:
    billing_account_id: str
    billing_period: dt.date
    action: str
    rows: int


@dataclass
class LoadResult:
    """What a load did, for the CLI summary and for tests."""

    source: str
    load_id: str
    export_name: str
    files: int
    rows: int
    seconds: float
    skipped: bool = False
    partitions: list[PartitionResult] = field(default_factory=list)
    totals: list[tuple[dt.date, str, float]] = field(default_factory=list)
    period_grain: str = "month"
    key_label: str = "account"
    reconciled: list[tuple[str, int, float | None]] = field(default_factory=list)
    superseded: list[str] = field(default_factory=list)
    """What ``--replace`` removed: one line per earlier delivery this one took over from."""
    notices: list[str] = field(default_factory=list)
    """What the load kept but a user should know (lines repeated within a file)."""
    warnings: list[str] = field(default_factory=list)
    """What the load lands without, and what that costs (a usage file with no customer_id)."""

    def as_dict(self) -> dict[str, object]:
        """What ``--json`` prints: the summary's facts, dates as ISO strings."""
        return {
            "source": self.source,
            "load_id": self.load_id,
            "export_name": self.export_name,
            "skipped": self.skipped,
            "files": self.files,
            "rows": self.rows,
            "seconds": round(self.seconds, 3),
            "partitions": [
                {
                    "billing_period": p.billing_period.isoformat(),
                    self.key_label: p.billing_account_id,
                    "action": p.action,
                    "rows": p.rows,
                }
                for p in self.partitions
            ],
            "billed": [
                {"billing_period": period.isoformat(), "currency": currency, "total": total}
                for period, currency, total in self.totals
                if currency
            ],
            "reconciled": [
                {"file": file, "rows": rows, "cost": cost} for file, rows, cost in self.reconciled
            ],
            "superseded": self.superseded,
            "warnings": self.warnings,
            "notices": self.notices,
        }

    def summary(self) -> str:
        if self.skipped:
            return f"{self.source}: unchanged since load {self.load_id}; nothing to do"
        lines = [
            f"{self.source}: loaded {self.rows:,} rows from {self.files} file(s) "
            f"in {self.seconds:.2f} s (load {self.load_id}, export {self.export_name!r})"
        ]
        for p in self.partitions:
            if self.period_grain == "all":
                where = "snapshot"
            else:
                shown = (
                    f"{p.billing_period:%Y-%m-%d}"
                    if self.period_grain == "day"
                    else (f"{p.billing_period:%Y-%m}")
                )
                where = f"{shown} {self.key_label} {p.billing_account_id or '-'}"
            lines.append(f"  {where}: {p.action} ({p.rows:,} rows)")
        for line in self.superseded:
            lines.append(f"  replaced {line}")
        for line in self.warnings:
            lines.append(f"  warning: {line}")
        for line in self.notices:
            lines.append(f"  notice: {line}")
        for period, currency, total in self.totals:
            if not currency:  # cost-0 lines with a blank currency
                continue
            lines.append(f"  {period:%Y-%m} billed {currency} {total:,.2f}")
        if self.reconciled:
            n_rows = sum(r[1] for r in self.reconciled)
            sums = [r[2] for r in self.reconciled if r[2] is not None]
            money = f", cost {sum(sums):,.2f}" if sums else ""
            lines.append(
                f"  reconciled {len(self.reconciled)} file(s) against a second read: "
                f"{n_rows:,} rows{money} read = landed"
            )
        return "\n".join(lines)


def snake_name(header: str) -> str:
    """Normalise a source header the way AWS's Athena integration does.

    ``lineItem/UnblendedCost`` → ``line_item_unblended_cost``, ``reservation/ReservationARN`` →
    ``reservation_reservation_a_r_n`` (every capital starts a word, as in CUR 2.0), FOCUS
    ``BilledCost`` → ``billed_cost``; already-snake names are unchanged.
    """
    parts = []
    for part in header.strip().lstrip("\ufeff").split("/"):
        out = []
        for i, ch in enumerate(part):
            if ch.isupper() and i > 0 and part[i - 1] not in "_ ":
                out.append("_")
            out.append(ch.lower())
        parts.append(re.sub(r"[^a-z0-9]+", "_", "".join(out)).strip("_"))
    return "_".join(p for p in parts if p)


def quote_ident(name: str) -> str:
    """Quote an identifier the way DuckDB does, so header text is never spliced in raw."""
    return '"' + name.replace('"', '""') + '"'


# --------------------------------------------------------------------------- the load


@dataclass(frozen=True)
class Guards:
    """What a delivery may do to what is already loaded (``--replace``, ``--allow-shrink``)."""

    replace: bool = False
    """This delivery becomes the source of record of the bills (or facts) it holds: another
    export's lines for the same provider × billing account × billing period are removed."""
    allow_shrink: bool = False
    """Replace a partition even when the delivery is much smaller than what it replaces."""
    shrink_limit: float = 0.5
    """A delivery with fewer rows (or less gross cost) than this fraction of what it replaces
    is refused unless ``allow_shrink``: a re-delivery rarely loses half of a month."""


DEFAULT_GUARDS = Guards()


def error_line(exc: BaseException) -> str:
    """DuckDB's message in one line: its first line, plus the reason when that comes later."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    first = lines[0]
    if "CSV Error" in first and len(lines) > 1:
        reason = next(
            (
                line
                for line in lines[1:]
                if not line.lower().startswith(("original line", "possible"))
            ),
            "",
        )
        if reason:
            first = f"{first}: {reason.rstrip('.')}"
    return first
