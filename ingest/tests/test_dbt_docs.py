"""``dbt docs generate`` works on the built sample and documents the marts end to end.

The catalog must list the marts with their columns, every mart column must carry a
description, and the manifest's lineage must lead from each mart back to the raw sources.
dbt runs as a child process with its own target directory (``DBT_TARGET_PATH``), so it never
writes into the shared ``target/``.
"""

from __future__ import annotations

import json
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ingest.demo import run_dbt

MARTS = [
    "model.cost_to_serve.fct_product_economics_monthly",
    "model.cost_to_serve.fct_customer_economics_monthly",
    "model.cost_to_serve.fct_cost_allocation",
]


@dataclass(frozen=True)
class Docs:
    returncode: int
    output: str
    seconds: float
    target: Path

    def artifact(self, name: str) -> dict[str, Any]:
        return json.loads((self.target / name).read_text())


@pytest.fixture(scope="module")
def docs(built_sample: Path, tmp_path_factory: pytest.TempPathFactory) -> Docs:
    target = tmp_path_factory.mktemp("dbt_docs") / "target"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DBT_TARGET_PATH", str(target))
        env.setenv("DBT_LOG_PATH", str(target.parent / "logs"))
        started = time.monotonic()
        result = run_dbt(built_sample, "docs", "generate", capture=True)
    return Docs(
        result.returncode, result.stdout + result.stderr, time.monotonic() - started, target
    )


@pytest.fixture(scope="module")
def manifest(docs: Docs) -> dict[str, Any]:
    return docs.artifact("manifest.json")


def test_docs_generate_succeeds(docs: Docs) -> None:
    assert docs.returncode == 0, docs.output
    for name in ("manifest.json", "catalog.json", "index.html"):
        assert (docs.target / name).is_file(), name
    print(f"\ndbt docs generate: {docs.seconds:.1f} s")


@pytest.mark.parametrize("node_id", MARTS)
def test_catalog_has_the_mart_and_its_columns(
    docs: Docs, manifest: dict[str, Any], node_id: str
) -> None:
    """The warehouse table exists in the marts schema with exactly the documented columns."""
    catalog = docs.artifact("catalog.json")
    assert node_id in catalog["nodes"], f"{node_id} missing from catalog.json"
    table = catalog["nodes"][node_id]
    assert table["metadata"]["schema"] == "marts"
    assert table["metadata"]["type"].lower() == "base table"
    in_warehouse = {name.lower() for name in table["columns"]}
    documented = {name.lower() for name in manifest["nodes"][node_id]["columns"]}
    assert documented, f"{node_id} declares no columns"
    assert in_warehouse == documented


@pytest.mark.parametrize("node_id", MARTS)
def test_lineage_reaches_raw_sources(manifest: dict[str, Any], node_id: str) -> None:
    """Walking parent_map up from the mart reaches `source.cost_to_serve.raw.*` nodes."""
    parents = manifest["parent_map"]
    seen, queue = {node_id}, deque([node_id])
    while queue:
        for parent in parents.get(queue.popleft(), []):
            if parent not in seen:
                seen.add(parent)
                queue.append(parent)
    sources = {n for n in seen if n.startswith("source.cost_to_serve.raw.")}
    assert sources, f"no raw source upstream of {node_id}: lineage is broken"
    # Every product cost starts at a bill: the CUR (the bundled sample's only bill) is upstream.
    assert "source.cost_to_serve.raw.aws_cur_line_items" in sources
    # Staging is the only layer that reads sources.
    for source in sources:
        for child in manifest["child_map"][source]:
            if child.startswith("model."):
                path = manifest["nodes"][child]["original_file_path"]
                assert path.startswith("models/staging/"), f"{child} reads {source}"


def test_every_mart_column_has_a_description(manifest: dict[str, Any]) -> None:
    marts = [
        node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and node["original_file_path"].startswith("models/marts/")
    ]
    assert {m["unique_id"] for m in marts} >= set(MARTS)
    missing = [
        f"{node['name']}.{column['name']}"
        for node in marts
        for column in node["columns"].values()
        if not column.get("description", "").strip()
    ]
    assert not missing, f"mart columns without a description: {missing}"
    undescribed = [m["name"] for m in marts if not m["description"].strip()]
    assert not undescribed, f"marts without a description: {undescribed}"
