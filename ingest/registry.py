"""The sources the loader knows: each source module registers itself here.

A source is one module ``ingest/<source>.py`` that describes its raw table (a
:class:`~ingest.load.spec.TableSpec`) and calls :func:`register` at module level. Nothing else
names it: the loading machinery (:mod:`ingest.load`) never imports a source, and whatever needs
every source (the bill-once checks, ``init``, the wrong-file hint, the CLI, ``daily``) asks
:func:`sources` / :func:`all_specs`, which import the source modules of the ``ingest`` package
the first time they are asked.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import pkgutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ingest.load.db import ensure_tables
from ingest.load.spec import LoadResult, TableSpec

Loader = Callable[..., "LoadResult | list[LoadResult]"]
"""``load(con, path, args, *, fingerprint=..., display_root=..., progress=...)``: load what
``path`` holds with the options of the parsed command line ``args``."""


@dataclass(frozen=True)
class Source:
    """One registered source: its raw table and its sub-command of ``python -m ingest``."""

    spec: TableSpec
    command: str
    """Its sub-command, e.g. ``focus``; the wrong-file hint names it."""
    label: str
    """What a user calls its files, e.g. ``a FOCUS export``."""
    help: str = ""
    """The command's line in ``python -m ingest --help``."""
    description: str = ""
    """The command's own ``--help``: a sentence (default ``Load <label>.``)."""
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None
    """Options beyond the ones every file loader has (:func:`ingest.load.commands.add_common`)."""
    load: Loader | None = None
    """How the command loads (default :func:`ingest.load.commands.load_with_spec`)."""
    header_hint: str = ""
    """What to do about a text file whose first line is data, not a header (default: add the
    header line the command expects)."""
    config_keys: frozenset[str] = frozenset()
    """``daily``'s ``[[load]]`` keys this source takes beyond the common ones (argparse dests)."""
    add_parser: Callable[[argparse._SubParsersAction], None] | None = None  # type: ignore[type-arg]
    """For a source whose commands are unlike the others: adds them itself (then ``help``,
    ``add_arguments`` and ``load`` are unused) and :attr:`run` runs them."""
    run: Callable[[argparse.Namespace], int] | None = None
    commands: tuple[str, ...] = ()
    """The sub-commands :attr:`add_parser` adds (default: :attr:`command`)."""

    @property
    def sub_commands(self) -> tuple[str, ...]:
        return self.commands or (self.command,)


_REGISTERED: dict[str, Source] = {}
_DISCOVERED = False
_LOCK = threading.RLock()
PACKAGE = "ingest"


class RegistryError(Exception):
    """Two sources claim one name: a programming error, named so it is fixed at once."""


def register(source: Source) -> Source:
    """Make ``source`` known to the loader; a source module calls this at module level."""
    with _LOCK:
        for other in _REGISTERED.values():
            if other.spec.source == source.spec.source and other is not source:
                if other.spec.table == source.spec.table and other.command == source.command:
                    # The same module imported twice (e.g. as __main__ and by name).
                    _REGISTERED[source.spec.source] = source
                    return source
                raise RegistryError(
                    f"source {source.spec.source!r} is registered twice "
                    f"(commands {other.command!r} and {source.command!r})"
                )
            clash = set(other.sub_commands) & set(source.sub_commands)
            if clash:
                raise RegistryError(
                    f"sources {other.spec.source!r} and {source.spec.source!r} both claim "
                    f"the command {sorted(clash)[0]!r}"
                )
        _REGISTERED[source.spec.source] = source
    return source


def _registers(path: Path) -> bool:
    """Whether the module at ``path`` calls ``register(...)`` at module level (read, not run)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return False
    if "register(" not in text or "registry" not in text:
        return False
    for node in ast.parse(text, str(path)).body:
        call = node.value if isinstance(node, ast.Expr | ast.Assign) else None
        if isinstance(call, ast.Call):
            func = call.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name == "register":
                return True
    return False


def discover() -> None:
    """Import every module of the ``ingest`` package that registers a source (once)."""
    global _DISCOVERED
    with _LOCK:
        if _DISCOVERED:
            return
        package = importlib.import_module(PACKAGE)
        for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
            if info.ispkg or info.name.startswith("_") or info.name == "registry":
                continue
            path = Path(info.module_finder.path) / f"{info.name}.py"  # type: ignore[union-attr]
            if _registers(path):
                importlib.import_module(f"{PACKAGE}.{info.name}")
        _DISCOVERED = True


def sources() -> list[Source]:
    """Every registered source, by command (the order of ``python -m ingest --help``)."""
    discover()
    return sorted(_REGISTERED.values(), key=lambda s: s.command)


def all_specs() -> list[TableSpec]:
    """Every source's raw table spec."""
    return [s.spec for s in sources()]


def by_source(name: str) -> Source | None:
    """The source whose spec is called ``name`` (``aws_cur``, ``customers``, ...)."""
    discover()
    return _REGISTERED.get(name)


def by_command(command: str) -> Source | None:
    """The source that owns the sub-command ``command``."""
    return next((s for s in sources() if command in s.sub_commands), None)


def ensure_all_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create every source's raw table, so dbt can build before all sources were loaded."""
    for spec in all_specs():
        ensure_tables(con, spec)
