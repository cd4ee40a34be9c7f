"""OpenCost Kubernetes allocations: the loader (CSV export and allocation API JSON, real samples
in ../shared/data/opencost) and the cluster pool they drive: the node cost from the bill split
by OpenCost's shares, idle capacity kept as its own row, OpenCost's own dollars never added."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from ingest import focus, opencost
from ingest.cli import main
from ingest.demo import run_dbt
from ingest.load.db import connect
from ingest.load.land import load_path
from ingest.load.spec import LoadError
from ingest.registry import ensure_all_tables
from ingest.tests.conftest import PROJECT_DIR, seed_file, snapshot

CSV_HEADER = (
    "Date,Namespace,ControllerKind,ControllerName,Pod,Container,CPUCost,RAMCost,GPUCost,"
    "PVCost,NetworkCost,TotalCost,Labels\n"
)


def csv_row(day: str, namespace: str, pod: str, total: str, labels: dict[str, str]) -> str:
    quoted = json.dumps(labels).replace('"', '""')
    return f'{day},{namespace},deployment,{pod},{pod}-1,app,{total},0,0,0,0,{total},"{quoted}"\n'


def api_response(windows: list[tuple[str, str, dict[str, tuple[float, dict[str, str]]]]]) -> dict:
    """An /allocation/compute answer: one map of allocation name → allocation per window."""
    data = []
    for start, end, allocs in windows:
        data.append(
            {
                name: {
                    "name": name,
                    "properties": {"cluster": "prod-eks", "labels": labels}
                    | ({} if name == "__idle__" else {"namespace": name}),
                    "window": {"start": start, "end": end},
                    "cpuCost": total,
                    "ramCost": 0.0,
                    "totalCost": total,
                }
                for name, (total, labels) in allocs.items()
            }
        )
    return {"code": 200, "status": "success", "data": data}


# --------------------------------------------------------------------------- loader


def test_real_api_sample_loads_every_allocation(shared_data: Path, con) -> None:
    result = opencost.load(
        con, shared_data / "opencost/opencost_swagger_allocation_compute_example_0.json"
    )
    assert result.rows == 3
    rows = con.execute(
        "select allocation_name, cluster, namespace, node, provider_id, window_start, "
        "window_end, cpu_cost, ram_cost, total_cost from raw.opencost_allocations "
        "order by allocation_name"
    ).fetchall()
    assert [r[0] for r in rows] == ["kube-system", "opencost", "prometheus"]
    kube = rows[0]
    assert kube[1:3] == ("cluster-one", "kube-system")
    assert str(kube[5]) == "2023-01-18 11:38:45" and str(kube[6]) == "2023-01-20 11:38:45"
    assert kube[7:] == (Decimal("0.408822"), Decimal("0.016647"), Decimal("0.425469"))
    assert rows[1][3:5] == (
        "ip-192-168-20-42.ap-southeast-2.compute.internal",
        "i-064548f89b9d35c11",
    )


def test_real_csv_sample_needs_a_cluster_and_keeps_labels(shared_data: Path, con) -> None:
    sample = shared_data / "opencost/opencost_website_export-sample.csv"
    before = snapshot(con)
    with pytest.raises(LoadError, match=r"export-sample\.csv: .*no Cluster column.*--cluster"):
        opencost.load(con, sample)
    assert snapshot(con) == before
    result = opencost.load(con, sample, cluster="demo")
    assert result.rows == 2
    rows = con.execute(
        "select cast(window_start as date), namespace, controller, pod, labels['team'], "
        "labels['component'], total_cost, _source_row from raw.opencost_allocations "
        "order by _source_row"
    ).fetchall()
    assert [str(r[0]) for r in rows] == ["2023-01-01", "2023-01-02"]
    assert rows[0][1:6] == ("opencost", "opencost", "opencost-8fd7f8778-s7flr", "my-team", "server")
    assert rows[0][6] == Decimal("0.010493746736")  # the file's 0.010493746736011505, 12 dp
    assert [r[7] for r in rows] == [1, 2]
    # the same export again changes nothing; the same file for another cluster is a new load
    assert opencost.load(con, sample, cluster="demo").skipped
    assert con.execute("select count(*) from raw.opencost_allocations").fetchone() == (2,)


def test_label_columns_are_enough(tmp_path: Path, con) -> None:
    f = tmp_path / "labels.csv"
    f.write_text(
        "Date,Namespace,TotalCost,Label_tenant,Label_product\n"
        "2026-08-03,replay,1.5,cust_001,replay\n"
        "2026-08-03,ops,0.5,,\n"
    )
    opencost.load(con, f, cluster="c1")
    assert con.execute(
        "select namespace, labels from raw.opencost_allocations order by namespace"
    ).fetchall() == [("ops", {}), ("replay", {"tenant": "cust_001", "product": "replay"})]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("not json", r"bad\.json: not JSON"),
        (
            '{"code": 500, "message": "prometheus unreachable"}',
            r"code 500 \(prometheus unreachable\)",
        ),
        ('{"code": 200, "data": {"sets": []}}', r"no 'data' list"),
        (
            json.dumps(
                api_response([("2026-08-03T00:00:00Z", "2026-08-04T00:00:00Z", {"a": (1, {})})])
            ).replace('"totalCost": 1', '"totalCost": "lots"'),
            r"bad\.json.*total_cost.*lots",
        ),
    ],
)
def test_bad_api_responses_are_named_and_change_nothing(
    tmp_path: Path, con, body: str, message: str
) -> None:
    opencost.load(
        con,
        _write(
            tmp_path / "good.json",
            api_response([("2026-08-01T00:00:00Z", "2026-08-02T00:00:00Z", {"a": (2, {})})]),
        ),
    )
    before = snapshot(con)
    bad = tmp_path / "bad" / "bad.json"
    bad.parent.mkdir()
    bad.write_text(body)
    with pytest.raises(LoadError, match=message):
        opencost.load(con, bad)
    assert snapshot(con) == before


def test_a_bad_csv_value_names_file_row_and_column(tmp_path: Path, con) -> None:
    f = tmp_path / "export.csv"
    f.write_text(
        CSV_HEADER
        + csv_row("2026-08-03", "a", "a", "1", {})
        + csv_row("2026-08-03", "b", "b", "x1", {})
    )
    before = snapshot(con)
    with pytest.raises(LoadError, match=r"export\.csv: row 2, column 'CPUCost': cannot read 'x1'"):
        opencost.load(con, f, cluster="c1")
    assert snapshot(con) == before


def test_a_new_export_of_a_day_replaces_it(tmp_path: Path, con) -> None:
    first = tmp_path / "v1.csv"
    first.write_text(
        CSV_HEADER
        + csv_row("2026-08-03", "a", "a", "1", {})
        + csv_row("2026-08-04", "a", "a", "1", {})
    )
    second = tmp_path / "v2.csv"
    second.write_text(CSV_HEADER + csv_row("2026-08-04", "a", "a", "3", {}))
    opencost.load(con, first, cluster="c1")
    opencost.load(con, second, cluster="c1")
    assert con.execute(
        "select cast(window_start as date)::varchar, total_cost from raw.opencost_allocations "
        "order by 1"
    ).fetchall() == [("2026-08-03", Decimal(1)), ("2026-08-04", Decimal(3))]


def test_cli_loads_and_explains(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "export.csv"
    f.write_text(CSV_HEADER + csv_row("2026-08-03", "a", "a", "1", {}))
    db = str(tmp_path / "w.duckdb")
    assert main(["opencost", str(f), "--db", db, "--quiet"]) == 1
    assert "--cluster" in capsys.readouterr().err
    assert main(["opencost", str(f), "--db", db, "--cluster", "prod", "--quiet"]) == 0
    assert "opencost: loaded 1 rows" in capsys.readouterr().out


def _write(path: Path, doc: dict) -> Path:
    path.write_text(json.dumps(doc))
    return path


# --------------------------------------------------------------------------- cluster pool

POOL_ROW = (
    "k8s_prod_eks,8,tag:aws_eks_cluster_name,prod-eks,driver,opencost:prod-eks,day,unallocated,"
    "The prod-eks cluster's nodes are split by OpenCost's allocation of the cluster,\n"
)


def focus_nodes(path: Path) -> Path:
    """$100 of node cost per day for 3 days, tagged with the EKS cluster, plus $7 untagged."""
    header = (
        "BilledCost,EffectiveCost,ListCost,BillingAccountId,BillingCurrency,BillingPeriodStart,"
        "ChargePeriodStart,ChargePeriodEnd,ChargeCategory,ProviderName,ServiceName,ResourceId,"
        "Tags\n"
    )
    tags = json.dumps({"aws:eks:cluster-name": "prod-eks"}).replace('"', '""')
    rows = []
    for day in ("03", "04", "05"):
        for node, cost in (("i-node-a", "60"), ("i-node-b", "40")):
            rows.append(
                f"{cost},{cost},{cost},acct,USD,2026-08-01T00:00:00Z,2026-08-{day}T00:00:00Z,"
                f'2026-08-{day}T23:00:00Z,Usage,AWS,AmazonEC2,{node},"{tags}"\n'
            )
    rows.append(
        "7,7,7,acct,USD,2026-08-01T00:00:00Z,2026-08-03T00:00:00Z,2026-08-03T23:00:00Z,Usage,"
        "AWS,AmazonS3,bucket,\n"
    )
    path.write_text(header + "".join(rows))
    return path


@pytest.fixture(scope="module")
def cluster_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project with one OpenCost pool row added, built on node lines + OpenCost exports.

    Day 3: CSV export, OpenCost estimates sum to $10 (not the bill's $100), tenants labelled,
    one workload without a product label. Day 4: API response with OpenCost's idle row.
    Day 5: no OpenCost data (the pool falls back to unallocated).
    """
    root = tmp_path_factory.mktemp("opencost")
    project = root / "project"
    project.mkdir()
    for name in ("dbt_project.yml", "profiles.yml"):
        shutil.copy(PROJECT_DIR / name, project / name)
    for folder in ("models", "macros", "seeds", "tests"):
        shutil.copytree(PROJECT_DIR / folder, project / folder)
    pools = seed_file(project, "allocation_pools.csv")
    pools.write_text(pools.read_text() + POOL_ROW)

    db = root / "warehouse.duckdb"
    con = connect(db)
    ensure_all_tables(con)
    load_path(con, focus.SPEC, focus_nodes(root / "nodes.csv"), export_name="aws-focus")
    export = root / "export.csv"
    export.write_text(
        CSV_HEADER
        + csv_row(
            "2026-08-03",
            "replay",
            "replay-api",
            "4.5",
            {
                "product": "replay",
                "tenant": "cust_001",
                "feature": "session_replay",
                "team": "replay-team",
                "environment": "prod",
            },
        )
        + csv_row(
            "2026-08-03",
            "replay",
            "replay-worker",
            "1.5",
            {"product": "replay", "tenant": "cust_002", "feature": "session_replay"},
        )
        + csv_row("2026-08-03", "replay", "replay-shared", "2", {"product": "replay"})
        + csv_row(
            "2026-08-03",
            "analytics",
            "ingest",
            "1",
            {"product": "analytics", "tenant": "cust_003", "feature": "events"},
        )
        + csv_row("2026-08-03", "ops", "logging", "1", {"team": "platform"})
    )
    opencost.load(con, export, cluster="prod-eks")
    opencost.load(
        con,
        _write(
            root / "api.json",
            api_response(
                [
                    (
                        "2026-08-04T00:00:00Z",
                        "2026-08-05T00:00:00Z",
                        {
                            "replay": (3.0, {"product": "replay", "tenant": "cust_001"}),
                            "__idle__": (1.0, {}),
                        },
                    )
                ]
            ),
        ),
    )
    con.close()
    run = run_dbt(db, "build", capture=True, project_dir=project)
    assert run.returncode == 0, run.stdout[-4000:]
    return db


def q(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as c:
        return c.execute(sql).fetchall()


def test_node_cost_is_split_by_opencost_share_not_added(cluster_warehouse: Path) -> None:
    rows = q(
        cluster_warehouse,
        """
        select cast(period_start as varchar), coalesce(product, '-'), coalesce(customer_id, '-'),
               coalesce(unallocated_reason, '-'), sum(allocated_effective_cost)
        from marts.fct_cost_allocation where rule_id = 'k8s_prod_eks'
        group by all order by all
        """,
    )
    # day 3: estimates 4.5 + 1.5 + 2 (replay) + 1 (analytics) + 1 (no product) = 10 → the
    # bill's $100 goes 80 / 10 / 10; replay's 80 follows its tenants' pods 4.5 : 1.5.
    # day 4: replay 3 and idle 1 → 75 / 25. day 5: no OpenCost data → unallocated.
    assert rows == [
        ("2026-08-03", "-", "-", "unattributed_workloads", Decimal(10)),
        ("2026-08-03", "analytics", "cust_003", "-", Decimal(10)),
        ("2026-08-03", "replay", "cust_001", "-", Decimal(60)),
        ("2026-08-03", "replay", "cust_002", "-", Decimal(20)),
        ("2026-08-04", "-", "-", "idle_capacity", Decimal(25)),
        ("2026-08-04", "replay", "cust_001", "-", Decimal(75)),
        ("2026-08-05", "-", "-", "no_driver", Decimal(100)),
    ]
    # every bill dollar allocated once; OpenCost's $14 of estimates added nothing
    assert q(
        cluster_warehouse,
        "select (select sum(allocated_effective_cost) from marts.fct_cost_allocation), "
        "(select sum(effective_cost) from marts.fct_cost_line_items)",
    ) == [(Decimal(307), Decimal(307))]


def test_kubernetes_mart_has_labels_idle_row_and_ties_to_the_pool(cluster_warehouse: Path) -> None:
    rows = q(
        cluster_warehouse,
        """
        select cast(period_start as varchar), coalesce(namespace, '-'), coalesce(product, '-'),
               coalesce(customer_id, '-'), coalesce(feature_id, '-'), coalesce(team, '-'),
               is_idle, coalesce(unallocated_reason, '-'), allocated_effective_cost
        from marts.fct_kubernetes_cost_allocation order by all
        """,
    )
    assert rows == [
        (
            "2026-08-03",
            "analytics",
            "analytics",
            "cust_003",
            "events",
            "-",
            False,
            "-",
            Decimal(10),
        ),
        (
            "2026-08-03",
            "ops",
            "-",
            "-",
            "-",
            "platform",
            False,
            "unattributed_workloads",
            Decimal(10),
        ),
        ("2026-08-03", "replay", "replay", "-", "-", "-", False, "-", Decimal(20)),
        (
            "2026-08-03",
            "replay",
            "replay",
            "cust_001",
            "session_replay",
            "replay-team",
            False,
            "-",
            Decimal(45),
        ),
        (
            "2026-08-03",
            "replay",
            "replay",
            "cust_002",
            "session_replay",
            "-",
            False,
            "-",
            Decimal(15),
        ),
        ("2026-08-04", "-", "-", "-", "-", "-", True, "idle_capacity", Decimal(25)),
        ("2026-08-04", "replay", "replay", "cust_001", "-", "-", False, "-", Decimal(75)),
        ("2026-08-05", "-", "-", "-", "-", "-", False, "no_opencost_data", Decimal(100)),
    ]
    # per product and day, the mart and the allocation agree (same shares, same money)
    assert q(
        cluster_warehouse,
        """
        with k as (
            select period_start, product, sum(allocated_effective_cost) as cost
            from marts.fct_kubernetes_cost_allocation
            where product is not null group by all
        ), a as (
            select period_start, product, sum(allocated_effective_cost) as cost
            from marts.fct_cost_allocation where rule_id = 'k8s_prod_eks'
              and product is not null group by all
        )
        select count(*) from k full join a using (period_start, product)
        where k.cost is distinct from a.cost
        """,
    ) == [(0,)]


def test_tie_out_test_catches_a_lost_cent(cluster_warehouse: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.duckdb"
    shutil.copy(cluster_warehouse, broken)
    with duckdb.connect(str(broken)) as c:
        c.execute(
            "update marts.fct_kubernetes_cost_allocation set allocated_effective_cost = "
            "allocated_effective_cost - 0.01 where is_idle"
        )
    project = cluster_warehouse.parent / "project"
    run = run_dbt(
        broken,
        "test",
        "--select",
        "assert_kubernetes_cost_ties_to_pools",
        capture=True,
        project_dir=project,
    )
    assert run.returncode == 1 and "Got 1 result" in run.stdout
