"""AWS Cost and Usage Reports: CUR 2.0 (Data Exports) and legacy CUR, auto-detected.

Both land in ``raw.aws_cur_line_items`` under CUR 2.0's snake_case names. Legacy headers
(``lineItem/UnblendedCost``) and Athena-style legacy parquet (``line_item_unblended_cost``) are
normalised to the same names; legacy flattened tags (``resourceTags/user:team``,
``resource_tags_user_team``) and CUR 2.0's ``resource_tags`` map both become one tag map.

Deliveries are understood the way AWS writes them:

* CUR 2.0: ``<export>/data/BILLING_PERIOD=YYYY-MM/*.parquet|csv.gz`` with
  ``<export>/metadata/BILLING_PERIOD=YYYY-MM/<export>-Manifest.json`` listing ``dataFiles``.
* Legacy: ``<report>/<yyyymmdd-yyyymmdd>/<report>-Manifest.json`` listing ``reportKeys`` of the
  current assembly; older assembly folders beside it are stale and ignored.

When manifests are present only the files they list are loaded (a listed file that is missing is
an error: loading half a delivery would understate the bill). Without manifests every CUR file
below the path is loaded.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ingest.load import commands
from ingest.load.db import transaction
from ingest.load.files import file_fingerprint, walk_files, walk_tree
from ingest.load.land import land
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
    snake_name,
)
from ingest.registry import Source, register

log = logging.getLogger(__name__)


def _money(name: str, *aliases: str) -> Column:
    return Column(name, MONEY, aliases)


def _text(name: str, *aliases: str, required: bool = False) -> Column:
    return Column(name, "VARCHAR", aliases, required)


SPEC = TableSpec(
    source="aws_cur",
    table="raw.aws_cur_line_items",
    columns=(
        _text("identity_line_item_id"),
        _text("identity_time_interval"),
        _text("bill_invoice_id"),
        _text("bill_invoicing_entity"),
        _text("bill_billing_entity"),
        _text("bill_bill_type"),
        _text("bill_payer_account_id", required=True),
        Column("bill_billing_period_start_date", "TIMESTAMP", required=True),
        Column("bill_billing_period_end_date", "TIMESTAMP"),
        _text("line_item_usage_account_id"),
        _text("line_item_line_item_type", required=True),
        Column("line_item_usage_start_date", "TIMESTAMP", required=True),
        Column("line_item_usage_end_date", "TIMESTAMP"),
        _text("line_item_product_code"),
        _text("line_item_usage_type"),
        _text("line_item_operation"),
        _text("line_item_availability_zone"),
        _text("line_item_resource_id"),
        Column("line_item_usage_amount", "DOUBLE"),
        Column("line_item_normalization_factor", "DOUBLE"),
        Column("line_item_normalized_usage_amount", "DOUBLE"),
        _text("line_item_currency_code"),  # checked by the loader's currency check
        _money("line_item_unblended_rate"),
        Column("line_item_unblended_cost", MONEY, required=True),
        _money("line_item_blended_cost"),
        _money("line_item_net_unblended_cost"),
        _text("line_item_line_item_description"),
        _text("line_item_tax_type"),
        _text("line_item_legal_entity"),
        _money("pricing_public_on_demand_cost"),
        _money("pricing_public_on_demand_rate"),
        _text("pricing_term"),
        _text("pricing_unit"),
        _text("product_product_name"),
        _text("product_region"),
        _text("product_region_code"),
        _text("product_servicecode"),
        _text("product_product_family"),
        _text("product_instance_type"),
        _text("product_from_location"),
        _text("product_to_location"),
        _text("savings_plan_savings_plan_a_r_n", "savings_plan_savings_plan_arn"),
        _money("savings_plan_savings_plan_effective_cost"),
        _money("savings_plan_net_savings_plan_effective_cost"),
        _money("savings_plan_total_commitment_to_date"),
        _money("savings_plan_used_commitment"),
        _money("savings_plan_amortized_upfront_commitment_for_billing_period"),
        _money("savings_plan_recurring_commitment_for_billing_period"),
        _text("reservation_reservation_a_r_n", "reservation_reservation_arn"),
        _money("reservation_effective_cost"),
        _money("reservation_net_effective_cost"),
        _money("reservation_amortized_upfront_fee_for_billing_period"),
        _money("reservation_amortized_upfront_cost_for_usage"),
        _money("reservation_recurring_fee_for_usage"),
        _money("reservation_unused_amortized_upfront_fee_for_billing_period"),
        _money("reservation_net_unused_amortized_upfront_fee_for_billing_period"),
        _money("reservation_unused_recurring_fee"),
        _money("reservation_net_unused_recurring_fee"),
        Column("reservation_unused_quantity", "DOUBLE"),
        _text("split_line_item_parent_resource_id"),
        _money("split_line_item_split_cost"),
        _money("split_line_item_unused_cost"),
        _money("split_line_item_net_split_cost"),
        _money("split_line_item_net_unused_cost"),
    ),
    maps=(
        MapColumn(
            "resource_tags", native=("resource_tags",), prefixes=("resourceTags/", "resource_tags_")
        ),
        MapColumn(
            "cost_category", native=("cost_category",), prefixes=("costCategory/", "cost_category_")
        ),
        MapColumn("product", native=("product",)),
    ),
    normalise=snake_name,
    account_column="bill_payer_account_id",
    period_column="bill_billing_period_start_date",
    currency_column="line_item_currency_code",
    billed_column="line_item_unblended_cost",
    invoice_column="bill_invoice_id",
    line_id=("identity_line_item_id", "identity_time_interval"),
    provider="aws",
    # CUR CSV leaves nulls empty; Athena/Hive text exports write \N.
    null_strings=("", "\\N"),
)


@dataclass
class Delivery:
    """The files of one export to load together, and the export's name."""

    export_name: str
    files: list[SourceFile]


def _manifest_keys(manifest: dict[str, object]) -> tuple[str | None, list[str]]:
    """(export name, listed data keys) of a CUR 2.0 or legacy manifest."""
    if "dataFiles" in manifest:  # CUR 2.0 Data Exports
        name = manifest.get("exportName")
        if not name and isinstance(manifest.get("exportArn"), str):
            name = str(manifest["exportArn"]).rsplit("/", 1)[-1]
        return (str(name) if name else None), [str(k) for k in manifest["dataFiles"]]  # type: ignore[union-attr]
    if "reportKeys" in manifest:  # legacy CUR
        name = manifest.get("reportName")
        return (str(name) if name else None), [str(k) for k in manifest["reportKeys"]]  # type: ignore[union-attr]
    return None, []


def _resolve_key(key: str, candidates: list[Path]) -> Path | None:
    """The local file a manifest key refers to: the one sharing the longest path suffix."""
    parts = key.replace("s3://", "").split("/")
    best: tuple[int, Path] | None = None
    for path in candidates:
        local = path.parts
        n = 0
        while n < min(len(parts), len(local)) and parts[-1 - n] == local[-1 - n]:
            n += 1
        if n and (best is None or n > best[0]):
            best = (n, path)
    return best[1] if best else None


def discover(
    root: Path,
    *,
    export_name: str | None = None,
    header_names: list[str] | None = None,
    fingerprint: Callable[[Path], str] = file_fingerprint,
    display_root: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[Delivery]:
    """Group the CUR files under ``root`` into deliveries, honouring manifests."""
    say = progress or (lambda _m: None)
    files = walk_files(root, say)
    base = root if root.is_dir() else root.parent

    def source(path: Path) -> SourceFile:
        rel = path.relative_to(base).as_posix() if path != root else path.name
        shown = f"{display_root.rstrip('/')}/{rel}" if display_root else str(path)
        return SourceFile(path, shown, fingerprint(path), header_names)

    manifests = (
        walk_tree(root, lambda p: p.name.lower().endswith("manifest.json"), lambda _m: None)
        if root.is_dir()
        else []
    )
    if not manifests:
        return [Delivery(export_name or "cur", [source(p) for p in files])]

    by_name: dict[str, list[Path]] = {}
    for p in files:
        by_name.setdefault(p.name, []).append(p)
    deliveries: dict[str, list[SourceFile]] = {}
    used: set[Path] = set()
    for manifest_path in manifests:
        try:
            manifest = json.loads(manifest_path.read_text())
        except (OSError, ValueError) as exc:
            raise LoadError(f"{manifest_path}: manifest is not valid JSON ({exc})") from None
        name, keys = _manifest_keys(manifest)
        if not keys:
            raise LoadError(f"{manifest_path}: manifest lists no data files")
        name = export_name or name or "cur"
        for key in keys:
            hit = _resolve_key(key, by_name.get(key.rsplit("/", 1)[-1], []))
            if hit is None:
                raise LoadError(
                    f"{manifest_path}: lists {key!r}, which is not in the delivery "
                    "(incomplete download?)"
                )
            if hit not in used:
                used.add(hit)
                deliveries.setdefault(name, []).append(source(hit))
    stale = [p for p in files if p not in used]
    if stale:
        say(f"ignoring {len(stale)} file(s) no manifest lists (superseded deliveries)")
    return [Delivery(n, sorted(f, key=lambda s: s.display)) for n, f in deliveries.items()]


def load(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    *,
    export_name: str | None = None,
    header_names: list[str] | None = None,
    force: bool = False,
    allow_currencies: tuple[str, ...] = (),
    fingerprint: Callable[[Path], str] = file_fingerprint,
    display_root: str | None = None,
    progress: Callable[[str], None] | None = None,
    guards: Guards = DEFAULT_GUARDS,
) -> list[LoadResult]:
    """Load a CUR file or export folder; one :class:`LoadResult` per export found.

    Every export the path holds is loaded in one transaction: one bad file leaves none of
    them loaded.
    """
    deliveries = discover(
        path,
        export_name=export_name,
        header_names=header_names,
        fingerprint=fingerprint,
        display_root=display_root,
        progress=progress,
    )
    with transaction(con):
        return [
            land(
                con,
                SPEC,
                delivery.files,
                export_name=delivery.export_name,
                force=force,
                allow_currencies=allow_currencies,
                progress=progress,
                guards=guards,
            )
            for delivery in deliveries
        ]


def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--header-file",
        type=Path,
        help="names for headerless text exports (one column name per line)",
    )


def _load_command(con, path, args, **kw):  # type: ignore[no-untyped-def]
    header = None
    if args.header_file:
        try:
            header = [h.strip() for h in args.header_file.read_text().splitlines() if h.strip()]
        except OSError as exc:
            raise LoadError(f"{args.header_file}: cannot read header file ({exc})") from None
    return load(
        con,
        path,
        export_name=args.export_name,
        header_names=header,
        force=args.force,
        allow_currencies=tuple(args.allow_currency),
        guards=commands.guards(args),
        **kw,
    )


register(
    Source(
        SPEC,
        command="cur",
        label="an AWS Cost and Usage Report (CUR)",
        help="AWS CUR 2.0 or legacy CUR (parquet, csv, csv.gz, zip), auto-detected",
        description="Load an AWS CUR 2.0 (Data Exports) or legacy CUR delivery. Manifests, "
        "when present, decide which files are current. A delivery replaces the billing "
        "periods it contains; closed (invoiced) periods get correction rows instead.",
        add_arguments=_add_arguments,
        load=_load_command,
        header_hint="pass the export's column names with --header-file FILE (one name per line, "
        "e.g. the header file that came with the delivery)",
        config_keys=frozenset({"header_file"}),
    )
)
