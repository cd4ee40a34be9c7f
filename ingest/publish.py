"""A read-only copy of the warehouse for readers, replaced atomically after each good build.

DuckDB lets one process write a file, and a process reading it (a BI tool, ``report``) keeps
every writer out. So readers read a *published copy* instead: after a ``dbt build`` passes,
the warehouse is checkpointed and copied to a temporary file in the published copy's folder,
which then replaces the published copy with one ``os.replace``. A reader never sees half a
file; a reader holding the old copy open keeps reading the old inode until it reconnects; a
load or build of the warehouse never waits for a reader.

The published copy lives in a ``published/`` folder beside the warehouse under the warehouse's
own file name (``warehouse/published/cost_model.duckdb``), so its DuckDB catalog has the
warehouse's name and every view resolves as it does in the warehouse; ``$COST_MODEL_PUBLISHED_DB``
overrides it. A small stamp beside it (``cost_model.duckdb.published.json``) records the
state of the warehouse file it was copied from, so a reader can tell whether the warehouse
changed since (a load, or a ``dbt build`` run by hand).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ingest.load.db import connect, database_path
from ingest.load.spec import error_line

log = logging.getLogger(__name__)

PUBLISHED_DB_ENV = "COST_MODEL_PUBLISHED_DB"


class PublishError(Exception):
    """The warehouse could not be published; the published copy is unchanged."""


@dataclass(frozen=True)
class Published:
    """One publish: where the copy is, its size and how long the copy took."""

    path: Path
    bytes: int
    seconds: float
    published_at: str


def published_path(db: Path) -> Path:
    """``$COST_MODEL_PUBLISHED_DB``, else ``<warehouse folder>/published/<warehouse file name>``."""
    explicit = os.environ.get(PUBLISHED_DB_ENV)
    return Path(explicit) if explicit else db.parent / "published" / db.name


def stamp_path(published: Path) -> Path:
    return published.with_name(published.name + ".published.json")


def _state(db: Path) -> dict[str, int]:
    """What changes when anything writes the warehouse: the file and its write-ahead log."""
    st = db.stat()
    wal = db.with_name(db.name + ".wal")
    wal_size = wal.stat().st_size if wal.exists() else 0
    return {"mtime_ns": st.st_mtime_ns, "size": st.st_size, "wal_size": wal_size}


def publish(db_arg: str | os.PathLike[str] | None = None, *, wait: float = 0.0) -> Published:
    """Copy the warehouse to its published path atomically.

    Holding the warehouse's write lock keeps every other writer out while the file is copied;
    ``CHECKPOINT`` first moves the write-ahead log into the file, so the file alone is the
    whole database. A plain file copy is ~30 times faster than DuckDB's ``COPY FROM DATABASE``
    (0.07 s against 1.9 s for the 33 MB sample warehouse) and keeps the file byte-identical.
    """
    db = database_path(db_arg)
    if not db.exists():
        raise PublishError(f"{db} does not exist: load and build the warehouse first")
    target = published_path(db)
    if target.resolve() == db.resolve():
        raise PublishError(f"{PUBLISHED_DB_ENV} points at the warehouse {db} itself")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    started = time.monotonic()
    try:
        con = connect(db, wait=wait)
    except Exception as exc:  # LoadError: in use by another process
        raise PublishError(str(exc)) from None
    try:
        con.execute("CHECKPOINT")
        with db.open("rb") as src, tmp.open("wb") as dst:
            shutil.copyfileobj(src, dst, 16 * 1024 * 1024)
            dst.flush()
            os.fsync(dst.fileno())
        state = _state(db)
    except (OSError, duckdb.Error) as exc:
        tmp.unlink(missing_ok=True)
        raise PublishError(f"cannot publish {db} to {target}: {error_line(exc)}") from None
    finally:
        con.close()
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    stamp = {"warehouse": str(db.resolve()), "published_at": now.isoformat(), **state}
    stamp_tmp = tmp.with_suffix(".json.tmp")
    stamp_tmp.write_text(json.dumps(stamp, indent=2) + "\n")
    os.replace(tmp, target)
    os.replace(stamp_tmp, stamp_path(target))
    return Published(target, target.stat().st_size, time.monotonic() - started, now.isoformat())


def published_stamp(db: Path) -> dict[str, object] | None:
    """The stamp of the warehouse's published copy, or None when there is no usable copy."""
    target = published_path(db)
    try:
        stamp = json.loads(stamp_path(target).read_text())
    except (OSError, ValueError):
        return None
    return stamp if target.exists() and isinstance(stamp, dict) else None


def is_current(db: Path) -> bool:
    """True when the published copy holds exactly what the warehouse holds."""
    stamp = published_stamp(db)
    if stamp is None or not db.exists():
        return False
    return all(stamp.get(k) == v for k, v in _state(db).items())


def _warehouse_locked(db: Path) -> bool:
    try:
        duckdb.connect(str(db), read_only=True).close()
    except duckdb.IOException as exc:
        return "lock" in str(exc).lower()
    except duckdb.Error:
        return False
    return False


def reader_path(db_arg: str | os.PathLike[str] | None = None) -> Path:
    """The file a reader (``report``, ``check-rules``, ``discover``, ``assumptions``) opens.

    The published copy when it holds what the warehouse holds; when the warehouse changed
    since it was published (a load, a build by hand), the warehouse, unless a writer holds it,
    in which case the published copy (the last good build). With no published copy: the
    warehouse, silently, as before publishing existed. One line on stderr says which.
    """
    db = database_path(db_arg)
    stamp = published_stamp(db)
    if stamp is None or not db.exists():
        return db
    target = published_path(db)
    when = stamp.get("published_at", "?")
    if is_current(db):
        _say(f"reading the published copy {target} (published {when}, current)")
        return target
    if _warehouse_locked(db):
        _say(
            f"reading the published copy {target} (published {when}): the warehouse {db} is in "
            "use by a load or build and may hold newer numbers"
        )
        return target
    _say(
        f"reading the warehouse {db}: it changed after the published copy {target} was made "
        f"({when}); `python -m ingest publish` refreshes the copy"
    )
    return db


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
