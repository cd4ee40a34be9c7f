"""The shipped rules work on any company's bill; the sample company's are an example folder.

dbt reads seeds/common (reference data every company shares) and one rule folder:
seeds/rules (the defaults a new user edits) unless COST_MODEL_RULES names another, such as
seeds/examples/sample_company, which `python -m ingest demo` builds with. That the defaults build
green on a real bill (the AWS workshop CUR) and that messages then name seeds/rules/ is
test_discover::test_new_user_flow_on_the_workshop_cur; that the sample's messages name its own
folder is test_rule_checks. These checks keep the two folders interchangeable.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import yaml

from ingest.project import DEFAULT_RULES, RULES_ENV, SAMPLE_RULES
from ingest.tests.conftest import PROJECT_DIR, csv_header, csv_rows

COMMON = PROJECT_DIR / "seeds" / "common"
DEFAULTS = PROJECT_DIR / DEFAULT_RULES
SAMPLE = PROJECT_DIR / SAMPLE_RULES


def test_dbt_reads_the_rule_folder_the_cli_and_the_messages_name() -> None:
    project = yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text())
    assert project["seed-paths"] == [
        "seeds/common",
        f"{{{{ env_var('{RULES_ENV}', '{DEFAULT_RULES}') }}}}",
    ]
    macro = (PROJECT_DIR / "macros" / "rules_file.sql").read_text()
    assert f"env_var('{RULES_ENV}', '{DEFAULT_RULES}')" in macro
    # no model or macro names a rule file by a fixed path in a message: rules_file() does
    # (the shared reference data has one place, seeds/common)
    for path in [
        p for d in ("models", "macros", "tests") for p in PROJECT_DIR.glob(f"{d}/**/*.sql")
    ]:
        literals = re.findall(r"'seeds/(?!common/)[a-z_/]+\.csv", path.read_text())
        assert literals == [], f"{path}: {literals} (use rules_file())"


def test_the_example_and_the_defaults_hold_the_same_seeds() -> None:
    defaults = sorted(p.name for p in DEFAULTS.glob("*.csv"))
    assert defaults == sorted(p.name for p in SAMPLE.glob("*.csv"))
    assert not {p.name for p in COMMON.glob("*.csv")} & set(defaults)
    for name in defaults:
        assert csv_header(DEFAULTS / name) == csv_header(SAMPLE / name), name
    documented = {
        seed["name"]
        for path in COMMON.glob("_*.yml")
        for seed in yaml.safe_load(path.read_text())["seeds"]
    }
    assert {Path(n).stem for n in defaults} | {p.stem for p in COMMON.glob("*.csv")} <= documented


def test_the_defaults_carry_nothing_of_the_sample_company() -> None:
    for name in (
        "products",
        "customer_drivers",
        "clickhouse_user_products",
        "storage_cost_parameters",
        "team_budgets",
        "allocation_pool_alternatives",
    ):
        assert csv_rows(DEFAULTS / f"{name}.csv") == [], f"{name}: the defaults know no company"
    text = "\n".join(p.read_text() for p in DEFAULTS.glob("*.csv"))
    sample_words = {r["product"] for r in csv_rows(SAMPLE / "products.csv")}
    sample_words |= {r["match"] for r in csv_rows(SAMPLE / "allocation_tag_rules.csv")}
    sample_words |= {r["pool_id"] for r in csv_rows(SAMPLE / "allocation_pools.csv")}
    generic = {r["match"] for r in csv_rows(DEFAULTS / "allocation_tag_rules.csv")}
    generic |= {r["pool_id"] for r in csv_rows(DEFAULTS / "allocation_pools.csv")}
    generic |= {"tax", "credits", "support", "unused_commitment"}
    for word in sorted(sample_words - generic):
        assert not re.search(rf"\b{re.escape(word)}\b", text), word


def test_the_defaults_read_the_common_tag_keys_and_pool_the_common_charges() -> None:
    rules = csv_rows(DEFAULTS / "allocation_tag_rules.csv")
    by_dimension: dict[str, list[str]] = {}
    for rule in rules:
        if rule["source"] == "tag":
            by_dimension.setdefault(rule["dimension"], []).append(rule["match"])
    assert by_dimension == {
        "product": ["product", "application", "app"],
        "team": ["team"],
        "customer_id": ["customer", "tenant"],
        "environment": ["environment", "env"],
        "feature_id": ["feature"],
    }
    # alternatives for one dimension never tie: a lower priority number wins
    for dimension in by_dimension:
        priorities = [r["priority"] for r in rules if r["dimension"] == dimension]
        assert len(priorities) == len(set(priorities)), dimension
    pools = {
        (p["match_source"], p["match_value"]): p
        for p in csv_rows(DEFAULTS / "allocation_pools.csv")
    }
    assert pools[("unused_commitment", "true")]["method"] == "residual"
    assert pools[("charge_category", "Tax")]["method"] == "cost_proportional"
    assert pools[("charge_category", "Credit")]["method"] == "cost_proportional"
    for plan in ("AWSSupportBusiness", "AWSSupportEnterprise", "AWSDeveloperSupport"):
        assert pools[("service_code", plan)]["method"] == "cost_proportional", plan


def test_the_demo_builds_the_sample_company_with_its_own_rules(tmp_path: Path) -> None:
    """Whatever the environment says, the demo is the sample company with its example rules."""
    env = {k: v for k, v in os.environ.items() if k != RULES_ENV}
    done = subprocess.run(
        [sys.executable, "-m", "ingest", "demo", "--db", str(tmp_path / "w.duckdb")]
        + ["--sample-dir", str(tmp_path / "sample"), "--cur-lines", "3000"],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert f"rules: {SAMPLE_RULES}/ " in done.stdout
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    try:
        products = {p for (p,) in con.execute("select product from seeds.products").fetchall()}
        built = con.execute(
            "select distinct product from marts.fct_product_economics_monthly order by 1"
        ).fetchall()
    finally:
        con.close()
    assert products == {r["product"] for r in csv_rows(SAMPLE / "products.csv")}
    assert [p for (p,) in built] == sorted(products)
