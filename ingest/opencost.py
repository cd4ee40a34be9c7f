"""OpenCost Kubernetes allocations: the daily CSV export (``EXPORT_CSV_FILE``) and responses of
the allocation API (``/allocation/compute``, ``/allocation``).

One row per allocation (pod, container, namespace… whatever the export aggregated by) and
window, with its cost split (cpu, ram, gpu, pv, network, load balancer, shared, external), its
total and its pod labels. OpenCost's own ``__idle__`` allocation (node capacity no workload
requested) is kept as its own row.

These dollars are OpenCost's *estimate* of each workload's share of the nodes; they never enter
the cost model as money. dbt uses them only as the driver that splits the cluster's real node
lines from the bill (one pool per cluster in ``seeds/rules/allocation_pools.csv``), so a node is
counted once, at its billed price.

The CSV export has no cluster column, so ``--cluster`` names it; the API's allocations carry
``properties.cluster``. An API response is flattened by DuckDB into newline-delimited JSON
(allocation order = ``_source_row``) and then loaded like any other file, with the same
guarantees. A load replaces the (cluster, day) partitions it contains.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

import duckdb

from ingest.load import commands
from ingest.load.files import file_fingerprint, format_family, literal_files, source_files
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
)
from ingest.registry import Source, register


def opencost_name(header: str) -> str:
    """``CPUCoreUsageAverage`` → ``cpu_core_usage_average``, ``providerID`` → ``provider_id``.

    OpenCost writes acronyms in capitals, which the CUR-style normaliser would spell
    letter by letter (``c_p_u_cost``).
    """
    text = header.strip().lstrip("\ufeff")
    text = re.sub(r"(?<=[A-Z])(?=[A-Z][a-z])|(?<=[a-z0-9])(?=[A-Z])", "_", text)
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


SPEC = TableSpec(
    source="opencost",
    table="raw.opencost_allocations",
    columns=(
        Column("window_start", "TIMESTAMP", aliases=("date",), required=True),
        Column("window_end", "TIMESTAMP"),
        Column("cluster", "VARCHAR", required=True),
        Column("allocation_name", "VARCHAR", aliases=("name",)),
        Column("namespace", "VARCHAR"),
        Column("controller_kind", "VARCHAR"),
        Column("controller", "VARCHAR", aliases=("controller_name",)),
        Column("pod", "VARCHAR"),
        Column("container", "VARCHAR"),
        Column("node", "VARCHAR"),
        Column("provider_id", "VARCHAR"),
        Column("cpu_cost", MONEY),
        Column("gpu_cost", MONEY),
        Column("ram_cost", MONEY),
        Column("pv_cost", MONEY),
        Column("network_cost", MONEY),
        Column("load_balancer_cost", MONEY),
        Column("shared_cost", MONEY),
        Column("external_cost", MONEY),
        Column("total_cost", MONEY, required=True),
    ),
    maps=(MapColumn("labels", native=("Labels", "labels"), prefixes=("Label_", "label_")),),
    normalise=opencost_name,
    account_column="cluster",
    period_column="window_start",
    period_grain="day",
    currency_column=None,
    billed_column="total_cost",
)

# The API's fields per allocation, as the CSV export names them after normalisation.
_API_FIELDS = {
    "cpu_cost": "cpuCost",
    "gpu_cost": "gpuCost",
    "ram_cost": "ramCost",
    "pv_cost": "pvCost",
    "network_cost": "networkCost",
    "load_balancer_cost": "loadBalancerCost",
    "shared_cost": "sharedCost",
    "external_cost": "externalCost",
    "total_cost": "totalCost",
}
_API_PROPERTIES = {
    "cluster": "cluster",
    "namespace": "namespace",
    "controller_kind": "controllerKind",
    "controller": "controller",
    "pod": "pod",
    "container": "container",
    "node": "node",
    "provider_id": "providerID",
}


def _flatten_api(con: duckdb.DuckDBPyConnection, f: SourceFile, out: Path) -> None:
    """One allocation per line of ``out``: the response's ``data`` is a list of windows
    (one per step), each a map from allocation name to allocation."""
    try:
        doc = con.execute(
            "SELECT TRY_CAST(content AS JSON) FROM read_text(?)", [str(f.path)]
        ).fetchone()
    except duckdb.Error as exc:
        raise LoadError(f"{f.display}: cannot read the file ({exc})") from None
    if doc is None or doc[0] is None:
        raise LoadError(f"{f.display}: not JSON (expected an OpenCost allocation API response)")
    shape = con.execute(
        "SELECT json_type(?::JSON, '$.data'), ?::JSON ->> '$.code', ?::JSON ->> '$.message'",
        [doc[0]] * 3,
    ).fetchone()
    if shape[1] is not None and shape[1] != "200":
        raise LoadError(
            f"{f.display}: the API answered code {shape[1]} ({shape[2] or 'no message'})"
        )
    if shape[0] != "ARRAY":
        raise LoadError(
            f"{f.display}: no 'data' list: expected an OpenCost /allocation response "
            '{"code": 200, "data": [{"<name>": {allocation}, ...}, ...]}'
        )
    fields = ",\n".join(f"    alloc ->> '$.{api}' AS {name}" for name, api in _API_FIELDS.items())
    props = ",\n".join(
        f"    alloc ->> '$.properties.{api}' AS {name}" for name, api in _API_PROPERTIES.items()
    )
    con.execute(
        f"""
        COPY (
            WITH windows AS (
                SELECT unnest(json_extract(?::JSON, '$.data[*]')) AS allocs
            ),
            entries AS (
                SELECT unnest(map_entries(CAST(allocs AS MAP(VARCHAR, JSON)))) AS entry
                FROM windows
            ),
            parsed AS (
                SELECT entry.key AS allocation_name, entry.value AS alloc FROM entries
            )
            SELECT
                coalesce(alloc ->> '$.window.start', alloc ->> '$.start') AS window_start,
                coalesce(alloc ->> '$.window.end', alloc ->> '$.end') AS window_end,
                allocation_name,
{props},
{fields},
                CAST(alloc -> '$.properties.labels' AS VARCHAR) AS labels
            FROM parsed
        ) TO '{out.as_posix()}' (FORMAT json)
        """,
        [doc[0]],
    )


def _add_cluster(con: duckdb.DuckDBPyConnection, f: SourceFile, cluster: str, out: Path) -> None:
    """The CSV export with a constant Cluster column (row order, and so row numbers, kept)."""
    con.execute(
        f'COPY (SELECT *, ? AS "Cluster" FROM read_csv(?, all_varchar = true, header = true)) '
        f"TO '{out.as_posix()}' (FORMAT csv, HEADER)",
        [cluster, str(f.path)],
    )


def _csv_has_cluster(con: duckdb.DuckDBPyConnection, f: SourceFile) -> bool:
    try:
        names = [
            r[0]
            for r in con.execute(
                "DESCRIBE SELECT * FROM read_csv(?, all_varchar = true, header = true)",
                [str(f.path)],
            ).fetchall()
        ]
    except duckdb.Error as exc:
        raise LoadError(f"{f.display}: not a readable CSV export ({exc})") from None
    return "cluster" in {opencost_name(n) for n in names}


def load(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    *,
    cluster: str | None = None,
    export_name: str | None = None,
    force: bool = False,
    fingerprint: Callable[[Path], str] = file_fingerprint,
    display_root: str | None = None,
    progress: Callable[[str], None] | None = None,
    guards: Guards = DEFAULT_GUARDS,
) -> LoadResult:
    """Load OpenCost exports below ``path`` (CSV exports, or API responses as ``.json``)."""
    found = source_files(path, fingerprint, display_root, progress)
    with (
        literal_files(found) as files,
        tempfile.TemporaryDirectory(prefix="ingest-opencost-") as tmp,
    ):
        staged = []
        for i, f in enumerate(files):
            name = f.path.name.lower()
            if name.endswith(".json") and not name.endswith("manifest.json"):
                out = Path(tmp) / f"{i}.jsonl"
                _flatten_api(con, f, out)
                tag = "api"
            elif format_family(f.path) == "text" and not _csv_has_cluster(con, f):
                if not cluster:
                    raise LoadError(
                        f"{f.display}: the CSV export has no Cluster column; name the cluster "
                        "with --cluster (OpenCost's EXPORT_CSV_FILE does not write it)"
                    )
                out = Path(tmp) / f"{i}.csv"
                _add_cluster(con, f, cluster, out)
                tag = f"cluster={cluster}"
            else:
                staged.append(f)
                continue
            # The fingerprint stays the original file's (plus the cluster it was given), so a
            # reload of the same export is recognised and skipped.
            digest = hashlib.sha256(f"{f.fingerprint}|{tag}".encode()).hexdigest()
            staged.append(SourceFile(out, f.display, digest))
        return run_load(
            con,
            SPEC,
            staged,
            export_name=export_name or SPEC.source,
            force=force,
            progress=progress,
            guards=guards,
        )


def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--cluster",
        help="cluster name for CSV exports, which do not carry one (API responses do)",
    )


def _load_command(con, path, args, **kw):  # type: ignore[no-untyped-def]
    return load(
        con,
        path,
        cluster=args.cluster,
        export_name=args.export_name,
        force=args.force,
        guards=commands.guards(args),
        **kw,
    )


register(
    Source(
        SPEC,
        command="opencost",
        label="an OpenCost allocation export",
        help="OpenCost Kubernetes allocations: daily CSV export or allocation API JSON",
        description="Load OpenCost allocations (the EXPORT_CSV_FILE export, or /allocation API "
        "responses saved as .json). They become the driver that splits each cluster's node "
        "cost from the bill (one pool per cluster in seeds/rules/allocation_pools.csv); "
        "OpenCost's own dollars are never added to the bill. A load replaces the (cluster, day) "
        "partitions it contains.",
        add_arguments=_add_arguments,
        load=_load_command,
        # daily has always accepted `replace` here (its command has no --replace).
        config_keys=frozenset({"cluster", "replace"}),
    )
)
