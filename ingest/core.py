"""Shared loading machinery: spec-driven projection, atomic partition replace, lineage.

Every source (CUR, FOCUS, Azure, OCI, ...) is described by a :class:`TableSpec`: the canonical
columns of its raw table, how source headers map onto them, and which columns hold tags. The
loader reads each file with DuckDB (``read_parquet`` / ``read_csv``) straight into the raw table;
Python only builds the statement and reports progress.

Guarantees, for every source:

* **Atomic.** One load is one transaction. Any error rolls back, so the database is exactly as
  it was before the load.
* **Restatable.** A load replaces the (billing account, billing period) partitions it contains.
  Loading the same delivery again yields the same rows.
* **Closed periods are never rewritten.** If a partition already holds rows with an invoice id,
  a new delivery is diffed against it and only the difference is appended as correction rows
  (``_is_correction``; removed lines carry ``_correction_sign = -1``), booked to the billing
  period in which the correction was received.
* **Lineage.** Each landed row carries ``_load_id``, ``_source_file``, ``_source_row`` (1-based
  data row) and ``_loaded_at``.
* **Clear errors.** A :class:`LoadError` names the file, and the column or row when known.
"""

from __future__ import annotations

import contextvars
import csv
import datetime as dt
import difflib
import gzip
import hashlib
import heapq
import io
import json
import logging
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import uuid
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import duckdb

from ingest.currencies import ISO_4217

log = logging.getLogger(__name__)

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


# --------------------------------------------------------------------------- connections


def database_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The DuckDB file: ``--db``, else ``$COST_MODEL_DB``, else the project default."""
    return Path(explicit or os.environ.get(DEFAULT_DB_ENV) or DEFAULT_DB_PATH)


def connect(
    path: str | os.PathLike[str] | None = None,
    *,
    wait: float = 0.0,
    progress: Callable[[str], None] | None = None,
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse read-write.

    DuckDB allows one writing process per file. If another process (a load, a ``dbt build``)
    holds it, wait up to ``wait`` seconds for it, then fail with a clear message.
    """
    db = database_path(path)
    db.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait
    told = False
    while True:
        try:
            con = duckdb.connect(str(db))
            break
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise LoadError(f"{db}: cannot open database: {error_line(exc)}") from None
            if time.monotonic() >= deadline:
                hint = "" if wait else " (or pass --wait SECONDS)"
                raise LoadError(
                    f"{db}: the database is in use by another process{lock_holder(str(exc))} "
                    f"(a load, a dbt build or a BI tool); wait for it to finish and retry{hint}"
                ) from None
            if progress and not told:
                progress(f"{db}: in use by another process; waiting up to {wait:.0f} s")
                told = True
            time.sleep(0.5)
    con.execute("SET TimeZone = 'UTC'")
    # The same memory cap as dbt's profile (COST_MODEL_MEMORY_LIMIT), so a load of a bill larger
    # than memory spills to disk like the build does instead of taking 80 % of the machine.
    limit = os.environ.get("COST_MODEL_MEMORY_LIMIT")
    if limit:
        con.execute("SET memory_limit = ?", [limit])
    # As in dbt's profile. Every landed row carries its own _source_row, so nothing needs the
    # file's order kept; keeping it leaves many part-filled row groups that DuckDB merges when
    # the connection closes: 9 s of a 35 s load of 10 M query_log rows, spent after the commit.
    con.execute("SET preserve_insertion_order = false")
    # Track progress for our own progress lines, but never let DuckDB draw on stdout.
    con.execute("SET enable_progress_bar = true")
    con.execute("SET enable_progress_bar_print = false")
    return con


_LOCK_PID = re.compile(r"Conflicting lock is held in .*?\(PID (\d+)\)")


def lock_holder(duckdb_message: str) -> str:
    """`` (PID 123)`` from DuckDB's lock error, naming who holds the file; else empty."""
    m = _LOCK_PID.search(duckdb_message)
    return f" (PID {m.group(1)})" if m else ""


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


def ensure_tables(con: duckdb.DuckDBPyConnection, spec: TableSpec) -> None:
    """Create the raw schema, the spec's table and the load registry if missing.

    A table created by an older version of the project gains the columns added since
    (nullable: the rows loaded before have NULL there), so upgrading never needs the
    warehouse rebuilt or a load replayed.
    """
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    cols = [(c.name, c.type) for c in spec.columns]
    cols += [(m.name, m.sql_type) for m in spec.maps]
    cols += list(LINEAGE_COLUMNS)
    cols += [(name, "VARCHAR") for name in spec.load_columns]
    column_sql = ", ".join(f"{quote_ident(name)} {typ}" for name, typ in cols)
    con.execute(f"CREATE TABLE IF NOT EXISTS {spec.table} ({column_sql})")
    schema, table = spec.table.split(".")
    present = {
        name.lower()
        for (name,) in con.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ?",
            [schema, table],
        ).fetchall()
    }
    for name, typ in cols:
        if name.lower() not in present:
            con.execute(f"ALTER TABLE {spec.table} ADD COLUMN {quote_ident(name)} {typ}")
    con.execute(
        """
        CREATE TABLE IF NOT EXISTS raw._loads (
            load_id VARCHAR PRIMARY KEY,
            source VARCHAR NOT NULL,
            export_name VARCHAR NOT NULL,
            fingerprint VARCHAR NOT NULL,
            files JSON NOT NULL,
            row_count BIGINT NOT NULL,
            started_at TIMESTAMP NOT NULL,
            finished_at TIMESTAMP NOT NULL
        )
        """
    )
    con.execute(
        """
        CREATE TABLE IF NOT EXISTS raw._load_partitions (
            load_id VARCHAR NOT NULL,
            source VARCHAR NOT NULL,
            export_name VARCHAR NOT NULL,
            billing_account_id VARCHAR NOT NULL,
            billing_period DATE NOT NULL,
            action VARCHAR NOT NULL,
            row_count BIGINT NOT NULL
        )
        """
    )


# --------------------------------------------------------------------------- discovery


def file_fingerprint(path: Path) -> str:
    """Cheap identity of a delivered file: name, size and modification time."""
    st = path.stat()
    return f"{path.name}:{st.st_size}:{st.st_mtime_ns}"


def is_supported(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith(PARQUET_EXT + TEXT_EXT + JSON_EXT) and not name.endswith("manifest.json")


def format_family(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(PARQUET_EXT):
        return "parquet"
    return "json" if name.endswith(JSON_EXT) else "text"


def walk_tree(
    root: Path,
    keep: Callable[[Path], bool] = is_supported,
    progress: Callable[[str], None] | None = None,
) -> list[Path]:
    """The files below ``root`` that ``keep`` accepts (or ``root`` itself), in a stable order.

    Symbolic links to folders are followed, each folder (device + inode) at most once, so a
    link loop ends instead of hanging; a file reached by two paths (a link beside its target)
    is listed once, under the path through the fewest links. A dangling link is an error: the
    file it stood for would be silently missing. Names are taken literally, never as patterns.
    """
    say = progress or log.info
    if root.is_symlink() and not root.exists():
        raise LoadError(
            f"{root}: broken symbolic link (its target {os.readlink(root)} is missing); "
            "restore the target or remove the link"
        )
    if not root.exists():
        raise LoadError(f"{root}: no such file or directory")
    if not root.is_dir():
        return [root]
    seen_dirs: set[tuple[int, int]] = set()
    found: dict[tuple[int, int], list[tuple[int, str, Path]]] = {}
    # Real folders before linked ones (fewest links first), so a folder reached both ways is
    # read under its real path.
    queue: list[tuple[int, str, Path]] = [(0, str(root), root)]
    while queue:
        links, _, folder = heapq.heappop(queue)
        st = folder.stat()
        if (st.st_dev, st.st_ino) in seen_dirs:
            target = folder.resolve()
            loop = folder.parent.resolve().is_relative_to(target)
            say(f"skipping {folder}: " + ("a link loop" if loop else f"already read as {target}"))
            continue
        seen_dirs.add((st.st_dev, st.st_ino))
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            raise LoadError(f"{folder}: cannot list the folder ({exc.strerror})") from None
        for entry in entries:
            path = Path(entry.path)
            linked = entry.is_symlink()
            if linked and not path.exists():
                raise LoadError(
                    f"{path}: broken symbolic link (its target {os.readlink(path)} is "
                    "missing); restore the target or remove the link"
                )
            if entry.is_dir():  # follows a link
                heapq.heappush(queue, (links + linked, str(path), path))
            elif entry.is_file() and keep(path):
                fst = path.stat()
                found.setdefault((fst.st_dev, fst.st_ino), []).append(
                    (links + linked, str(path), path)
                )
    files = []
    for paths in found.values():
        best, *others = sorted(paths)
        files.append(best[2])
        for other in others:
            say(f"skipping {other[2]}: the same file as {best[2]}")
    return sorted(files)


def walk_files(root: Path, progress: Callable[[str], None] | None = None) -> list[Path]:
    """All loadable files below ``root`` (or ``root`` itself), in a stable order."""
    found = walk_tree(root, is_supported, progress)
    if not found:
        raise LoadError(
            f"{root}: no loadable files found (expected .parquet, .csv, .csv.gz, .tsv, .gz, "
            ".zip or .jsonl)" + _skipped(root)
        )
    return found


def _skipped(root: Path, shown: int = 10) -> str:
    """On the error path: what a folder holds that no loader reads, one line per file with why
    (``.xlsx``: an Excel workbook, hidden, empty, its extension), at most ``shown`` of them."""
    if not root.is_dir():
        return ""
    others = walk_tree(root, lambda _p: True, lambda _m: None)
    if not others:
        return "; the folder is empty"
    lines = []
    for path in others[:shown]:
        name = path.name.lower()
        if name.endswith((".xlsx", ".xlsm", ".xls")):
            why = f"an Excel workbook: {EXCEL_TODO.removeprefix('open it and ')}"
        elif path.name.startswith("."):
            why = "a hidden file"
        elif name.endswith("manifest.json"):
            why = "a manifest (it lists data files; none were found)"
        else:
            suffix = path.suffix or "no extension"
            empty = " (and empty)" if path.stat().st_size == 0 else ""
            why = f"{suffix}: not a format the loaders read{empty}"
        lines.append(f"\n  skipped {path.relative_to(root).as_posix()}: {why}")
    more = f"\n  ... and {len(others) - shown} more" if len(others) > shown else ""
    return f"; skipped {len(others)} file(s):" + "".join(lines) + more


_GLOB_CHARS = frozenset("*?[]{}\\")


def is_pattern(path: Path | str) -> bool:
    """Would DuckDB's readers take this path for a glob pattern (or a ``~``/URL path)?"""
    text = str(path)
    return bool(_GLOB_CHARS.intersection(text)) or text.startswith("~") or "://" in text


def _plain_name(name: str) -> str:
    return "".join("_" if c in _GLOB_CHARS else c for c in name)


def literal_path(path: Path, scratch: Path, n: int) -> Path:
    """A path DuckDB reads as exactly this file: the path itself, or (when its name holds glob
    characters, which DuckDB's readers expand) a symbolic link with a plain name in
    ``scratch``. The link keeps the name's extensions, which decide the format."""
    if not is_pattern(path):
        return path
    link = scratch / f"{n}-{_plain_name(path.name)}"
    link.symlink_to(path.resolve())
    return link


@contextmanager
def literal_paths(paths: Sequence[Path]) -> Iterator[list[Path]]:
    """:func:`literal_path` for each path, the links living as long as the ``with`` block."""
    if not any(is_pattern(p) for p in paths):
        yield list(paths)
        return
    with tempfile.TemporaryDirectory(prefix="ingest-paths-") as tmp:
        yield [literal_path(p, Path(tmp), n) for n, p in enumerate(paths)]


@contextmanager
def literal_files(files: Sequence[SourceFile]) -> Iterator[list[SourceFile]]:
    """The files with paths DuckDB reads literally (display names unchanged)."""
    with literal_paths([f.path for f in files]) as paths:
        yield [f if p == f.path else replace(f, path=p) for f, p in zip(files, paths, strict=True)]


def check_one_format(files: Sequence[SourceFile]) -> None:
    """A delivery is parquet or text, never both: mixing means two exports share a folder."""
    families = {format_family(f.path) for f in files}
    if len(families) > 1:
        examples = {format_family(f.path): f.display for f in files}
        raise LoadError(
            "mixed file formats in one load: "
            + ", ".join(f"{fam} ({name})" for fam, name in sorted(examples.items()))
            + "; load each export folder separately"
        )


@contextmanager
def expanded(files: Sequence[SourceFile]) -> Iterator[list[SourceFile]]:
    """The files as DuckDB reads them: ``.zip`` members (legacy CUR's ZIP compression) streamed
    to a temp dir, names DuckDB would take for glob patterns read through plain-named links.
    The temp dir also holds any copy a reader needs (:func:`_scratch_dir`) for the ``with``."""
    with tempfile.TemporaryDirectory(prefix="ingest-files-") as tmp:
        scratch = Path(tmp)
        token = _SCRATCH.set(scratch)
        try:
            out: list[SourceFile] = []
            for f in files:
                if not f.path.name.lower().endswith(".zip"):
                    path = literal_path(f.path, scratch, len(out))
                    out.append(f if path == f.path else replace(f, path=path))
                    continue
                out.extend(_unzip(f, scratch, len(out)))
            yield out
        finally:
            _SCRATCH.reset(token)


_SCRATCH: contextvars.ContextVar[Path | None] = contextvars.ContextVar("scratch", default=None)


def _unzip(f: SourceFile, scratch: Path, first: int) -> list[SourceFile]:
    """Each member of a zip, streamed to ``scratch`` (never held in memory whole)."""
    out: list[SourceFile] = []
    try:
        with zipfile.ZipFile(f.path) as zf:
            members = [m for m in zf.namelist() if not m.endswith("/")]
            if not members:
                raise LoadError(f"{f.display}: zip archive is empty")
            for i, member in enumerate(members):
                target = scratch / f"{first + len(out)}-{i}-{_plain_name(Path(member).name)}"
                with zf.open(member) as src, target.open("wb") as dst:
                    shutil.copyfileobj(src, dst, 1024 * 1024)
                out.append(
                    SourceFile(
                        target,
                        f"{f.display}!{member}",
                        f"{f.fingerprint}!{member}",
                        f.header_names,
                    )
                )
    except (
        zipfile.BadZipFile,
        zlib.error,
        RuntimeError,  # encrypted member
        NotImplementedError,  # unsupported compression
        EOFError,
        OSError,
    ) as exc:
        raise LoadError(f"{f.display}: not a readable zip archive ({exc})") from None
    return out


# --------------------------------------------------------------------------- reading


def _reader(spec: TableSpec, f: SourceFile) -> tuple[str, list[object], str]:
    """The table-function call for one file, its parameters and its row-number expression."""
    family = format_family(f.path)
    if family == "parquet":
        return (
            "read_parquet(?, file_row_number = true, hive_partitioning = false)",
            [str(f.path)],
            "file_row_number + 1",
        )
    if family == "json":
        # Every object key becomes a column; the loader casts as it does for text.
        call = (
            "read_json(?, format = 'newline_delimited', sample_size = -1, "
            "maximum_object_size = 67108864, hive_partitioning = false) WITH ORDINALITY"
        )
        return call, [str(f.path)], "ordinality"
    delim = sniff_delimiter(f)
    params: list[object] = [str(f.path), list(spec.null_strings), delim]
    extra = ""
    if f.header_names is not None:
        extra = ", header = false, names = ?"
        params.append(f.header_names)
    # all_varchar: the loader, not the sniffer, decides types, so a bad value becomes a named
    # error instead of a silently different column type.
    if delim == "\t":
        # ClickHouse TSV escapes instead of quoting, so a '"' inside a query is just text.
        extra += ", quote = ''"
    # comment = '': a bill has no comment lines; left to the sniffer, a value starting with
    # '#' made '#' the comment character and its rows vanished.
    call = (
        # hive_partitioning off: a CUR 2.0 CSV under BILLING_PERIOD=2026-08/ would otherwise
        # gain a column from its folder name.
        "read_csv(?, all_varchar = true, nullstr = ?, delim = ?, strict_mode = true, "
        f"hive_partitioning = false, comment = ''{extra}) WITH ORDINALITY"
    )
    return call, params, "ordinality"


_DELIMITERS = (",", "\t", "\x01", "|", ";")


def sniff_delimiter(f: SourceFile) -> str:
    """The field delimiter, from the first line: DuckDB's sniffer misses Hive's Ctrl-A."""
    return _head(f)[0]


def _head(f: SourceFile) -> tuple[str, str]:
    """(delimiter, first line) of a text file, read once per file."""
    if f.head is None:
        f.head = _read_head(f)
    return f.head


def _read_head(f: SourceFile) -> tuple[str, str]:
    opener = gzip.open if f.path.name.lower().endswith(".gz") else open
    _check_is_text(f)
    try:
        with opener(f.path, "rb") as fh:  # type: ignore[operator]
            # The header line, however long (a CUR with thousands of tag columns), capped so a
            # file with no newline at all cannot exhaust memory.
            first_bytes = _read_record(fh)
            second_bytes = _read_record(fh)
    except (OSError, EOFError, zlib.error) as exc:
        raise LoadError(f"{f.display}: cannot read file: {exc}") from None
    first = first_bytes.lstrip(b"\xef\xbb\xbf").decode("utf-8", "replace").rstrip("\r\n")
    second = second_bytes.decode("utf-8", "replace").rstrip("\r\n")
    if not first.strip():
        raise LoadError(f"{f.display}: file is empty")
    # The delimiter is the one that splits the header and the first row into the same number
    # of fields (quoting honoured), the most fields winning; so a quoted tag key full of ';'
    # does not outvote the real ','.
    best, best_key = ",", (False, 1)
    for delim in _DELIMITERS:
        fields = _split_header(first, delim)
        if fields is None or len(fields) < 2:
            continue
        row = _split_header(second, delim) if second else None
        key = (row is not None and len(row) == len(fields), len(fields))
        if key > best_key:
            best, best_key = delim, key
    return best, first


EXCEL_TODO = "open it and save it as CSV (File → Save As → CSV UTF-8) and load the CSV"


def _check_is_text(f: SourceFile) -> None:
    """Refuse, from its first bytes, a file with a text name that DuckDB would misread as
    ragged rows or a bad header: another format renamed, UTF-16, CR-only line endings."""
    try:
        with open(f.path, "rb") as fh:
            magic = fh.read(4)
        if f.path.name.lower().endswith(".gz") and magic[:2] == b"\x1f\x8b":
            with gzip.open(f.path, "rb") as gz:
                start = gz.read(65536)
        else:
            with open(f.path, "rb") as fh:
                start = fh.read(65536)
    except (OSError, EOFError, zlib.error):
        return  # _read_head names the read error
    what = None
    if magic == b"PAR1":
        what = "is a Parquet file, not text: rename it to end in .parquet"
    elif magic[:2] == b"\x1f\x8b" and not f.path.name.lower().endswith(".gz"):
        what = "is gzip-compressed: rename it to end in .gz (e.g. .csv.gz)"
    elif magic == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(f.path) as zf:
                office = "[Content_Types].xml" in zf.namelist()
        except (zipfile.BadZipFile, OSError):
            office = False
        what = (
            f"is an Excel workbook (.xlsx), not CSV: {EXCEL_TODO}"
            if office
            else "is a zip archive: rename it to end in .zip"
        )
    elif magic == b"\xd0\xcf\x11\xe0":  # OLE2: an Excel 97-2003 workbook
        what = f"is an Excel workbook (.xls), not CSV: {EXCEL_TODO}"
    elif start.startswith((b"\xff\xfe", b"\xfe\xff")):
        what = "is UTF-16 text: save it as UTF-8 CSV (e.g. iconv -f UTF-16 -t UTF-8 FILE > NEW.csv)"
    elif b"\r" in start and b"\n" not in start:
        what = (
            "has CR-only line endings (classic Mac): convert them to LF "
            "(e.g. tr '\\r' '\\n' < FILE > NEW.csv)"
        )
    if what:
        raise LoadError(f"{f.display}: {what}")


def _scratch_dir() -> Path | None:
    """The temp dir of the current :func:`expanded` block, for copies a reader needs."""
    return _SCRATCH.get()


_LINE_END = re.compile(rb'"|\r?\n')


def _normalise_line_endings(f: SourceFile, chunk: int = 1024 * 1024) -> bool:
    """On the error path only: if the file ends its lines with both CRLF and LF (two exports
    concatenated; DuckDB's strict reader refuses it), point ``f`` at a copy whose lines end
    in LF and return True. A line break inside a quoted value is data and stays as written."""
    scratch = _scratch_dir()
    if scratch is None:
        return False
    gz = f.path.name.lower().endswith(".gz")
    opener = gzip.open if gz else open
    target = scratch / f"lf-{uuid.uuid4().hex[:8]}-{f.path.name[:-3] if gz else f.path.name}"
    quotes = sniff_delimiter(f) != "\t"  # ClickHouse TSV does not quote
    in_quotes = crlf = lf = False
    try:
        with opener(f.path, "rb") as src, target.open("wb") as dst:  # type: ignore[operator]
            carry = b""
            while block := src.read(chunk):
                block = carry + block
                carry = b"\r" if block.endswith(b"\r") else b""
                block = block[: len(block) - len(carry)]
                out, start = [], 0
                for m in _LINE_END.finditer(block):
                    if m.group() == b'"':
                        in_quotes = quotes and not in_quotes
                    elif not in_quotes:
                        crlf = crlf or len(m.group()) == 2
                        lf = lf or len(m.group()) == 1
                        out += [block[start : m.start()], b"\n"]
                        start = m.end()
                out.append(block[start:])
                dst.write(b"".join(out))
            dst.write(carry)
    except (OSError, EOFError, zlib.error):
        target.unlink(missing_ok=True)
        return False
    if not (crlf and lf):
        target.unlink()
        return False
    f.path = target
    return True


def _read_record(fh: object, limit: int = 64 * 1024 * 1024) -> bytes:
    """One CSV record: physical lines until the double quotes balance (a quoted header name
    may hold a line break), capped so a file without newlines cannot exhaust memory."""
    record = b""
    while len(record) < limit:
        line = fh.readline(limit)  # type: ignore[attr-defined]
        if not line:
            break
        record += line
        if record.count(b'"') % 2 == 0:
            break
    return record


def _split_header(line: str, delim: str) -> list[str] | None:
    """The header's names for one delimiter, or None when it cannot be parsed."""
    csv.field_size_limit(sys.maxsize)
    try:
        quoting = csv.QUOTE_NONE if delim == "\t" else csv.QUOTE_MINIMAL
        return next(csv.reader(io.StringIO(line), delimiter=delim, quoting=quoting), [])
    except csv.Error:
        return None


def _first_ragged_row(f: SourceFile, limit: int = 10_000_000) -> str | None:
    """On the error path only: the first data row whose field count differs from the header.

    DuckDB's sniffer rejects a ragged file without saying where; this streams the file once
    with the csv module to name the row.
    """
    if f.header_names is not None:
        return None
    delim = sniff_delimiter(f)
    opener = gzip.open if f.path.name.lower().endswith(".gz") else open
    quoting = csv.QUOTE_NONE if delim == "\t" else csv.QUOTE_MINIMAL
    csv.field_size_limit(sys.maxsize)
    try:
        with opener(f.path, "rt", encoding="utf-8", errors="replace", newline="") as fh:  # type: ignore[operator]
            reader = csv.reader(fh, delimiter=delim, quoting=quoting)
            header = next(reader, None)
            if header is None:
                return None
            for row_number, row in enumerate(reader, 1):
                if row and len(row) != len(header):
                    return (
                        f"row {row_number} has {len(row)} fields but the header has "
                        f"{len(header)} (ragged row, or another delimiter)"
                    )
                if row_number >= limit:
                    break
    except (OSError, EOFError, zlib.error, csv.Error):
        return None
    return None


def describe(
    con: duckdb.DuckDBPyConnection, spec: TableSpec, f: SourceFile
) -> list[tuple[str, str]]:
    """Column names and DuckDB types of one file, failing with the file's name."""
    text = format_family(f.path) == "text"
    if text and f.header_names is not None:
        _check_header_file(f)
    call, params, _ = _reader(spec, f)
    try:
        # On a cursor of its own: a file DuckDB cannot sniff must not abort the load's
        # transaction before the file is repaired (mixed line endings) and read again.
        with con.cursor() as probe:
            rows = probe.execute(f"DESCRIBE SELECT * FROM {call}", params).fetchall()
    except duckdb.Error as exc:
        why = error_line(exc)
        if "sniffing" in why and text and _normalise_line_endings(f):
            return describe(con, spec, f)
        if "sniffing" in why:
            ragged = _first_ragged_row(f) if format_family(f.path) == "text" else None
            why = ragged or (
                "not a consistent delimited file (rows do not match the header: wrong "
                "delimiter, ragged rows or a malformed header)"
            )
        raise LoadError(f"{f.display}: cannot read file: {why}") from None
    cols = [(r[0], r[1]) for r in rows if r[0] not in ("file_row_number", "ordinality")]
    if format_family(f.path) == "text" and f.header_names is None:
        _check_header(con, spec, f, [c[0] for c in cols])
    return cols


def _check_header_file(f: SourceFile) -> None:
    """Names from ``--header-file`` must match the file's fields one for one: DuckDB would
    pad or drop columns silently, landing values under the wrong names."""
    delim, first = _head(f)
    fields = _split_header(first, delim)
    names = f.header_names or []
    if fields is not None and len(fields) != len(names):
        raise LoadError(
            f"{f.display}: the header file names {len(names)} columns but the file's rows "
            f"have {len(fields)} fields; use the header file that came with this export"
        )


def _check_header(
    con: duckdb.DuckDBPyConnection, spec: TableSpec, f: SourceFile, described: list[str]
) -> None:
    """Catch what the CSV sniffer hides: duplicate or blank header names."""
    delim, first = _head(f)
    names = _split_header(first, delim)
    if names is None:
        raise LoadError(f"{f.display}: the header line cannot be parsed")
    f.raw_header = names
    seen: set[str] = set()
    for name in names:
        if not name.strip():
            continue
        if name in seen:
            raise LoadError(f"{f.display}: duplicate column {name!r} in header")
        seen.add(name)
    if len(names) != len(described):
        raise LoadError(
            f"{f.display}: header has {len(names)} names but rows have {len(described)} "
            "fields; the file is malformed or uses another delimiter"
        )


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


_NUMERIC = ("DECIMAL", "DOUBLE", "FLOAT", "BIGINT", "INTEGER", "HUGEINT", "UBIGINT", "SMALLINT")


def tsv_unescape(expr: str) -> str:
    """SQL undoing ClickHouse TSV backslash escapes (backslash + quote, t, n, r, b, f).

    An escaped backslash is parked on a placeholder first, so backslash-backslash-n stays a
    backslash followed by n.
    """
    out = f"replace({expr}, chr(92) || chr(92), chr(1))"
    for escaped, char in ((39, 39), (34, 34), (116, 9), (110, 10), (114, 13), (98, 8), (102, 12)):
        out = f"replace({out}, chr(92) || chr({escaped}), chr({char}))"
    return f"replace({out}, chr(1), chr(92))"


def _sane_time(expr: str) -> str:
    """Null (so: a named error) for timestamps no bill contains: infinite, or outside 1900-9999."""
    return f"CASE WHEN isfinite({expr}) AND year({expr}) BETWEEN 1900 AND 9999 THEN {expr} END"


def _cast_expr(
    col: Column,
    src: str,
    src_type: str,
    index: int,
    row_expr: str,
    tsv: bool = False,
    alias: str = "_cast",
) -> tuple[str | None, str]:
    """SQL turning source column ``src`` into ``col.type``, raising a coded error per bad row.

    Returns (inner, outer): ``inner`` parses the value once, as ``alias``, in a projection under
    the one that checks it; ``outer`` checks that parse by reference and raises the coded error.
    Written as one expression, the parse ran once in the check and again in the result (and
    three times more in the 1900-9999 guard): 3x slower on timestamp and money columns.
    The error text carries only the column index, row number and value; Python maps the index
    back to the header name, so no header text is ever pasted into SQL as a literal.
    """
    target = col.type.upper()
    s = quote_ident(src)
    a = quote_ident(alias)
    src_type = src_type.upper()
    if target == "VARCHAR":
        return None, (tsv_unescape(f"CAST({s} AS VARCHAR)") if tsv else f"CAST({s} AS VARCHAR)")
    if target in ("TIMESTAMP", "DATE"):
        if src_type.startswith("TIMESTAMP") or src_type == "DATE":
            parsed = _sane_time(a)
            return f"CAST({s} AS {target})", (
                f"CASE WHEN {s} IS NOT NULL AND {parsed} IS NULL THEN "
                f"error('\x01{index}\x01' || ({row_expr}) || '\x01' || CAST({s} AS VARCHAR)) "
                f"ELSE {parsed} END"
            )
        text = f"NULLIF(TRIM(CAST({s} AS VARCHAR)), '')"
        # Only text that starts like a date: DuckDB also casts words such as 'epoch'/'infinity'.
        text = f"CASE WHEN regexp_matches({text}, '^[0-9]') THEN {text} END"
        # A bill's dates are the dates it states: an offset (a month restated with +02:00) is
        # dropped, never applied, so no line moves to another billing period or usage day.
        # TIMESTAMPTZ only for text the plain cast cannot read (a zone name).
        tries = [
            f"TRY_CAST({text} AS TIMESTAMP)",
            f"CAST(TRY_CAST({text} AS TIMESTAMPTZ) AS TIMESTAMP)",
        ]
        if col.formats:
            fmts = ", ".join("'" + fmt.replace("'", "''") + "'" for fmt in col.formats)
            tries.append(f"TRY_STRPTIME({text}, [{fmts}])")
        inner = f"COALESCE({', '.join(tries)})"
        if target == "DATE":
            inner = f"CAST({inner} AS DATE)"
        parsed = _sane_time(a)
    elif src_type.startswith(_NUMERIC) and target.startswith(_NUMERIC):
        inner = f"TRY_CAST({s} AS {col.type})"
        parsed = a
    else:
        inner = f"TRY_CAST(NULLIF(TRIM(CAST({s} AS VARCHAR)), '') AS {col.type})"
        parsed = a
    if target in ("DOUBLE", "FLOAT"):
        # NaN and ±Infinity would poison every share computed from this quantity.
        parsed = f"CASE WHEN isfinite({a}) THEN {a} END"
    present = f"NULLIF(TRIM(CAST({s} AS VARCHAR)), '') IS NOT NULL"
    if src_type.startswith(_NUMERIC):
        present = f"{s} IS NOT NULL"
    return inner, (
        f"CASE WHEN {present} AND {parsed} IS NULL THEN "
        f"error('\x01{index}\x01' || ({row_expr}) || '\x01' || LEFT(CAST({s} AS VARCHAR), 60)) "
        f"ELSE {parsed} END"
    )


def _map_expr(
    m: MapColumn,
    sources: list[tuple[str, str]],
    index_of: dict[str, int],
    row_expr: str,
    raw_names: list[str] | None = None,
    tsv: bool = False,
) -> tuple[str, list[object]]:
    """SQL for a tag/category map from a native column or flattened prefixed columns.

    Flattened keys come from the header as written (``raw_names``, by position), because
    DuckDB renames a duplicate-looking ``user:Product`` next to ``user:product`` and trims
    spaces; its names are used only as identifiers.
    """
    for name, typ in sources:
        if name in m.native:
            s = quote_ident(name)
            if typ.upper().startswith("MAP"):
                return f"CAST({s} AS {m.sql_type})", []
            if typ.upper().startswith("STRUCT"):  # a JSON-lines object
                # JSON objects of different rows share one STRUCT type: drop keys a row lacks.
                return (
                    f"map_from_entries(list_filter(map_entries(CAST(to_json({s}) AS "
                    f"{m.sql_type})), lambda e: e.value IS NOT NULL))",
                    [],
                )
            # JSON text. Azure omits the braces (`"a": "b","c": "d"`); ClickHouse's text
            # formats quote map keys with single quotes (`{'Query':1}`).
            text = f"TRIM(CAST({s} AS VARCHAR))"
            single_quoted = "'{' || chr(39)"
            fixed = (
                f"CASE WHEN {text} = '' THEN NULL "
                f"WHEN LEFT({text}, 2) = {single_quoted} "
                f"THEN replace({text}, chr(39), chr(34)) "
                f"WHEN LEFT({text}, 1) = '{{' THEN {text} "
                f"ELSE '{{' || {text} || '}}' END"
            )
            parsed = f"TRY_CAST(TRY_CAST({fixed} AS JSON) AS MAP(VARCHAR, VARCHAR))"
            unreadable = f"{parsed} IS NULL"
            if m.value_type != "VARCHAR":  # a value that is not a number is an error, not null
                unreadable += (
                    f" OR list_bool_or(list_transform(map_values({parsed}), lambda v: "
                    f"v IS NOT NULL AND TRY_CAST(v AS {m.value_type}) IS NULL))"
                )
            idx = index_of[name]
            return (
                f"CASE WHEN {fixed} IS NOT NULL AND ({unreadable}) THEN "
                f"error('\x01{idx}\x01' || ({row_expr}) || '\x01' || LEFT({text}, 60)) "
                f"ELSE COALESCE(CAST({parsed} AS {m.sql_type}), CAST(MAP {{}} AS {m.sql_type})) END",
                [],
            )
    written = raw_names if raw_names and len(raw_names) == len(sources) else None
    flat = [
        (name, raw[len(p) :])
        for i, (name, _) in enumerate(sources)
        for raw in [written[i] if written else name]
        for p in m.prefixes
        if raw.startswith(p)
    ]
    if not flat:
        return f"CAST(MAP {{}} AS {m.sql_type})", []
    cast = (
        (lambda n: tsv_unescape(f"CAST({quote_ident(n)} AS VARCHAR)"))
        if tsv
        else (lambda n: f"CAST({quote_ident(n)} AS VARCHAR)")
    )
    values = ", ".join(cast(n) for n, _ in flat)
    expr = (
        "CAST(map_from_entries(list_filter(map_entries(map(?::VARCHAR[], "
        f"[{values}])), lambda e: e.value IS NOT NULL AND e.value <> '')) AS {m.sql_type})"
    )
    return expr, [[key for _, key in flat]]


def match_sources(
    spec: TableSpec, f: SourceFile, sources: list[tuple[str, str]]
) -> dict[str, tuple[str, str]]:
    """The file's columns by normalised name: (header, type) per name.

    A spec column none of whose names the normaliser finds is also found by its name in
    another case: ``CUSTOMER_ID`` is ``customer_id``, though the CUR-style normaliser spells
    capitals letter by letter (``c_u_s_t_o_m_e_r_i_d``).
    """
    wanted = {n for c in spec.columns for n in (c.name, *c.aliases)}
    by_norm: dict[str, tuple[str, str]] = {}
    for name, typ in sources:
        norm = spec.normalise(name)
        if norm in wanted and norm in by_norm:
            raise LoadError(
                f"{f.display}: columns {by_norm[norm][0]!r} and {name!r} both map to {norm!r}"
            )
        by_norm[norm] = (name, typ)
    for col in spec.columns:
        names = (col.name, *col.aliases)
        if any(n in by_norm for n in names):
            continue
        for name, typ in sources:
            lower = name.strip().lstrip("\ufeff").lower()
            if lower in names and spec.normalise(name) not in wanted:
                by_norm[lower] = (name, typ)
                break
    return by_norm


def _loose(name: str) -> str:
    """A header without case or separators: ``Customer ID`` and ``customerid`` → ``customerid``."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _used_by_maps(spec: TableSpec, f: SourceFile, sources: list[tuple[str, str]]) -> set[str]:
    """Headers a map column reads (native tag columns, flattened ``resourceTags/...``)."""
    written = f.raw_header if f.raw_header and len(f.raw_header) == len(sources) else None
    used = set()
    for i, (name, _) in enumerate(sources):
        raw = written[i] if written else name
        if any(name in m.native or raw.startswith(m.prefixes) for m in spec.maps):
            used.add(name)
    return used


def _near_miss(spec: TableSpec, header: str, missing: Sequence[Column]) -> Column | None:
    """The missing column ``header`` is most likely a misspelling of, if any."""
    key = _loose(header)
    norm = spec.normalise(header)
    for col in missing:
        if key in {_loose(n) for n in (col.name, *col.aliases)}:
            return col
    for col in missing:
        if norm in col.look_alikes or key in {_loose(n) for n in col.look_alikes}:
            return col
    if not spec.narrow:
        return None
    by_key = {_loose(n): col for col in missing for n in (col.name, *col.aliases)}
    close = difflib.get_close_matches(key, list(by_key), n=1, cutoff=0.8)
    return by_key[close[0]] if close else None


def check_header_names(
    spec: TableSpec, f: SourceFile, sources: list[tuple[str, str]]
) -> tuple[list[Column], list[str]]:
    """Refuse a file whose header misspells a column the spec expects; else the optional
    columns it lacks that cost something (see :func:`missing_column_warnings`) and its notices.

    A near miss (``customerid``, ``Customer ID``, ``customer`` for ``customer_id``) with the
    expected column absent would land a column of nulls and move money silently, so it is an
    error. An optional column absent from the whole file is a warning that says what is lost;
    the columns a narrow source ignores are listed in one notice. Header level only: no row is
    read.
    """
    by_norm = match_sources(spec, f, sources)
    used = {
        by_norm[n][0] for c in spec.columns for n in (c.name, *c.aliases) if n in by_norm
    } | _used_by_maps(spec, f, sources)
    missing = [c for c in spec.columns if not any(n in by_norm for n in (c.name, *c.aliases))]
    unknown = [name for name, _ in sources if name not in used]
    what = f"{spec.source} file {f.display}"
    misses = [(h, col) for h in unknown if (col := _near_miss(spec, h, missing)) is not None]
    if misses:
        said = "; ".join(
            f"column {h!r} looks like {col.name!r} (did you mean `{col.name}`?)"
            for h, col in misses
        )
        raise LoadError(f"{what}: {said} — rename the column in the file and load again")
    lacking = [c for c in missing if c.if_missing and not c.required]
    notices = [f"{what}: ignored columns: {', '.join(unknown)}"] if spec.narrow and unknown else []
    return lacking, notices


def missing_column_warnings(spec: TableSpec, lacking: Mapping[str, list[str]]) -> list[str]:
    """One warning per optional column (``lacking``: column → files without it), naming the
    file, or the first file and how many more, and what is lost."""
    out = []
    for col in spec.columns:
        files = lacking.get(col.name)
        if not files:
            continue
        where = (
            f"{spec.source} file {files[0]}"
            if len(files) == 1
            else f"{len(files)} {spec.source} files ({files[0]} and {len(files) - 1} more)"
        )
        out.append(
            f"{where} {'has' if len(files) == 1 else 'have'} no {col.name} column: {col.if_missing}"
        )
    return out


def build_select(
    spec: TableSpec, f: SourceFile, sources: list[tuple[str, str]], row_expr: str
) -> tuple[list[str], list[str], list[object], dict[int, str], tuple[str, str] | None]:
    """Map a file's columns onto the spec.

    Returns the SELECT expressions, the parse-once expressions of the projection under them
    (``<expr> AS <alias>``), their parameters, index → header, and the (header, type) of the
    file's billed-cost column for reconciliation.
    """
    by_norm = match_sources(spec, f, sources)
    index_of = {name: i for i, (name, _) in enumerate(sources)}
    header_of = {i: name for name, i in index_of.items()}
    tsv = format_family(f.path) == "text" and sniff_delimiter(f) == "\t"
    exprs: list[str] = []
    inner: list[str] = []
    params: list[object] = []
    for position, col in enumerate(spec.columns):
        hit = next(
            (by_norm[n] for n in (col.name, *col.aliases) if n in by_norm),
            None,
        )
        if hit is None:
            # The currency column is not `required` (a cost-0 line may leave it blank) but a
            # file without it is still not a bill.
            if col.required or col.name == spec.currency_column:
                hint = wrong_file_hint(spec, f, sources, by_norm)
                if hint and not hint.startswith(";"):
                    raise LoadError(f"{f.display}: {hint}")
                raise LoadError(f"{f.display}: required column {col.name!r} is missing{hint}")
            exprs.append(f"CAST(NULL AS {col.type})")
            continue
        alias = f"__ingest_parsed_{position}"
        parse, check = _cast_expr(col, hit[0], hit[1], index_of[hit[0]], row_expr, tsv, alias)
        if parse is not None:
            inner.append(f"{parse} AS {quote_ident(alias)}")
        exprs.append(check)
    for m in spec.maps:
        expr, p = _map_expr(m, sources, index_of, row_expr, f.raw_header, tsv)
        exprs.append(expr)
        params.extend(p)
    billed = next(
        (
            by_norm[n]
            for c in spec.columns
            if c.name == spec.billed_column
            for n in (c.name, *c.aliases)
            if n in by_norm
        ),
        None,
    )
    return exprs, inner, params, header_of, billed


SOURCE_COMMANDS: dict[str, tuple[str, str]] = {
    "aws_cur": ("cur", "an AWS Cost and Usage Report (CUR)"),
    "focus": ("focus", "a FOCUS export"),
    "focus_contract_commitments": (
        "focus-commitments",
        "a FOCUS Contract Commitment dataset",
    ),
    "azure": ("azure", "an Azure cost details export"),
    "oci": ("oci", "an Oracle Cloud (OCI) cost report"),
    "gcp": ("gcp", "a Google Cloud Billing export"),
    "clickhouse_query_log": ("query-log", "a ClickHouse query_log export"),
    "usage": ("usage", "a usage metrics file"),
    "revenue": ("revenue", "a revenue file"),
    "customers": ("customers", "a customer list"),
    "ai_requests": ("ai-requests", "an AI request log"),
    "opencost": ("opencost", "an OpenCost allocation export"),
    "otel_spans": ("otel-spans", "an OpenTelemetry span export"),
    "aws_cost_explorer": ("cost-explorer-file", "an AWS Cost Explorer response"),
}
"""Each source's sub-command of ``python -m ingest`` and what a user calls its files."""

_DATA_LIKE = re.compile(
    r"-?\$?\d[\d,]*(\.\d+)?([eE][-+]?\d+)?"  # 12, 1,234.50, 1e-05
    r"|\d{4}-\d{2}-\d{2}([T ][\d:.]+)?Z?"  # 2026-08-01, 2026-08-01T00:00:00Z
    r"|\d{1,2}/\d{1,2}/\d{2,4}"  # 8/1/2026
)


def _required(spec: TableSpec) -> list[Column]:
    return [c for c in spec.columns if c.required or c.name == spec.currency_column]


def _fits(spec: TableSpec, f: SourceFile, sources: list[tuple[str, str]]) -> int:
    """How many required columns of ``spec`` the file has, when it has all of them; else 0."""
    try:
        by_norm = match_sources(spec, f, sources)
    except LoadError:
        return 0
    needed = _required(spec)
    has = [c for c in needed if any(n in by_norm for n in (c.name, *c.aliases))]
    return len(has) if needed and len(has) == len(needed) else 0


def wrong_file_hint(
    spec: TableSpec,
    f: SourceFile,
    sources: list[tuple[str, str]],
    by_norm: Mapping[str, tuple[str, str]],
) -> str:
    """On the missing-column error path: why the file may not be a ``spec`` file at all.

    ``; this looks like a FOCUS export: load it with `python -m ingest focus``` when the header
    holds every required column of another source (the most specific one wins); a whole
    message saying the file has no header row when its first line reads as data (numbers,
    dates) and names none of the spec's columns; else an empty string.
    """
    fits = [
        (n, other.source)
        for other in all_specs()
        if other.source != spec.source and (n := _fits(other, f, sources))
    ]
    if fits:
        command, label = SOURCE_COMMANDS.get(max(fits)[1], (max(fits)[1], "another export"))
        return f"; this looks like {label}: load it with `python -m ingest {command}`"
    named = any(n in by_norm for c in spec.columns for n in (c.name, *c.aliases))
    if named or format_family(f.path) != "text" or f.header_names is not None:
        return ""
    delim, first = _head(f)
    fields = [v.strip() for v in _split_header(first, delim) or []]
    if not any(_DATA_LIKE.fullmatch(v) for v in fields):
        return ""
    shown = first if len(first) <= 60 else first[:57] + "..."
    command = SOURCE_COMMANDS.get(spec.source, (spec.source, ""))[0]
    if command == "cur":
        todo = (
            "pass the export's column names with --header-file FILE (one name per line, "
            "e.g. the header file that came with the delivery)"
        )
    else:
        names = spec.column_names if spec.narrow else [c.name for c in _required(spec)]
        some = "" if spec.narrow else " (and any optional columns the export has)"
        todo = (
            f"add the header line `python -m ingest {command}` expects as its first line: "
            f"{delim.join(names)}{some}"
        )
    return f"the file has no header row (its first line {shown!r} is data): {todo}"


_CODED = re.compile("\x01(\\d+)\x01(\\d+)\x01(.*)", re.S)


def explain_error(exc: duckdb.Error, f: SourceFile, header_of: dict[int, str]) -> LoadError:
    """Turn DuckDB's error into one line naming the file, column and row."""
    m = _CODED.search(str(exc))
    if m:
        column = header_of.get(int(m.group(1)), f"#{m.group(1)}")
        value = m.group(3).splitlines()[0] if m.group(3) else ""
        return LoadError(
            f"{f.display}: row {m.group(2)}, column {column!r}: cannot read {value!r} "
            "as the expected type"
        )
    return LoadError(f"{f.display}: {error_line(exc)}")


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


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """One command, one transaction: any error, at any file or at COMMIT, leaves the database
    exactly as it was."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        rollback_quietly(con)
        raise
    try:
        commit(con)
    except BaseException:
        rollback_quietly(con)
        raise


def run_load(
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    files: Sequence[SourceFile],
    **options: Any,
) -> LoadResult:
    """Load ``files`` as one delivery into ``spec.table``, atomically (:func:`land`'s options)."""
    with transaction(con):
        return land(con, spec, files, **options)


def land(
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    files: Sequence[SourceFile],
    *,
    export_name: str,
    force: bool = False,
    allow_currencies: Sequence[str] = (),
    progress: Callable[[str], None] | None = None,
    guards: Guards = DEFAULT_GUARDS,
    load_values: Mapping[str, str] | None = None,
) -> LoadResult:
    """Load one delivery inside the caller's transaction (see :func:`run_load`), so a command
    that loads several exports commits all of them or none."""
    say = progress or (lambda _msg: None)
    started = time.monotonic()
    if not files:
        raise LoadError("no loadable files found (expected .parquet, .csv, .csv.gz, .gz, .zip)")
    check_one_format(files)
    fingerprint = delivery_fingerprint(sorted(f.fingerprint for f in files))
    if not force and (prior := prior_load(con, spec, export_name, fingerprint)):
        return LoadResult(spec.source, prior, export_name, len(files), 0, 0.0, True)

    load_id = new_load_id()
    loaded_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    table_cols = ", ".join(quote_ident(c) for c in spec.column_names)
    lineage = ", ".join(name for name, _ in LINEAGE_COLUMNS)
    rows = 0
    reconciled: list[tuple[str, int, float | None]] = []
    lacking: dict[str, list[str]] = {}
    header_notices: list[str] = []
    # DDL is transactional in DuckDB, so a failed first load leaves no empty table behind.
    # Every raw table, not only this source's: dbt can build whichever sources were loaded.
    ensure_all_tables(con)
    with expanded(files) as real_files:
        for n, f in enumerate(real_files, 1):
            sources = describe(con, spec, f)
            file_lacks, file_notices = check_header_names(spec, f, sources)
            for col in file_lacks:
                lacking.setdefault(col.name, []).append(f.display)
            header_notices.extend(file_notices)
            call, read_params, row_expr = _reader(spec, f)
            exprs, inner, params, header_of, billed = build_select(spec, f, sources, row_expr)
            parsed_once = "".join(f", {e}" for e in inner)
            account = (
                f"COALESCE(CAST({quote_ident(spec.account_column)} AS VARCHAR), '')"
                if spec.account_column
                else "''"
            )
            period = (
                f"CAST(date_trunc('{spec.period_grain}', {quote_ident(spec.period_column)})"
                " AS DATE)"
                if spec.period_column and spec.period_grain != "all"
                else "DATE '1970-01-01'"
            )
            where = ""
            if spec.skip_row and spec.skip_row[0] in {n for n, _ in sources}:
                where = (
                    "WHERE NOT starts_with(COALESCE(CAST("
                    f"{quote_ident(spec.skip_row[0])} AS VARCHAR), ''), "
                    f"'{spec.skip_row[1]}')"
                )
            sql = f"""
                INSERT INTO {spec.table} ({table_cols}, {lineage})
                SELECT {table_cols},
                    ?, ?, _source_row, ?, ?,
                    {account},
                    {period},
                    false, 1, CAST(NULL AS DATE)
                FROM (
                    SELECT {", ".join(exprs)}, {row_expr} AS _source_row
                    FROM (SELECT *{parsed_once} FROM (SELECT * FROM {call} {where}))
                ) AS projected (
                    {", ".join(quote_ident(c) for c in spec.column_names)}, _source_row
                )
            """
            try:
                with _progress_watch(con, f.display, say):
                    got = con.execute(
                        sql, [load_id, f.display, loaded_at, export_name, *params, *read_params]
                    ).fetchone()
            except duckdb.Error as exc:
                raise explain_error(exc, f, header_of) from None
            landed = int(got[0]) if got else 0
            if landed == 0:
                raise LoadError(f"{f.display}: file has a header but no data rows")
            rows += landed
            reconciled.append(
                _reconcile(con, spec, f, f"{call} {where}", read_params, billed, load_id)
            )
            say(f"[{n}/{len(real_files)}] {f.display}: {landed:,} rows")
    _set_load_values(con, spec, load_id, load_values)
    _validate(con, spec, load_id, allow_currencies)
    notices = check_line_identity(con, spec, load_id)
    superseded = supersede_or_refuse(con, spec, load_id, export_name, guards)
    partitions = apply_partitions(con, spec, load_id, export_name, loaded_at, guards)
    _set_load_values(con, spec, load_id, load_values)  # the correction rows it appended
    record_load(
        con,
        spec,
        load_id,
        export_name,
        fingerprint,
        [f.display for f in files],
        rows,
        loaded_at,
        partitions,
    )
    totals = []
    if spec.currency_column and spec.billed_column:
        totals = con.execute(
            f"""
            SELECT _billing_period, upper(trim({quote_ident(spec.currency_column)})),
                   CAST(SUM({quote_ident(spec.billed_column)} * _correction_sign) AS DOUBLE)
            FROM {spec.table} WHERE _load_id = ? GROUP BY ALL ORDER BY ALL
            """,
            [load_id],
        ).fetchall()
    return LoadResult(
        spec.source,
        load_id,
        export_name,
        len(files),
        rows,
        time.monotonic() - started,
        partitions=partitions,
        totals=[(t[0], t[1], t[2] or 0.0) for t in totals],
        period_grain=spec.period_grain,
        key_label="account" if spec.period_grain == "month" else (spec.account_column or "-"),
        reconciled=reconciled,
        superseded=superseded,
        notices=header_notices + notices,
        warnings=missing_column_warnings(spec, lacking),
    )


def commit(con: duckdb.DuckDBPyConnection) -> None:
    """COMMIT the load; a write that fails there (disk full) is a LoadError naming the
    database, and DuckDB has written nothing."""
    found = con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchone()
    db = found[0] if found and found[0] else "the database"
    try:
        con.execute("COMMIT")
    except duckdb.IOException as exc:
        text = str(exc)
        full = "No space left on device" in text
        why = "No space left on device" if full else error_line(exc)
        todo = "Free disk space and retry" if full else "Check the disk and retry"
        raise LoadError(
            f"{db}: the load could not be committed: {why}; nothing was written. {todo}"
        ) from None


def rollback_quietly(con: duckdb.DuckDBPyConnection) -> None:
    """ROLLBACK after an error. A failed COMMIT has already ended the transaction, and
    DuckDB's "no transaction is active" must not replace the error that says why."""
    try:
        con.execute("ROLLBACK")
    except duckdb.Error as exc:
        if "no transaction is active" not in str(exc):
            raise


@contextmanager
def _progress_watch(
    con: duckdb.DuckDBPyConnection, what: str, say: Callable[[str], None], every: float = 5.0
) -> Iterator[None]:
    """Report DuckDB's own progress on a long statement (one big file) every few seconds."""
    done = threading.Event()

    def watch() -> None:
        started = time.monotonic()
        while not done.wait(every):
            try:
                pct = con.query_progress()
            except duckdb.Error:
                return
            if pct >= 0:
                say(f"    {what}: {pct:.0f}% after {time.monotonic() - started:.0f} s")

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def _reconcile(
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    f: SourceFile,
    source_sql: str,
    read_params: list[object],
    billed: tuple[str, str] | None,
    load_id: str,
) -> tuple[str, int, float | None]:
    """Re-read the file independently and compare rows and Σ cost with what landed.

    The file side reads only the raw cost column (no mapping, no lineage), so a dropped,
    duplicated or mis-cast row shows up as a difference and fails the load.
    """
    if billed is not None:
        src = quote_ident(billed[0])
        if billed[1].upper().startswith(_NUMERIC):
            value = f"TRY_CAST({src} AS {MONEY})"
        else:
            value = f"TRY_CAST(NULLIF(TRIM(CAST({src} AS VARCHAR)), '') AS {MONEY})"
        file_sql = f"SELECT count(*), SUM({value}) FROM {source_sql}"
        landed_sql = (
            f"SELECT count(*), SUM({quote_ident(spec.billed_column or '')}) "
            f"FROM {spec.table} WHERE _load_id = ? AND _source_file = ?"
        )
    else:
        file_sql = f"SELECT count(*), NULL FROM {source_sql}"
        landed_sql = (
            f"SELECT count(*), NULL FROM {spec.table} WHERE _load_id = ? AND _source_file = ?"
        )
    file_rows, file_sum = con.execute(file_sql, read_params).fetchone() or (0, None)
    landed_rows, landed_sum = con.execute(landed_sql, [load_id, f.display]).fetchone() or (0, None)
    if file_rows != landed_rows or file_sum != landed_sum:
        raise LoadError(
            f"{f.display}: reconciliation failed: the file has {file_rows:,} rows"
            f" (cost {file_sum}) but {landed_rows:,} rows (cost {landed_sum}) landed"
        )
    return f.display, int(landed_rows), None if landed_sum is None else float(landed_sum)


def delivery_fingerprint(parts: Sequence[str]) -> str:
    """One delivery's identity: the hash of its files' fingerprints (and any load options)."""
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def new_load_id() -> str:
    """A load id that sorts by time and never repeats."""
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]


def prior_load(
    con: duckdb.DuckDBPyConnection, spec: TableSpec, export_name: str, fingerprint: str
) -> str | None:
    """The last load of an identical delivery (source, export, fingerprint), if its rows are
    still the ones in the table: loading the delivery again is then a no-op."""
    schema, table = spec.table.split(".")
    found = con.execute(
        "SELECT count(*) FROM information_schema.tables "
        "WHERE table_schema = ? AND table_name IN ('_loads', ?)",
        [schema, table],
    ).fetchone()
    if not found or found[0] < 2:
        return None
    prior = con.execute(
        "SELECT load_id, row_count, finished_at FROM raw._loads WHERE source = ? "
        "AND export_name = ? AND fingerprint = ? ORDER BY finished_at DESC LIMIT 1",
        [spec.source, export_name, fingerprint],
    ).fetchone()
    if not prior:
        return None
    # A closed month keeps its first load's rows and gains corrections, so "the rows are still
    # there" is not enough: a later load of the same partitions (A, then B, then A again) means
    # the table now says B and A must be diffed in again.
    later = con.execute(
        """
        SELECT count(*) FROM raw._load_partitions AS mine
        INNER JOIN raw._load_partitions AS later
            ON later.source = mine.source AND later.export_name = mine.export_name
            AND later.billing_account_id = mine.billing_account_id
            AND later.billing_period = mine.billing_period
        INNER JOIN raw._loads AS l ON l.load_id = later.load_id
        WHERE mine.load_id = ? AND later.load_id <> ? AND l.finished_at > ?
        """,
        [prior[0], prior[0], prior[2]],
    ).fetchone()
    if later and later[0]:
        return None
    landed = con.execute(
        f"SELECT count(*) FROM {spec.table} WHERE _load_id = ?", [prior[0]]
    ).fetchone()
    # A delivery holding a closed month lands only that month's corrections (none when it is
    # unchanged), so the rows it landed are its partitions' rows, not the rows it read.
    kept = con.execute(
        "SELECT sum(row_count) FROM raw._load_partitions WHERE load_id = ?", [prior[0]]
    ).fetchone()
    expected = prior[1] if not kept or kept[0] is None else kept[0]
    return str(prior[0]) if landed and landed[0] == expected else None


def _validate(
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    load_id: str,
    allow_currencies: Sequence[str],
) -> None:
    """Row-level checks a type cast cannot make: required values present, currency known."""
    allowed = sorted(ISO_4217 | {c.upper() for c in allow_currencies})
    checks: list[tuple[str, str, str, list[object]]] = []
    if spec.currency_column:
        cur = quote_ident(spec.currency_column)
        # A line of cost 0 may leave its currency blank (OCI writes such lines).
        free = (
            f" AND NOT (NULLIF(TRIM({cur}), '') IS NULL AND "
            f"COALESCE({quote_ident(spec.billed_column)}, 0) = 0)"
            if spec.billed_column
            else ""
        )
        checks.append(
            (
                f"({cur} IS NULL OR upper(trim({cur})) NOT IN (SELECT unnest(?::VARCHAR[])))"
                + free,
                f"column {spec.currency_column!r}: unknown or missing currency",
                cur,
                [allowed],
            )
        )
    for col in spec.columns:
        if col.required:
            q = quote_ident(col.name)
            checks.append((f"{q} IS NULL", f"column {col.name!r}: value is missing", q, []))
    for where, what, value, params in checks:
        bad = con.execute(
            f"SELECT _source_file, _source_row, CAST({value} AS VARCHAR) FROM {spec.table} "
            f"WHERE _load_id = ? AND ({where}) ORDER BY _source_file, _source_row LIMIT 1",
            [load_id, *params],
        ).fetchone()
        if bad:
            shown = "" if bad[2] is None else f" ({bad[2][:40]!r})"
            raise LoadError(f"{bad[0]}: row {bad[1]}, {what}{shown}")


def apply_partitions(
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    load_id: str,
    export_name: str,
    loaded_at: dt.datetime,
    guards: Guards = DEFAULT_GUARDS,
) -> list[PartitionResult]:
    """Replace open partitions (one set-based DELETE); diff closed ones into corrections.

    A delivery much smaller than the partition it replaces (rows or gross cost below
    ``guards.shrink_limit``) is refused unless ``guards.allow_shrink``: it is far more often
    part of a delivery (a file missing, half a month loaded on its own) than a real restatement.
    """
    invoice = (
        f"COALESCE(CAST({quote_ident(spec.invoice_column)} AS VARCHAR), '') <> ''"
        if spec.invoice_column
        else "false"
    )
    # A snapshot (e.g. the customer list) is one list, whoever exported it.
    snapshot = spec.period_grain == "all"
    same_partition = (
        "true"
        if snapshot
        else "o._export_name = n._export_name AND o._billing_account_id = n._billing_account_id "
        "AND o._billing_period = n._billing_period"
    )
    # Gross cost (Σ |cost|) measures a delivery's size; credits cannot cancel it out.
    gross = f"abs({{}}{quote_ident(spec.billed_column)})" if spec.billed_column else "NULL"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _partitions AS
        WITH n AS (
            SELECT _export_name, _billing_account_id, _billing_period, count(*) AS new_rows,
                   sum({gross.replace("{}", "")}) AS new_gross
            FROM {spec.table} WHERE _load_id = ? GROUP BY ALL
        )
        SELECT n._export_name, n._billing_account_id, n._billing_period, n.new_rows,
               any_value(n.new_gross) AS new_gross,
               count(o._load_id) AS old_rows,
               sum({gross.replace("{}", "o.")} * o._correction_sign) AS old_gross,
               max(o._load_id) AS old_load,
               count(o._load_id) FILTER (WHERE NOT o._is_correction AND {invoice}) AS closed_rows
        FROM n
        LEFT JOIN {spec.table} AS o ON {same_partition} AND o._load_id <> ?
        GROUP BY n._export_name, n._billing_account_id, n._billing_period, n.new_rows
        """,
        [load_id, load_id],
    )
    if not guards.allow_shrink:
        shrunk = con.execute(
            """
            SELECT _billing_account_id, _billing_period, new_rows, new_gross, old_rows,
                   old_gross, old_load
            FROM _partitions
            WHERE old_rows > 0 AND closed_rows = 0
              AND (new_rows < ? * old_rows OR coalesce(new_gross, 0) < ? * old_gross)
            ORDER BY ALL LIMIT 1
            """,
            [guards.shrink_limit, guards.shrink_limit],
        ).fetchone()
        if shrunk:
            account, period, new_rows, new_gross, old_rows, old_gross, old_load = shrunk
            raise LoadError(
                f"{partition_label(spec, account, period)}: this delivery has {new_rows:,} rows"
                f"{_gross(new_gross)} where the loaded one (load {old_load}) has {old_rows:,}"
                f"{_gross(old_gross)}; replacing it would remove "
                f"{max(old_rows - new_rows, 0):,} rows{_gross(_minus(old_gross, new_gross))}. "
                "A delivery this much smaller is usually part of one (a file missing, a "
                "download cut short): load the whole delivery, or rerun with --allow-shrink "
                "if the smaller one is right"
            )
    con.execute(
        f"""
        DELETE FROM {spec.table} AS o
        WHERE o._load_id <> ? AND EXISTS (
            SELECT 1 FROM _partitions AS n
            WHERE n.old_rows > 0 AND n.closed_rows = 0 AND {same_partition}
        )
        """,
        [load_id],
    )
    parts = con.execute(
        "SELECT _billing_account_id, _billing_period, new_rows, old_rows, closed_rows "
        "FROM _partitions ORDER BY ALL"
    ).fetchall()
    con.execute("DROP TABLE _partitions")
    key = "_export_name = ? AND _billing_account_id = ? AND _billing_period = ?"
    results: list[PartitionResult] = []
    for account, period, new_rows, old_rows, closed_rows in parts:
        if old_rows == 0:
            results.append(PartitionResult(account, period, "inserted", new_rows))
        elif closed_rows == 0:
            results.append(PartitionResult(account, period, "replaced", new_rows))
        else:
            args = [export_name, account, period]
            n = _correct_closed(con, spec, load_id, args, key, loaded_at, guards)
            action = "closed: unchanged" if n == 0 else "closed: corrections appended"
            results.append(PartitionResult(account, period, action, n))
    return results


def _set_load_values(
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    load_id: str,
    values: Mapping[str, str] | None,
) -> None:
    """Write the load's per-load columns on its rows that lack them."""
    for name in spec.load_columns:
        if values and name in values:
            con.execute(
                f"UPDATE {spec.table} SET {quote_ident(name)} = ? "
                f"WHERE _load_id = ? AND {quote_ident(name)} IS NULL",
                [values[name], load_id],
            )


def partition_label(spec: TableSpec, key: object, period: dt.date) -> str:
    """How a user names one partition: ``2026-08 account 123``, ``2026-08-01 metric x``."""
    if spec.period_grain == "all":
        return "the snapshot"
    shown = f"{period:%Y-%m-%d}" if spec.period_grain == "day" else f"{period:%Y-%m}"
    if spec.period_grain == "month" and spec.account_column and spec.is_bill:
        return f"{shown} account {key or '(none)'}"
    return f"{shown} {spec.account_column} {key!r}" if spec.account_column else shown


def _gross(value: object) -> str:
    return "" if value is None else f" (gross cost {float(value):,.2f})"  # type: ignore[arg-type]


def _minus(a: object, b: object) -> float | None:
    return None if a is None else float(a) - float(b or 0)  # type: ignore[arg-type]


def _correct_closed(
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    load_id: str,
    args: list[object],
    key: str,
    loaded_at: dt.datetime,
    guards: Guards = DEFAULT_GUARDS,
) -> int:
    """Append the multiset difference between a new delivery and a closed partition.

    The current state of the partition is its original rows plus earlier corrections
    (additions) minus removals. Lines only in the new delivery are added; lines only in the
    current state are removed with ``_correction_sign = -1``. Both are booked to the month the
    correction arrived, so the closed invoice's total never changes.
    """
    cols = ", ".join(quote_ident(c) for c in spec.column_names)
    lineage = ", ".join(name for name, _ in LINEAGE_COLUMNS)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _current AS
        SELECT {cols} FROM {spec.table}
        WHERE {key} AND _load_id <> ? AND _correction_sign = 1
        EXCEPT ALL
        SELECT {cols} FROM {spec.table}
        WHERE {key} AND _load_id <> ? AND _correction_sign = -1
        """,
        [*args, load_id, *args, load_id],
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _delivered AS
        SELECT {cols} FROM {spec.table}
        WHERE {key} AND _load_id = ?
        """,
        [*args, load_id],
    )
    con.execute(f"DELETE FROM {spec.table} WHERE {key} AND _load_id = ?", [*args, load_id])
    correction_period = loaded_at.date().replace(day=1)
    export_name, account, period = args
    if not guards.allow_shrink:
        # A closed month's restatement adds a refund or a late fee, or re-rates lines; one
        # whose lines mostly vanish is another part of the month (half a month loaded on its
        # own). A line is matched on what it is (ids, dates, service, resource: the text and
        # time columns), not on its money, which a re-rating changes, nor its tags, which AWS
        # backfills.
        what = ", ".join(
            quote_ident(c.name) for c in spec.columns if not c.type.upper().startswith(_NUMERIC)
        )
        current, removing = con.execute(
            f"SELECT (SELECT count(*) FROM _current), count(*) FROM "
            f"(SELECT {what} FROM _current EXCEPT ALL SELECT {what} FROM _delivered)"
        ).fetchone() or (0, 0)
        if current and removing > (1 - guards.shrink_limit) * current:
            raise LoadError(
                f"{partition_label(spec, account, period)} is closed (invoiced), and this "
                f"delivery would remove {removing:,} of its {current:,} lines as corrections. A "
                "restatement of a closed month keeps most lines (it may re-rate them): is this "
                "only part of the "
                "month? Load all of the month's files together, or rerun with --allow-shrink "
                "if the lines really went away"
            )
    added = con.execute(
        f"""
        INSERT INTO {spec.table} ({cols}, {lineage})
        SELECT {cols}, ?, '(correction of closed period)', row_number() OVER (), ?, ?, ?, ?, true, 1, ?
        FROM (SELECT {cols} FROM _delivered EXCEPT ALL SELECT {cols} FROM _current)
        """,
        [load_id, loaded_at, export_name, account, period, correction_period],
    ).fetchone()
    removed = con.execute(
        f"""
        INSERT INTO {spec.table} ({cols}, {lineage})
        SELECT {cols}, ?, '(correction of closed period)', row_number() OVER () + 1000000000, ?, ?, ?, ?, true, -1, ?
        FROM (SELECT {cols} FROM _current EXCEPT ALL SELECT {cols} FROM _delivered)
        """,
        [load_id, loaded_at, export_name, account, period, correction_period],
    ).fetchone()
    con.execute("DROP TABLE _current")
    con.execute("DROP TABLE _delivered")
    return int(added[0] if added else 0) + int(removed[0] if removed else 0)


def stderr_progress(msg: str) -> None:
    """Progress lines go to stderr so stdout stays a clean summary."""
    print(msg, file=sys.stderr, flush=True)


def load_path(
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    path: Path,
    *,
    export_name: str,
    force: bool = False,
    allow_currencies: Sequence[str] = (),
    fingerprint: Callable[[Path], str] = file_fingerprint,
    display_root: str | None = None,
    progress: Callable[[str], None] | None = None,
    guards: Guards = DEFAULT_GUARDS,
) -> LoadResult:
    """Load every file below ``path`` as one delivery (sources without manifests)."""
    return run_load(
        con,
        spec,
        source_files(path, fingerprint, display_root, progress),
        export_name=export_name,
        force=force,
        allow_currencies=allow_currencies,
        progress=progress,
        guards=guards,
    )


def record_load(
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    load_id: str,
    export_name: str,
    fingerprint: str,
    displays: Sequence[str],
    rows: int,
    loaded_at: dt.datetime,
    partitions: Sequence[PartitionResult] = (),
) -> None:
    """Register a load and the partitions it touched (raw._loads, raw._load_partitions), inside
    the load's transaction: the registry is what makes a reload of the same files a no-op."""
    con.execute(
        "INSERT INTO raw._loads VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            load_id,
            spec.source,
            export_name,
            fingerprint,
            json.dumps(list(displays)),
            rows,
            loaded_at,
            dt.datetime.now(dt.UTC).replace(tzinfo=None),
        ],
    )
    for p in partitions:
        con.execute(
            "INSERT INTO raw._load_partitions VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                load_id,
                spec.source,
                export_name,
                p.billing_account_id,
                p.billing_period,
                p.action,
                p.rows,
            ],
        )


def source_files(
    path: Path,
    fingerprint: Callable[[Path], str] = file_fingerprint,
    display_root: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[SourceFile]:
    """Every loadable file below ``path``, named as the user knows it (``display_root`` stands
    for the folder, e.g. the s3:// prefix a download came from)."""
    base = path if path.is_dir() else path.parent
    files = []
    for p in walk_files(path, progress):
        rel = p.relative_to(base).as_posix()
        shown = f"{display_root.rstrip('/')}/{rel}" if display_root else str(p)
        files.append(SourceFile(p, shown, fingerprint(p)))
    return files


def all_specs() -> list[TableSpec]:
    """Every source's raw table spec."""
    from ingest import (
        ai_requests,
        aws_cur,
        azure,
        clickhouse_query_log,
        cost_explorer,
        focus,
        focus_commitments,
        gcp,
        oci,
        opencost,
        otel_spans,
        revenue,
        usage,
    )

    return [
        ai_requests.SPEC,
        cost_explorer.SPEC,
        opencost.SPEC,
        otel_spans.SPEC,
        aws_cur.SPEC,
        focus.SPEC,
        focus_commitments.SPEC,
        azure.SPEC,
        oci.SPEC,
        gcp.SPEC,
        clickhouse_query_log.SPEC,
        usage.SPEC,
        revenue.REVENUE,
        revenue.CUSTOMERS,
    ]


def ensure_all_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create every source's raw table, so dbt can build before all sources were loaded."""
    for spec in all_specs():
        ensure_tables(con, spec)


# --------------------------------------------------------------------------- counted once


def bill_specs() -> list[TableSpec]:
    """Every source whose rows are bill lines: one bill may arrive through any of them."""
    return [spec for spec in all_specs() if spec.is_bill]


def provider_sql(spec: TableSpec, alias: str = "") -> str:
    """The cloud of a bill table's row, normalised (FOCUS writes 'AWS', 'Amazon Web Services',
    'Microsoft', 'Google Cloud', 'Oracle' …), so a CUR and a FOCUS export of one account meet."""
    if spec.provider:
        return f"'{spec.provider}'"
    col = f"lower(trim(CAST({alias}{quote_ident(spec.provider_column or '')} AS VARCHAR)))"
    return (
        f"CASE WHEN {col} IN ('aws', 'amazon', 'amazon web services') THEN 'aws' "
        f"WHEN {col} LIKE 'microsoft%' OR {col} LIKE 'azure%' THEN 'azure' "
        f"WHEN {col} LIKE 'google%' OR {col} = 'gcp' THEN 'gcp' "
        f"WHEN {col} LIKE 'oracle%' OR {col} = 'oci' THEN 'oci' ELSE {col} END"
    )


def check_line_identity(con: duckdb.DuckDBPyConnection, spec: TableSpec, load_id: str) -> list[str]:
    """Each line of a delivery once. A line twice is a copy (a re-downloaded file beside the
    original, month-to-date snapshots side by side, repeated rows), never more cost.

    A line is its ``spec.line_id`` (CUR: line item id + time interval): one twice is an error,
    and so is a usage or revenue row repeated in every column.
    A bill line without an id is a fingerprint of every column: the same fingerprint in two
    files is an error (a file and its copy); twice within one file it is kept, with a notice,
    because real exports without line ids do repeat lines (a FOCUS converter's output does).
    One hash per row and one distinct count: the check costs one pass over the delivery; the
    rows it names are then compared for real. Returns the notices for the summary.
    """
    if not (spec.line_id or spec.is_bill or spec.natural_key):
        return []
    every = ", ".join(quote_ident(c) for c in spec.column_names)
    # A line id is unique within its bill (account × period): two accounts' bills may reuse one.
    ids = ", ".join(
        ["_billing_account_id", "_billing_period"] + [quote_ident(c) for c in spec.line_id]
    )
    # A usage or revenue row repeated in every column is a slip (a file concatenated twice):
    # it would double a driver or a revenue line, so it is an error like a repeated line id.
    has_id = "true" if not spec.is_bill else "false"
    if spec.line_id and spec.is_bill:
        has_id = f"{quote_ident(spec.line_id[0])} IS NOT NULL"
    if not spec.line_id:
        key = f"hash({every})"
    elif spec.is_bill:
        key = f"CASE WHEN {has_id} THEN hash({ids}) ELSE hash({every}) END"
    else:
        key = f"hash({ids})"
    # The common case, no line twice, costs one hash aggregate (≈1 s per 3 M lines); which
    # repeats are errors and which are notices is worked out only when there are any.
    any_repeat = con.execute(
        f"SELECT count(*) > count(DISTINCT {key}) FROM {spec.table} WHERE _load_id = ?",
        [load_id],
    ).fetchone()
    if not any_repeat or not any_repeat[0]:
        return []
    found = con.execute(
        f"""
        WITH lines AS (
            SELECT {key} AS k, {has_id} AS has_id, _source_file FROM {spec.table}
            WHERE _load_id = ?
        ),
        repeated AS (
            SELECT k, bool_or(has_id) AS has_id, count(*) AS n,
                   min(_source_file) <> max(_source_file) AS across_files
            FROM lines GROUP BY k HAVING count(*) > 1
        )
        SELECT (SELECT k FROM repeated WHERE has_id OR across_files LIMIT 1),
               (SELECT sum(n - 1) FROM repeated WHERE NOT has_id AND NOT across_files)
        """,
        [load_id],
    ).fetchone()
    dup, kept = found or (None, None)
    notices = []
    if kept:
        notices.append(
            f"{int(kept):,} line(s) without a line id repeat another line of the same file in "
            "every column: kept as delivered (exports without line ids can hold such lines)"
        )
    if dup is None:
        return notices
    shown = ", ".join(f"CAST({quote_ident(c)} AS VARCHAR)" for c in spec.line_id) or "NULL"
    pair = con.execute(
        f"SELECT _source_file, _source_row, [{shown}], CAST(row({every}) AS VARCHAR) "
        f"FROM {spec.table} WHERE _load_id = ? AND {key} = ? ORDER BY _source_file, _source_row "
        "LIMIT 2",
        [load_id, dup],
    ).fetchall()
    (file_a, row_a, ids_a, all_a), (file_b, row_b, ids_b, all_b) = pair
    if spec.line_id and ids_a[0] is not None:
        if ids_a != ids_b:
            return notices  # two different lines whose 64-bit hashes collide
        what = ", ".join(f"{c} {v!r}" for c, v in zip(spec.line_id, ids_a, strict=True))
    else:
        if all_a != all_b:
            return notices
        what = "identical in every column"
    where = (
        f"{file_a} rows {row_a} and {row_b}"
        if file_a == file_b
        else f"{file_a} row {row_a} and {file_b} row {row_b}"
    )
    raise LoadError(
        f"{where}: the same line ({what}) is in this delivery twice: a file beside its copy, "
        "month-to-date snapshots side by side, or repeated rows. Deliver each line once (one "
        "snapshot, or the export folder with its manifest); nothing was loaded"
    )


def supersede_or_refuse(
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    load_id: str,
    export_name: str,
    guards: Guards,
) -> list[str]:
    """Count each bill (and each usage fact) once, whatever export, format or path it came by.

    A bill is a provider × billing account × billing period. If another delivery (another
    export name, or another source: CUR and FOCUS of one account) already holds it, the load is
    refused, naming that delivery, unless ``guards.replace``: then this delivery becomes the
    bill's source of record and the other's lines for it are removed. Returns what was
    removed, for the summary.
    """
    if spec.is_bill:
        return _bill_once(con, spec, load_id, export_name, guards)
    if spec.natural_key and spec.period_grain != "all":
        return _facts_once(con, spec, load_id, export_name, guards)
    return []


def _other_deliveries(
    spec: TableSpec, other: TableSpec, load_id: str, export_name: str
) -> tuple[str, list[object]]:
    """SQL (and its parameters) matching the rows ``o`` of ``other``'s table that belong to a
    bill in ``_bills`` but to another delivery than this load: another source, or another
    export of the same one (of the same kind, where a source has complementary kinds)."""
    same = other.table == spec.table
    where = (
        f"o._load_id <> ? {'AND o._export_name <> ?' if same else ''} AND EXISTS ("
        "SELECT 1 FROM _bills AS b WHERE o._billing_account_id = b.account "
        f"AND o._billing_period = b.period AND {provider_sql(other, 'o.')} = b.provider"
    )
    if same and spec.basis_column:
        where += (
            f" AND coalesce(o.{quote_ident(spec.basis_column)}, '{spec.basis_default}') = b.basis"
        )
    return where + ")", [load_id, export_name] if same else [load_id]


def _bill_once(
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    load_id: str,
    export_name: str,
    guards: Guards,
) -> list[str]:
    basis = quote_ident(spec.basis_column) if spec.basis_column else "NULL"
    gross = f"abs({quote_ident(spec.billed_column)})" if spec.billed_column else "0"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _bills AS
        SELECT {provider_sql(spec)} AS provider, _billing_account_id AS account,
               _billing_period AS period, {basis} AS basis, count(*) AS new_rows,
               sum({gross}) AS new_gross
        FROM {spec.table} WHERE _load_id = ? GROUP BY ALL
        """,
        [load_id],
    )
    found: list[tuple[TableSpec, tuple[object, ...]]] = []
    for other in bill_specs():
        other_gross = f"abs(o.{quote_ident(other.billed_column)})" if other.billed_column else "0"
        where, params = _other_deliveries(spec, other, load_id, export_name)
        rows = con.execute(
            f"""
            SELECT {provider_sql(other, "o.")}, o._billing_account_id, o._billing_period,
                   o._export_name, max(o._load_id), count(*), min(o._source_file),
                   sum({other_gross} * o._correction_sign)
            FROM {other.table} AS o
            WHERE {where}
            GROUP BY ALL ORDER BY ALL
            """,
            params,
        ).fetchall()
        found += [(other, r) for r in rows]
    if not found:
        con.execute("DROP TABLE _bills")
        return []
    other, (provider, account, period, other_export, other_load, n, example, _) = found[0]
    more = f" (and {len(found) - 1} more account × period)" if len(found) > 1 else ""
    if not guards.replace:
        raise LoadError(
            f"{str(provider).upper()} billing account {account or '(none)'}, billing period "
            f"{period:%Y-%m} is already loaded from {other.source} export {other_export!r} "
            f"(load {other_load}, {n:,} lines, e.g. {example}){more}. Loading it again from "
            f"{spec.source} export {export_name!r} would count that bill twice. If this "
            "delivery should count instead, rerun with --replace; `python -m ingest bills` "
            "lists which delivery counts for each account and period"
        )
    removed = []
    for other, (provider, account, period, other_export, other_load, n, _, old) in found:
        new_n, new = con.execute(
            "SELECT new_rows, new_gross FROM _bills "
            "WHERE provider = ? AND account = ? AND period = ?",
            [provider, account, period],
        ).fetchone() or (0, 0)
        if not guards.allow_shrink and old and (new or 0) < guards.shrink_limit * float(old):
            raise LoadError(
                f"{str(provider).upper()} billing account {account}, billing period "
                f"{period:%Y-%m}: this delivery's gross cost {new or 0:,.2f} ({new_n:,} lines) "
                f"is less than {guards.shrink_limit:.0%} of the {float(old):,.2f} ({n:,} lines) "
                f"it would replace from {other.source} export {other_export!r}. Is it only part "
                "of the bill? Load the whole delivery, or add --allow-shrink if it is right"
            )
        removed.append(
            f"{other.source} export {other_export!r}: {str(provider).upper()} {period:%Y-%m} "
            f"account {account} ({n:,} lines, load {other_load})"
        )
    for other in bill_specs():
        where, params = _other_deliveries(spec, other, load_id, export_name)
        con.execute(f"DELETE FROM {other.table} AS o WHERE {where}", params)
    con.execute("DROP TABLE _bills")
    return removed


def _facts_once(
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    load_id: str,
    export_name: str,
    guards: Guards,
) -> list[str]:
    """A usage fact (metric × day × product × customer × feature, a revenue line, a query)
    delivered by two exports would be counted twice: refuse, or with ``guards.replace`` take
    the other export's (key, period) partitions over."""
    keys = ", ".join(f"{{}}.{quote_ident(c)}" for c in spec.natural_key)
    new_key, old_key = keys.replace("{}", "n"), keys.replace("{}", "o")
    same_values = " AND ".join(
        f"n.{quote_ident(c)} IS NOT DISTINCT FROM o.{quote_ident(c)}" for c in spec.natural_key
    )
    hit = con.execute(
        f"""
        SELECT n._source_file, n._source_row, o._export_name, o._load_id, o._source_file,
               o._source_row, [{", ".join(f"CAST(n.{quote_ident(c)} AS VARCHAR)" for c in spec.natural_key)}]
        FROM (SELECT *, hash({new_key}) AS _k FROM {spec.table} AS n WHERE _load_id = ?) AS n
        INNER JOIN (
            SELECT *, hash({old_key}) AS _k FROM {spec.table} AS o
            WHERE _load_id <> ? AND _export_name <> ?
        ) AS o
            ON n._k = o._k AND n._billing_account_id = o._billing_account_id
            AND n._billing_period = o._billing_period
        WHERE {same_values}
        ORDER BY n._source_file, n._source_row
        LIMIT 1
        """,
        [load_id, load_id, export_name],
    ).fetchone()
    if not hit:
        return []
    new_file, new_row, other_export, other_load, old_file, old_row, values = hit
    what = ", ".join(f"{c} {v!r}" for c, v in zip(spec.natural_key, values, strict=True))
    if not guards.replace:
        raise LoadError(
            f"{new_file} row {new_row}: {what} is already loaded from export {other_export!r} "
            f"({old_file} row {old_row}, load {other_load}); loading it again from export "
            f"{export_name!r} would count it twice. Load a re-export under the same --export "
            "name (it then replaces those days), or rerun with --replace to make this delivery "
            "count instead"
        )
    removed = con.execute(
        f"""
        DELETE FROM {spec.table} AS o
        WHERE o._load_id <> ? AND o._export_name <> ? AND EXISTS (
            SELECT 1 FROM {spec.table} AS n
            WHERE n._load_id = ? AND n._billing_account_id = o._billing_account_id
            AND n._billing_period = o._billing_period
        )
        """,
        [load_id, export_name, load_id],
    ).fetchone()
    return [f"export {other_export!r}: {int(removed[0]) if removed else 0:,} rows"]


def bill_sources(con: duckdb.DuckDBPyConnection) -> list[dict[str, object]]:
    """Which delivery counts for each provider × billing account × billing period × currency:
    its source, export, newest load, lines and billed total (``python -m ingest bills``)."""
    ensure_all_tables(con)
    parts = []
    for spec in bill_specs():
        currency = (
            f"upper(trim(CAST({quote_ident(spec.currency_column)} AS VARCHAR)))"
            if spec.currency_column
            else "NULL"
        )
        billed = (
            f"sum({quote_ident(spec.billed_column)} * _correction_sign)"
            if spec.billed_column
            else "NULL"
        )
        basis = quote_ident(spec.basis_column) if spec.basis_column else "NULL"
        parts.append(
            f"""
            SELECT {provider_sql(spec)} AS provider, _billing_account_id AS billing_account_id,
                   _billing_period AS billing_period, {currency} AS currency,
                   '{spec.source}' AS source, _export_name AS export_name,
                   CAST({basis} AS VARCHAR) AS basis, max(_load_id) AS load_id,
                   count(*) AS lines, {billed} AS billed_cost, max(_loaded_at) AS loaded_at
            FROM {spec.table}
            GROUP BY ALL
            """
        )
    cursor = con.execute(" UNION ALL ".join(parts) + " ORDER BY 1, 2, 3, 4, 5, 6")
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
