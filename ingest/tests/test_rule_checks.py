"""Rule checks: a typo in a rule seed fails `dbt build` with a message naming the seed file,
the rule or pool id and the bad value, and skips the allocation instead of moving money.

The bundled sample is built once for the module; each case copies the project and the built
warehouse, edits a seed, and rebuilds only the check model and what it feeds
(``+int_allocation__rule_checks+``): a failing check skips the rest, so the copy's
``fct_cost_allocation`` must still hold the sample's numbers.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from ingest import sample_data
from ingest.demo import load_sample, run_dbt
from ingest.load.db import connect
from ingest.tests.conftest import copy_project, ingest_cli, seed_file

KNOWN = "active_tenants, ai_requests, events, flag_requests, gb_stored, monitored_series, recordings, requests"
PRODUCTS = "ai_assistant, analytics, flags, replay"
SOURCES = (
    "tag, tag_equals, account, service, service_code, usage_type, resource_id, "
    "charge_category, unused_commitment"
)
ALLOCATION_TOTALS = (
    "select rule_id, coalesce(unallocated_reason, ''), billing_currency, "
    "sum(allocated_effective_cost) from marts.fct_cost_allocation group by all order by all"
)


@dataclass(frozen=True)
class Sample:
    project: Path
    db: Path


@dataclass(frozen=True)
class Case:
    run: subprocess.CompletedProcess[str]
    db: Path

    @property
    def output(self) -> str:
        # dbt's log lines carry ANSI colour codes
        return re.sub(r"\x1b\[[0-9;]*m", "", self.run.stdout + self.run.stderr)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    root = tmp_path_factory.mktemp("rules")
    project = copy_project(root / "project")
    sample_data.generate(root / "sample", cur_lines=5_000)
    db = root / "warehouse.duckdb"
    con = connect(db)
    load_sample(con, root / "sample")
    con.close()
    run = run_dbt(db, "build", capture=True, project_dir=project)
    assert run.returncode == 0, run.stdout[-4000:]
    return Sample(project, db)


def query(db: Path, sql: str) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def edit_seed(project: Path, name: str, change: Callable[[str], str]) -> None:
    path = seed_file(project, name)
    before = path.read_text()
    after = change(before)
    assert after != before, f"the edit of {name} changed nothing"
    path.write_text(after)


def replace(old: str, new: str) -> Callable[[str], str]:
    return lambda text: text.replace(old, new)


def append(row: str) -> Callable[[str], str]:
    return lambda text: text + row + "\n"


def run_case(
    sample: Sample,
    tmp_path: Path,
    edits: dict[str, Callable[[str], str]],
    select: str = "+int_allocation__rule_checks+",
) -> Case:
    project = copy_project(tmp_path / "project", sample.project)
    db = tmp_path / "warehouse.duckdb"
    shutil.copy(sample.db, db)
    for name, change in edits.items():
        edit_seed(project, name, change)
    run = run_dbt(db, "build", "--select", select, capture=True, project_dir=project)
    return Case(run, db)


def assert_failed_without_allocating(case: Case, sample: Sample) -> None:
    """The build failed on the rule check and left the sample's allocation untouched."""
    assert case.run.returncode != 0, case.output[-3000:]
    assert "Failure in test assert_rules_are_valid" in case.output
    assert re.search(r"SKIP relation marts\.fct_cost_allocation", case.output), case.output[-3000:]
    assert query(case.db, ALLOCATION_TOTALS) == query(sample.db, ALLOCATION_TOTALS)


# --------------------------------------------------------------------------- the sample


def test_the_sample_rules_have_no_errors_no_warnings_and_known_notes(sample: Sample) -> None:
    """The bundled sample builds green without a warning; rules that change nothing on it
    (generic component rules for services it lacks, fallbacks its tags always beat) are notes."""
    rows = query(
        sample.db,
        "select severity, message from intermediate.int_allocation__rule_checks order by 2",
    )
    assert [m for s, m in rows if s == "error"] == []
    assert [m for s, m in rows if s == "warn"] == []
    warnings = [m for s, m in rows if s == "note"]
    assert (
        "seeds/examples/sample_company/allocation_tag_rules.csv rule component_bedrock: matches no line in the loaded "
        "bill — check the match, or delete the row if it is for data you do not have"
    ) in warnings
    (lines,) = query(
        sample.db,
        "select sum(n_lines_matched) from intermediate.int_allocation__rule_coverage "
        "where rule_id = 'staging_account'",
    )[0]
    assert (
        f"seeds/examples/sample_company/allocation_tag_rules.csv rule staging_account: matches {lines} line(s) but rule "
        "environment_from_tag wins environment on every one — lower its priority number, narrow "
        "the other, or delete it"
    ) in warnings


def test_check_rules_prints_coverage_that_ties_to_the_allocation(sample: Sample) -> None:
    text = ingest_cli(sample.db, "check-rules")
    assert text.returncode == 0, text.stderr
    out = text.stdout
    assert "errors (0):" in out
    assert re.search(
        r"^USD: product rules [\d,.]+ \+ pools [\d,.]+ \+ untagged [\d,.]+ = ", out, re.M
    )
    assert "(ties)" in out and "DOES NOT TIE" not in out
    assert re.search(r"^  pool +shared_postgres +10 +USD", out, re.M)
    assert re.search(r"^shadowed \(never win\): .*staging_account", out, re.M)

    doc = json.loads(ingest_cli(sample.db, "check-rules", "--json").stdout)
    allocated = dict(
        query(
            sample.db,
            "select billing_currency, sum(allocated_effective_cost) "
            "from marts.fct_cost_allocation group by 1",
        )
    )
    assert doc["errors"] == []
    for tie in doc["ties"]:
        won = (
            Decimal(tie["direct_cost"]) + Decimal(tie["pool_cost"]) + Decimal(tie["untagged_cost"])
        )
        assert won == Decimal(tie["allocatable_cost"]) == allocated[tie["currency"]]
        assert tie["ties"] is True
    pools = {
        c["rule_id"]: Decimal(c["won_cost"]) for c in doc["coverage"] if c["rule_kind"] == "pool"
    }
    by_pool = dict(
        query(
            sample.db,
            "select rule_id, sum(allocated_effective_cost) from marts.fct_cost_allocation "
            "where source_kind = 'pool_group' group by 1",
        )
    )
    assert {k: v for k, v in pools.items() if v} == by_pool


# --------------------------------------------------------------------------- observed cases


def test_misspelt_pool_driver_fails_the_build_naming_the_pool(
    sample: Sample, tmp_path: Path
) -> None:
    """Today: green build, shared_postgres' whole cost silently goes to no_driver."""
    case = run_case(
        sample,
        tmp_path,
        {
            "allocation_pools.csv": replace(
                "shared_postgres,10,tag:service,shared-postgres,cost_proportional,"
                "direct_effective_cost,day,even,",
                "shared_postgres,10,tag:service,shared-postgres,driver,active_tenantz,day,"
                "unallocated,",
            )
        },
    )
    assert (
        "seeds/examples/sample_company/allocation_pools.csv pool shared_postgres: driver 'active_tenantz' is not a "
        "loaded usage metric (did you mean 'active_tenants'? "
        f"known: {KNOWN}) — fix the driver or load the metric"
    ) in case.output
    assert_failed_without_allocating(case, sample)

    cli = ingest_cli(case.db, "check-rules")
    assert cli.returncode == 1
    assert "errors (1):" in cli.stdout and "'active_tenantz'" in cli.stdout


def test_misspelt_customer_driver_metric_fails_the_build(sample: Sample, tmp_path: Path) -> None:
    case = run_case(
        sample,
        tmp_path,
        {"customer_drivers.csv": replace("replay,recordings,", "replay,recordingz,")},
    )
    assert (
        "seeds/examples/sample_company/customer_drivers.csv customer driver of replay: metric 'recordingz' is not a "
        f"loaded usage metric (did you mean 'recordings'? known: {KNOWN}) — fix the metric or load it"
    ) in case.output
    assert_failed_without_allocating(case, sample)


def test_misspelt_unit_metric_fails_the_build(sample: Sample, tmp_path: Path) -> None:
    case = run_case(
        sample,
        tmp_path,
        {"products.csv": replace("analytics-team,events,", "analytics-team,eventz,")},
    )
    assert (
        "seeds/examples/sample_company/products.csv product analytics: unit_metric 'eventz' is not a loaded usage "
        f"metric (did you mean 'events'? known: {KNOWN}) — fix the metric or load it"
    ) in case.output
    assert_failed_without_allocating(case, sample)


def test_a_pool_tied_with_shared_postgres_names_both_pools(sample: Sample, tmp_path: Path) -> None:
    """Today: the new pool silently takes all of shared_postgres' cost (pool_id order)."""
    case = run_case(
        sample,
        tmp_path,
        {
            "allocation_pools.csv": append(
                "postgres_even,10,tag:service,shared-postgres,even,,day,even,Same lines split evenly,"
            )
        },
    )
    ((n, cost),) = query(
        sample.db,
        "select sum(n_signatures_matched), sum(matched_cost) "
        "from intermediate.int_allocation__rule_coverage where rule_id = 'shared_postgres'",
    )
    prefix = (
        "seeds/examples/sample_company/allocation_pools.csv pools postgres_even and shared_postgres: both at priority 10 "
        f"match the same {n} signature(s) without a product ({Decimal(cost):.2f} of cost), and "
        "only the pool_id order would pick one (e.g. signature "
    )
    assert prefix in case.output, case.output[-3000:]
    message = case.output[case.output.index(prefix) :].splitlines()[0]
    assert "service AmazonRDS" in message and "service=shared-postgres" in message
    assert message.endswith(" — give one pool a different priority or narrow its match")
    assert_failed_without_allocating(case, sample)


def test_conflicting_tag_rules_are_named(sample: Sample, tmp_path: Path) -> None:
    """Today: `Got N results, configured to fail if != 0`, no rule id."""
    case = run_case(
        sample,
        tmp_path,
        {
            "allocation_tag_rules.csv": append(
                "ec2_is_flags,10,product,service,AmazonEC2,flags,EC2 is the flags product"
            )
        },
    )
    assert "configured to fail if != 0" not in case.output
    match = re.search(
        r"seeds/examples/sample_company/allocation_tag_rules\.csv rules ec2_is_flags and product_from_tag: both at "
        r"priority 10 give product different values on \d+ signature\(s\) \([\d.]+ of cost\), "
        r"so the rule_id order would pick one \(e\.g\. 'flags' from ec2_is_flags vs "
        r"'(replay|analytics|ai_assistant)' from product_from_tag on signature \d+: service "
        r"AmazonEC2, .*\) — give one rule a different priority or narrow its match",
        case.output,
    )
    assert match, case.output[-3000:]
    assert_failed_without_allocating(case, sample)


def test_unknown_method_names_the_pool_and_value(sample: Sample, tmp_path: Path) -> None:
    case = run_case(
        sample,
        tmp_path,
        {"allocation_pools.csv": replace("ingress-alb,driver,", "ingress-alb,drivers,")},
    )
    assert (
        "seeds/examples/sample_company/allocation_pools.csv pool ingress_alb: method 'drivers' is not a method — use one "
        "of driver, query_log, split_cost, cost_proportional, even, residual"
    ) in case.output
    assert "accepted_values_allocation_pools_method" not in case.output
    assert_failed_without_allocating(case, sample)


# --------------------------------------------------------------------------- every check


def test_every_validation_rule_has_its_message(sample: Sample, tmp_path: Path) -> None:
    case = run_case(
        sample,
        tmp_path,
        {
            "allocation_pools.csv": lambda text: (
                text.replace("clickhouse,query_log,read_bytes,", "clickhouse,query_log,requests,")
                .replace("true,residual,,day,", "true,residual,requests,day,")
                .replace(
                    "Tax,cost_proportional,direct_effective_cost,month,",
                    "Tax,cost_proportional,direct_effective_cost,week,",
                )
                .replace(
                    "Credit,cost_proportional,direct_effective_cost,month,unallocated",
                    "Credit,cost_proportional,direct_effective_cost,month,prev",
                )
                .replace("support,25,service_code,", "support,25,service_codes,")
                .replace("split_cost,split_cost,day,even", "cost_proportional,split_cost,day,even")
                + "k8s_prod,8,tag:aws_eks_cluster_name,prod-eks,driver,opencost:prod-eks,day,"
                "unallocated,OpenCost split,\n"
            ),
            "allocation_pool_alternatives.csv": lambda text: (
                text.replace(
                    "alb_by_tenants,active_tenants,", "alb_by_tenants,active_tenant,"
                ).replace("postgres_by_tenants,active_tenants,", "postgres_by_tenants,seats,")
                + "no_such_pool,alt_x,requests,Orphan\n"
            ),
            "allocation_tag_rules.csv": lambda text: (
                text.replace("%BoxUsage:g5%,ai_assistant,", "%BoxUsage:g5%,ai_asistant,")
                .replace(
                    "staging_account,20,environment,account,",
                    "staging_account,20,environment,acount,",
                )
                .replace("tag_equals,service=clickhouse,", "tag_equals,service:clickhouse,")
                .replace("component_tax,5,component,", "component_tax,5,components,")
                .replace("service,AmazonEC2,compute,EC2", "service,AmazonEC2,,EC2")
            ),
            "clickhouse_user_products.csv": replace("flags_svc,flags", "flags_svc,flag"),
            "storage_cost_parameters.csv": replace("\nflags,0.023,", "\nflagz,0.023,"),
            "customer_drivers.csv": replace("\nflags,flag_requests,", "\nflagz,flag_requests,"),
            "products.csv": replace(
                "recordings,recording,requests,", "recordings,recording,requestz,"
            ),
        },
    )
    pools = "seeds/examples/sample_company/allocation_pools.csv pool "
    rules = "seeds/examples/sample_company/allocation_tag_rules.csv rule "
    not_product = f"is not a product of seeds/examples/sample_company/products.csv (known: {PRODUCTS}) — fix the product or add it to seeds/examples/sample_company/products.csv"
    errors = [
        f"{pools}clickhouse: method query_log splits by read_bytes, cpu_time_us, duration_ms, not by 'requests' — set driver to read_bytes, cpu_time_us, duration_ms, or use method driver",
        f"{pools}unused_commitment: method residual takes no driver, yet driver is 'requests' (it would be ignored) — clear the driver, or use method driver to split by it",
        f"{pools}tax: share_grain 'week' is not a grain — use one of day, month",
        f"{pools}credits: zero_driver_fallback 'prev' is not a fallback — use one of previous_period, even, unallocated",
        f"{pools}support: match_source 'service_codes' is not a match source, so the pool matches nothing — use tag:<key> or one of {SOURCES} (docs/rules.md)",
        f"{pools}eks_cluster: method cost_proportional splits by direct_effective_cost, not by 'split_cost' — set driver to direct_effective_cost, or use method driver",
        "seeds/examples/sample_company/allocation_pool_alternatives.csv alternative alb_by_tenants (pool ingress_alb): driver 'active_tenant' is not a loaded usage metric "
        f"(did you mean 'active_tenants'? known: {KNOWN}) — fix the driver or load the metric",
        "seeds/examples/sample_company/allocation_pool_alternatives.csv alternative alt_x: pool_id 'no_such_pool' is not a pool of seeds/examples/sample_company/allocation_pools.csv — fix the pool_id or add the pool",
        f"{rules}ai_gpu_usage: output_value 'ai_asistant' {not_product}",
        f"{rules}staging_account: source 'acount' is not a match source, so the rule matches nothing — use tag:<key> or one of {SOURCES} (docs/rules.md)",
        f"{rules}component_clickhouse: match 'service:clickhouse' is not key=value — write what to match (tag_equals takes key=value)",
        f"{rules}component_tax: dimension 'components' is not a dimension — use one of product, team, customer_id, environment, feature_id, component",
        f"{rules}component_ec2: output_value is empty, and only source tag copies a value, so the rule sets nothing — write the value the rule gives",
        f"seeds/examples/sample_company/clickhouse_user_products.csv user flags_svc: product 'flag' {not_product}",
        f"seeds/examples/sample_company/storage_cost_parameters.csv product flagz: product 'flagz' {not_product}",
        f"seeds/examples/sample_company/customer_drivers.csv customer driver of flagz: product 'flagz' {not_product}",
        f"seeds/examples/sample_company/products.csv product replay: request_metric 'requestz' is not a loaded usage metric (did you mean 'requests'? known: {KNOWN}) — fix the metric or load it",
    ]
    for message in errors:
        assert message in case.output, message
    assert f"{len(errors)} error(s) in the rule seeds; nothing was allocated:" in case.output
    warnings = [
        "seeds/examples/sample_company/allocation_pool_alternatives.csv alternative postgres_by_tenants (pool shared_postgres): driver 'seats' has no usage loaded "
        f"(known: {KNOWN}), so the alternative splits nothing — load the metric, or fix the name if it is a typo",
        f"{pools}k8s_prod: driver 'opencost:prod-eks' has no data: no OpenCost export is loaded, so the pool falls back to its zero_driver_fallback — fix the cluster name or load its OpenCost export",
        "seeds/examples/sample_company/customer_drivers.csv customer driver of flagz: metric 'flag_requests' has no usage rows for product flagz, so the product's cost reaches no customer — load the metric with product flagz, or pick a metric that has it",
        f"{pools}k8s_prod: matches no line without a product in the loaded bill — check the match, or delete the row if it is for data you do not have",
    ]
    for message in warnings:
        assert message in case.output, message
    assert_failed_without_allocating(case, sample)


# --------------------------------------------------------------------------- pool vocabulary


def test_pools_match_by_account_and_resource_id(sample: Sample, tmp_path: Path) -> None:
    """Today pools know only tag:<key>, service_code, usage_type, charge_category and
    unused_commitment: these two pools would match nothing."""
    untagged = query(
        sample.db,
        "select signatures.signature_id, sub_account_id, resource_id "
        "from intermediate.int_allocation__signature_paths as paths "
        "inner join intermediate.int_allocation__signatures as signatures "
        "using (signature_id) where allocation_path = 'untagged'",
    )
    logs = {s for s, _, r in untagged if r.startswith("arn:aws:logs:")}
    account = untagged[0][1]
    rest = {s for s, a, r in untagged if a == account and s not in logs}
    assert logs and rest
    case = run_case(
        sample,
        tmp_path,
        {
            "allocation_pools.csv": append(
                "by_resource,1,resource_id,arn:aws:logs:%:log-group:/ecs/legacy-worker-%,even,,day,"
                "even,Log groups by resource id pattern,\n"
                f"by_account,50,account,{account},even,,day,even,The rest of one account,"
            )
        },
        select="+int_allocation__signature_paths",
    )
    assert case.run.returncode == 0, case.output[-3000:]
    paths = dict(
        query(
            case.db,
            "select signature_id, coalesce(pool_id, allocation_path) "
            "from intermediate.int_allocation__signature_paths",
        )
    )
    assert {paths[s] for s in logs} == {"by_resource"}
    assert {paths[s] for s in rest} == {"by_account"}
    # a pool takes only lines without a product: the tagged lines of the account stay direct
    assert query(
        case.db,
        "select count(*) from intermediate.int_allocation__signature_paths "
        "where pool_id in ('by_resource', 'by_account') and product is not null",
    ) == [(0,)]


def test_check_rules_on_an_unbuilt_warehouse_says_what_to_do(tmp_path: Path) -> None:
    con = connect(tmp_path / "empty.duckdb")
    con.close()
    run = ingest_cli(tmp_path / "empty.duckdb", "check-rules")
    assert run.returncode == 1
    assert "has no table intermediate.int_allocation__rule_checks: run `dbt build` first" in (
        run.stderr
    )


def test_every_match_source_is_documented_in_the_readme_and_docs() -> None:
    """The README's short table and docs/rules.md list the vocabulary the macro evaluates."""
    from ingest.tests.conftest import PROJECT_DIR

    macro = (PROJECT_DIR / "macros" / "allocation" / "rule_match.sql").read_text()
    listed = re.search(r"macro rule_match_sources\(\).*?\[(.*?)\]", macro, re.S)
    assert listed
    sources = re.findall(r"'(\w+)'", listed.group(1))
    assert sources
    readme = (PROJECT_DIR / "README.md").read_text()
    table = readme[readme.index("### Rule vocabulary and checks") :]
    table = re.split(r"\n#{1,3} ", table, maxsplit=1)[0]
    docs = (PROJECT_DIR / "docs" / "rules.md").read_text()
    for source in [*sources, "tag:<key>"]:
        assert f"`{source}`" in table, f"README rule vocabulary lacks {source}"
        assert f"`{source}`" in docs, f"docs/rules.md lacks {source}"
    for severity in ("error", "warning", "note"):
        assert f"| {severity}" in table
