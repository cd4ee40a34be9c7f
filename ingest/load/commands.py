"""A registered source's sub-command of ``python -m ingest``: the options every file loader has,
and the run (local folder or s3:// prefix, one connection, progress on stderr).

The CLI and ``daily`` build and run every source's command from :mod:`ingest.registry` with these.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Callable
from pathlib import Path

from ingest import registry
from ingest.load.db import connect
from ingest.load.files import file_fingerprint
from ingest.load.land import load_path, stderr_progress
from ingest.load.spec import DEFAULT_DB_ENV, DEFAULT_DB_PATH, Guards, LoadResult, TableSpec


def fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a fraction between 0 and 1, e.g. 0.5")
    return value


def add_common(p: argparse.ArgumentParser, spec: TableSpec) -> None:
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
    if counts_once(spec):
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
        type=fraction,
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


def counts_once(spec: TableSpec) -> bool:
    """Whether a delivery of ``spec`` can hold a bill or fact another export already holds."""
    return spec.is_bill or (bool(spec.natural_key) and spec.period_grain != "all")


def guards(args: argparse.Namespace) -> Guards:
    return Guards(
        replace=args.replace, allow_shrink=args.allow_shrink, shrink_limit=args.shrink_limit
    )


def add_source_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """One sub-command per registered source (or the source's own, when it brings them)."""
    for source in registry.sources():
        if source.add_parser is not None:
            source.add_parser(sub)
            continue
        p = sub.add_parser(
            source.command,
            help=source.help or source.label,
            description=source.description or f"Load {source.label}.",
        )
        add_common(p, source.spec)
        if source.add_arguments is not None:
            source.add_arguments(p)


def load_with_spec(spec: TableSpec) -> Callable[..., list[LoadResult]]:
    """The load of a source without options of its own: every file below the path, one
    delivery, export name ``--export`` or the source's name."""

    def _load(con, path, args, **kw):  # type: ignore[no-untyped-def]
        return [
            load_path(
                con,
                spec,
                path,
                export_name=args.export_name or spec.source,
                force=args.force,
                allow_currencies=tuple(args.allow_currency),
                guards=guards(args),
                **kw,
            )
        ]

    return _load


def loader(source: registry.Source) -> Callable[..., list[LoadResult]]:
    """``load(con, path, args, **kw) -> list[LoadResult]`` for ``source``'s command."""
    if source.load is None:
        return load_with_spec(source.spec)
    load = source.load

    def _load(con, path, args, **kw):  # type: ignore[no-untyped-def]
        done = load(con, path, args, **kw)
        return [done] if isinstance(done, LoadResult) else list(done)

    return _load


def run_source(args: argparse.Namespace, load: Callable[..., list[LoadResult]]) -> list[LoadResult]:
    """Run ``load`` on ``args.path`` (downloaded first when it is an s3:// prefix)."""
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


def print_results(results: list[LoadResult], *, as_json: bool) -> None:
    if as_json:
        print(json.dumps([r.as_dict() for r in results], indent=2))
    else:
        for result in results:
            print(result.summary())


def run(args: argparse.Namespace) -> int:
    """Run a registered source's sub-command (``args.command``)."""
    source = registry.by_command(args.command)
    if source is None:
        raise KeyError(args.command)
    if source.run is not None:
        return source.run(args)
    print_results(run_source(args, loader(source)), as_json=args.json)
    return 0
