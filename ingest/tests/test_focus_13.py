"""FOCUS 1.3 exports from AWS, Azure and Google Cloud load, tie to the bill and mean the same.

The files come from an independent generator, ``focus-toolkit generate`` (focus-data-toolkit,
pinned in requirements.lock): 1.3's ServiceProviderName / HostProviderName beside the deprecated
ProviderName / PublisherName, the commitment and capacity reservation columns, and the
provider's own split cost allocation rows (Allocated*), which replace their origin row.
A file without the deprecated ProviderName (as 1.4 writes) takes the provider from
ServiceProviderName. The generator's Contract Commitment dataset loads with
``ingest focus-commitments`` and fct_contract_commitment_progress sets each commitment against
the ContractApplied elements of the cost rows, as computed here from the files.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections import defaultdict
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import pytest

from ingest import focus, focus_commitments
from ingest.demo import dbt_build
from ingest.load.bill_once import bill_sources
from ingest.load.db import connect
from ingest.load.land import load_path
from ingest.load.spec import LoadError

PROVIDERS = {"aws": "aws", "azure": "azure", "gcp": "gcp"}
TOOLKIT = Path(sys.executable).parent / "focus-toolkit"

pytestmark = pytest.mark.skipif(
    not TOOLKIT.exists(), reason="focus-data-toolkit is not installed (make setup)"
)


@pytest.fixture(scope="module")
def focus_13_folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One FOCUS 1.3 export per provider (cost and usage, contract commitments), 300 rows,
    fixed seed."""
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
        files[provider] = root / provider
    return files


@pytest.fixture(scope="module")
def focus_13(focus_13_folders: dict[str, Path]) -> dict[str, Path]:
    """Each provider's cost-and-usage CSV."""
    return {
        provider: next(folder.glob("focus_1_3_cost_and_usage_*.csv"))
        for provider, folder in focus_13_folders.items()
    }


def _commitment_file(folder: Path) -> Path:
    return next(folder.glob("focus_1_3_contract_commitment_*.csv"))


def _d12(value: object) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("1e-12"), rounding=ROUND_HALF_UP)


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _expected_progress(folder: Path) -> dict[str, tuple[Decimal, Decimal]]:
    """Σ ContractCommitmentAppliedCost and Σ ContractCommitmentAppliedQuantity per commitment id,
    from the files (elements within the commitment's period and currency), and of the elements
    no commitment takes under ``unplaced:<id>``."""
    with _commitment_file(folder).open(newline="") as f:
        commitments = list(csv.DictReader(f))
    by_id = defaultdict(list)
    for c in commitments:
        by_id[c["ContractCommitmentId"]].append(c)
    out: dict[str, tuple[Decimal, Decimal]] = defaultdict(lambda: (Decimal(0), Decimal(0)))
    with next(folder.glob("focus_1_3_cost_and_usage_*.csv")).open(newline="") as f:
        for row in csv.DictReader(f):
            if row["ContractApplied"] in ("", "NULL"):
                continue
            when = _ts(row["ChargePeriodStart"])
            for e in json.loads(row["ContractApplied"])["Elements"]:
                # landed as decimal(38, 12), like every amount of the bill
                cost = _d12(e.get("ContractCommitmentAppliedCost", 0))
                quantity = _d12(e.get("ContractCommitmentAppliedQuantity", 0))
                home = [
                    c
                    for c in by_id[e["ContractCommitmentId"]]
                    if c["BillingCurrency"] == row["BillingCurrency"]
                    and _ts(c["ContractCommitmentPeriodStart"])
                    <= when
                    < _ts(c["ContractCommitmentPeriodEnd"])
                ]
                key = e["ContractCommitmentId"] if home else f"unplaced:{e['ContractCommitmentId']}"
                out[key] = (out[key][0] + cost, out[key][1] + quantity)
    for c in commitments:
        out.setdefault(c["ContractCommitmentId"], (Decimal(0), Decimal(0)))
    return dict(out)


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
    focus_13: dict[str, Path], focus_13_folders: dict[str, Path], tmp_path: Path
) -> None:
    """dbt build on the three 1.3 bills: every bill line once in fct_cost_line_items and every
    dollar in the allocation (the build's own invoice and conservation tests pass); each
    contract commitment's applied cost equals the file's ContractApplied elements."""
    db = tmp_path / "w.duckdb"
    con = connect(db)
    for path in focus_13.values():
        load_path(con, focus.SPEC, path, export_name=path.stem)
    for folder in focus_13_folders.values():
        commitments = _commitment_file(folder)
        load_path(con, focus_commitments.SPEC, commitments, export_name=commitments.stem)
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
    with duckdb.connect(str(db), read_only=True) as built:
        progress = built.execute(
            "select contract_commitment_id, unmatched_reason, contract_commitment_category, "
            "applied_cost, applied_quantity, committed_cost, committed_quantity, "
            "fulfilled_ratio, elapsed_ratio, is_on_track "
            "from marts.fct_contract_commitment_progress"
        ).fetchall()
    got: dict[str, tuple[Decimal, Decimal]] = {}
    categories = set()
    for cid, reason, category, cost, qty, c_cost, c_qty, fulfilled, elapsed, on_track in progress:
        got[cid if reason is None else f"unplaced:{cid}"] = (cost, qty)
        if reason is None:
            categories.add(category)
            applied, committed = (qty, c_qty) if category == "Usage" else (cost, c_cost)
            assert fulfilled == pytest.approx(float(applied / committed), rel=1e-12)
            assert 0 <= elapsed <= 1 and on_track == (fulfilled >= elapsed)
    expected: dict[str, tuple[Decimal, Decimal]] = {}
    for folder in focus_13_folders.values():
        expected.update(_expected_progress(folder))
    assert got == expected
    assert categories == {"Spend", "Usage"}, "both kinds of commitment are in the files"
    assert all(sum(v) > 0 for k, v in got.items() if not k.startswith("unplaced:"))


def test_a_contract_commitment_file_given_to_focus_names_its_command(
    focus_13_folders: dict[str, Path], tmp_path: Path
) -> None:
    con = connect(tmp_path / "w.duckdb")
    with pytest.raises(LoadError) as refused:
        load_path(con, focus.SPEC, _commitment_file(focus_13_folders["aws"]), export_name="x")
    landed = con.execute(
        "select table_name from information_schema.tables where table_schema = 'raw'"
    ).fetchall()
    con.close()
    assert "python -m ingest focus-commitments" in str(refused.value)
    assert landed == [], "nothing loaded, not even an empty table"


def test_the_same_commitments_under_another_name_are_refused(
    focus_13_folders: dict[str, Path], tmp_path: Path
) -> None:
    path = _commitment_file(focus_13_folders["gcp"])
    copy = tmp_path / "renamed.csv"
    copy.write_bytes(path.read_bytes())
    con = connect(tmp_path / "w.duckdb")
    load_path(con, focus_commitments.SPEC, path, export_name="gcp-commitments")
    with pytest.raises(LoadError) as refused:
        load_path(con, focus_commitments.SPEC, copy, export_name="other-name")
    [(n,)] = con.execute("select count(*) from raw.focus_contract_commitments").fetchall()
    con.close()
    with path.open() as f:
        assert n == sum(1 for _ in f) - 1, "the first load stays, counted once"
    assert "twice" in str(refused.value)
