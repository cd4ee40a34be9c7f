"""Azure cost details exports (EA and MCA, actual or amortized cost CSV), native columns.

Lands in ``raw.azure_cost_details`` under snake_case names. EA headers are PascalCase
(``CostInBillingCurrency``), MCA's camelCase (``costInBillingCurrency``); both normalise to the
same names. EA writes US dates (``9/2/2023``); the ``Tags`` column is JSON, sometimes without
its braces.

Azure writes the same columns for two different cost bases: *actual* cost (the invoice;
reservation and savings plan purchases are Purchase rows, the usage they cover costs 0) and
*amortized* cost (covered usage carries its share of the purchase, the unused part is an
``UnusedReservation`` / ``UnusedSavingsPlan`` row, purchases are absent or 0). Each load records
its basis in ``_cost_basis`` (``actual`` / ``amortized``): declared (``--cost-basis``) or detected
from the file. An amortized export lands under its own export name (``<export>-amortized``), so
the actual and the amortized export of one billing account and period are two deliveries of two
different things, never one bill delivered twice; staging pairs them
(models/staging/azure/stg_azure__cost_details.sql).
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import duckdb

from ingest.load import commands
from ingest.load.files import expanded, file_fingerprint, format_family, source_files
from ingest.load.land import run_load
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
    quote_ident,
    snake_name,
)
from ingest.registry import Source, register

log = logging.getLogger(__name__)

COST_BASES = ("actual", "amortized")
UNUSED_CHARGE_TYPES = ("UnusedReservation", "UnusedSavingsPlan")
COMMITMENT_PRICING_MODELS = ("reservation", "savingsplan", "savings plan")

_US = ("%m/%d/%Y", "%m/%d/%Y %H:%M:%S", "%Y-%m-%d")


def _t(name: str, *aliases: str) -> Column:
    return Column(name, "VARCHAR", aliases)


SPEC = TableSpec(
    source="azure",
    table="raw.azure_cost_details",
    columns=(
        Column("billing_account_id", "VARCHAR", required=True),
        _t("billing_account_name"),
        _t("billing_profile_id"),
        _t("invoice_section_name"),
        _t("invoice_id"),
        Column("billing_period_start_date", "TIMESTAMP", required=True, formats=_US),
        Column("billing_period_end_date", "TIMESTAMP", formats=_US),
        Column("date", "TIMESTAMP", required=True, formats=_US),
        _t("subscription_id", "subscription_guid"),
        _t("subscription_name"),
        _t("resource_group", "resource_group_name"),
        _t("resource_location"),
        _t("resource_id", "instance_name"),
        _t("resource_name"),
        _t("product_name", "product"),
        _t("meter_category"),
        _t("meter_sub_category"),
        _t("meter_id"),
        _t("meter_name"),
        _t("meter_region"),
        _t("unit_of_measure"),
        Column("quantity", "DOUBLE"),
        Column("effective_price", MONEY),
        Column("unit_price", MONEY),
        Column("pay_g_price", MONEY),
        Column("cost_in_billing_currency", MONEY, ("cost",), required=True),
        _t("billing_currency_code", "billing_currency", "currency"),
        _t("charge_type"),
        _t("frequency"),
        _t("pricing_model"),
        _t("publisher_type"),
        _t("publisher_name"),
        _t("reservation_id"),
        _t("reservation_name"),
        _t("consumed_service"),
        _t("service_family"),
        _t("availability_zone"),
        _t("cost_center"),
        _t("benefit_id"),
        _t("benefit_name"),
    ),
    maps=(MapColumn("tags", native=("Tags", "tags")),),
    normalise=snake_name,
    account_column="billing_account_id",
    period_column="billing_period_start_date",
    currency_column="billing_currency_code",
    billed_column="cost_in_billing_currency",
    invoice_column="invoice_id",
    provider="azure",
    load_columns=("_cost_basis",),
    basis_column="_cost_basis",
    basis_default="actual",  # the loader read every export as actual cost before
)


def _file_is_amortized(con: duckdb.DuckDBPyConnection, f: SourceFile) -> bool:
    """True when the file has an Unused* charge or commitment-priced usage that costs money."""
    family = format_family(f.path)
    if family == "parquet":
        call = "read_parquet(?)"
    elif family == "text":
        call = "read_csv(?, all_varchar = true, header = true)"
    else:
        return False
    try:
        names = [
            row[0]
            for row in con.execute(f"DESCRIBE SELECT * FROM {call}", [str(f.path)]).fetchall()
        ]
    except duckdb.Error as exc:
        raise LoadError(f"{f.display}: cannot read the file's columns ({exc})") from None
    by_norm = {snake_name(n): n for n in names}
    charge = by_norm.get("charge_type")
    if charge is None:
        return False
    pricing = by_norm.get("pricing_model")
    cost = by_norm.get("cost_in_billing_currency") or by_norm.get("cost")
    conditions = [f"CAST({quote_ident(charge)} AS VARCHAR) IN {UNUSED_CHARGE_TYPES!r}"]
    if pricing and cost:
        conditions.append(
            f"(CAST({quote_ident(charge)} AS VARCHAR) = 'Usage' "
            f"AND lower(CAST({quote_ident(pricing)} AS VARCHAR)) IN {COMMITMENT_PRICING_MODELS!r} "
            f"AND coalesce(TRY_CAST({quote_ident(cost)} AS DOUBLE), 0) <> 0)"
        )
    found = con.execute(
        f"SELECT count(*) > 0 FROM (SELECT 1 FROM {call} WHERE {' OR '.join(conditions)} LIMIT 1)",
        [str(f.path)],
    ).fetchone()
    return bool(found and found[0])


def detect_cost_basis(files: Sequence[SourceFile]) -> str:
    """``amortized`` when any file of the delivery is an amortized-cost export, else ``actual``.

    Amortized: an ``UnusedReservation`` / ``UnusedSavingsPlan`` charge, or usage priced by a
    reservation or savings plan with a non-zero cost (an actual-cost export shows that usage
    at 0 and bills the purchase instead).
    """
    con = duckdb.connect()
    try:
        with expanded(files) as real_files:
            return "amortized" if any(_file_is_amortized(con, f) for f in real_files) else "actual"
    finally:
        con.close()


def load(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    *,
    export_name: str | None = None,
    cost_basis: str | None = None,
    force: bool = False,
    allow_currencies: Sequence[str] = (),
    fingerprint: Callable[[Path], str] = file_fingerprint,
    display_root: str | None = None,
    progress: Callable[[str], None] | None = None,
    guards: Guards = DEFAULT_GUARDS,
) -> LoadResult:
    """Load an Azure cost-details delivery with its cost basis (declared, else detected).

    An amortized delivery is loaded as export ``<export_name>-amortized`` (default
    ``azure-amortized``), an actual one as ``<export_name>`` (default ``azure``): each basis
    replaces only its own (account, period) partitions. Every landed row of the load carries
    the basis in ``_cost_basis``.
    """
    if cost_basis is not None and cost_basis not in COST_BASES:
        raise LoadError(f"cost basis {cost_basis!r}: expected one of {', '.join(COST_BASES)}")
    files = source_files(path, fingerprint, display_root)
    basis = cost_basis or detect_cost_basis(files)
    name = export_name or SPEC.source
    if basis == "amortized" and not name.endswith("amortized"):
        name = f"{name}-amortized"
    log.info(
        "azure: %s is a %s-cost export (%s)", path, basis, "declared" if cost_basis else "detected"
    )
    return run_load(
        con,
        SPEC,
        files,
        export_name=name,
        force=force,
        allow_currencies=allow_currencies,
        progress=progress,
        guards=guards,
        load_values={"_cost_basis": basis},
    )


def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--cost-basis",
        choices=COST_BASES,
        help="actual (the invoice) or amortized cost export (default: detected from "
        "the file: Unused* charges or priced reservation usage mean amortized); an "
        "amortized export loads as EXPORT-amortized, beside the actual one",
    )


def _load_command(con, path, args, **kw):  # type: ignore[no-untyped-def]
    return load(
        con,
        path,
        export_name=args.export_name,
        cost_basis=args.cost_basis,
        force=args.force,
        allow_currencies=tuple(args.allow_currency),
        guards=commands.guards(args),
        **kw,
    )


register(
    Source(
        SPEC,
        command="azure",
        label="an Azure cost details export",
        help="Azure EA/MCA cost details CSV, actual or amortized (native columns)",
        description="Load an Azure EA/MCA cost details CSV, actual or amortized (native columns).",
        add_arguments=_add_arguments,
        load=_load_command,
        config_keys=frozenset({"cost_basis"}),
    )
)
