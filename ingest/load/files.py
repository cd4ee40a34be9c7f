"""Finding a delivery's files and opening them: folders, patterns, zip and gzip, text sniffing
(delimiter, header, line endings), and the header checks before anything is read."""

from __future__ import annotations

import contextvars
import csv
import gzip
import heapq
import io
import logging
import os
import re
import shutil
import sys
import tempfile
import uuid
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import duckdb

from ingest.load.spec import (
    JSON_EXT,
    PARQUET_EXT,
    TEXT_EXT,
    LoadError,
    SourceFile,
    TableSpec,
    error_line,
)

log = logging.getLogger(__name__)


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
