"""FOCUS 1.3 exports from AWS, Azure and Google Cloud load, tie to the bill and mean the same.

The files come from an independent generator, ``focus-toolkit generate`` (focus-data-toolkit,
pinned in requirements.lock): 1.3's ServiceProviderName / HostProviderName beside the deprecated
ProviderName / PublisherName, the commitment and capacity reservation columns, and the
provider's own split cost allocation rows (Allocated*), which replace their origin row.
A file without the deprecated ProviderName (as 1.4 writes) takes the provider from
ServiceProviderName.
"""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from ingest import focus
from ingest.core import LoadError, bill_sources, connect, load_path
from ingest.demo import dbt_build

PROVIDERS = {"aws": "aws", "azure": "azure", "gcp": "gcp"}
TOOLKIT = Path(sys.executable).parent / "focus-toolkit"

pytestmark = pytest.mark.skipif(
    not TOOLKIT.exists(), reason="focus-data-toolkit is not installed (make setup)"
)


@pytest.fixture(scope="module")
def focus_13(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One FOCUS 1.3 cost-and-usage CSV per provider, 300 rows, fixed seed."""
    root = tmp_path_factory.mktemp("focus13")
    files = {}
    for provider in PROVIDERS:
        subprocess.run(
            [
                str(TOOLKIT),
                "generate",
                "--provider",
                provider,
                "--focus-version",
                "1.3",
                "--rows",
                "300",
                "--seed",
                "11",
                "--out",
                str(root / provider),
            ],
            check=True,
            capture_output=True,
        )
        [files[provider]] = (root / provider).glob("focus_1_3_cost_and_usage_*.csv")
    return files


def _file_totals(path: Path) -> dict[tuple[str, str], Decimal]:
    """Σ BilledCost per billing account × currency, read as exact decimals from the file."""
    rows = duckdb.sql(
        f"select BillingAccountId, BillingCurrency, sum(cast(BilledCost as decimal(38, 12))) "
        f"from read_csv('{path.as_posix()}', all_varchar = true) group by all"
    ).fetchall()
    return {(a, c): total for a, c, total in rows}


def test_each_provider_lands_ties_and_is_its_cloud(
    focus_13: dict[str, Path], tmp_path: Path
) -> None:
    db = tmp_path / "w.duckdb"
    con = connect(db)
    for path in focus_13.values():
        load_path(con, focus.SPEC, path, export_name=path.stem)
    bills = bill_sources(con)
    landed = con.execute(
        "select count(*), count(service_provider_name), count(host_provider_name), "
        "count(allocated_method_id), count(capacity_reservation_status) "
        "from raw.focus_line_items"
    ).fetchone()
    con.close()
    assert landed[0] == 900 and landed[1] == 900 and landed[2] == 900
    assert landed[3] > 0, "the providers' split allocation rows carry AllocatedMethodId"
    for provider, path in focus_13.items():
        mine = {
            (b["billing_account_id"], b["currency"]): Decimal(str(b["billed_cost"]))
            for b in bills
            if b["provider"] == PROVIDERS[provider]
        }
        assert mine == _file_totals(path), provider


def test_a_file_without_the_deprecated_provider_name_takes_service_provider_name(
    focus_13: dict[str, Path], tmp_path: Path
) -> None:
    """FOCUS 1.4 drops ProviderName; the same bill still counts once, as its cloud."""
    path = tmp_path / "gcp_no_provider_name.csv"
    duckdb.sql(
        f"copy (select * exclude (ProviderName, PublisherName) from "
        f"read_csv('{focus_13['gcp'].as_posix()}', all_varchar = true)) "
        f"to '{path.as_posix()}' (header)"
    )
    con = connect(tmp_path / "w.duckdb")
    load_path(con, focus.SPEC, path, export_name="gcp")
    providers = {b["provider"] for b in bill_sources(con)}
    # the original file of the same bill is refused: one bill, counted once
    with pytest.raises(LoadError) as refused:
        load_path(con, focus.SPEC, focus_13["gcp"], export_name="gcp-again")
    con.close()
    assert providers == {"gcp"}
    assert "would count that bill twice" in str(refused.value)


def test_the_three_clouds_build_and_tie_to_their_invoices(
    focus_13: dict[str, Path], tmp_path: Path
) -> None:
    """dbt build on the three 1.3 bills: every bill line once in fct_cost_line_items and every
    dollar in the allocation (the build's own invoice and conservation tests pass)."""
    db = tmp_path / "w.duckdb"
    con = connect(db)
    for path in focus_13.values():
        load_path(con, focus.SPEC, path, export_name=path.stem)
    con.close()
    assert dbt_build(db), "dbt build failed on FOCUS 1.3 bills (see the dbt output above)"
    with duckdb.connect(str(db), read_only=True) as built:
        lines = dict(
            built.execute(
                "select provider, sum(billed_cost) from marts.fct_cost_line_items group by 1"
            ).fetchall()
        )
        allocated = built.execute(
            "select sum(allocated_billed_cost) from marts.fct_cost_allocation"
        ).fetchone()[0]
    for provider, path in focus_13.items():
        # the unified lines keep the provider's own name (AWS, Microsoft Azure, Google Cloud)
        [(name,)] = duckdb.sql(
            f"select distinct ServiceProviderName from read_csv('{path.as_posix()}')"
        ).fetchall()
        assert lines[name] == sum(_file_totals(path).values()), provider
    assert allocated == sum(lines.values())
