"""Feature cost from OpenTelemetry spans: the OTLP/JSON loader, the rate-card arithmetic on
hand-computed spans, and the calibration against the bundled sample's bill.

The dbt side is built once per module on a copy of the session's built sample (only the
feature cost models), with the default config plus one hand-checkable rate card; a second
build with a deliberately wrong rate card, a third with two services claiming the same cost,
and two `dbt parse` runs with broken configs prove the failure paths.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from ingest import otel_spans
from ingest.cli import main
from ingest.demo import PROJECT_DIR, run_dbt
from ingest.load.db import connect
from ingest.load.spec import Guards, LoadError
from ingest.sample import otel as otel_sample
from ingest.tests.conftest import dbt_target, snapshot

MS = 1_000_000  # nanoseconds
T0 = 1_790_000_000_000_000_000  # 2026-09-21 14:13:20 UTC, in nanoseconds
OCT = 1_791_000_000_000_000_000  # 2026-10-03 04:00:00 UTC

SELECT = (
    "--select",
    "stg_otel__spans+",
    "int_feature_cost__service_allocations+",
    "--indirect-selection",
    "cautious",
)


# --------------------------------------------------------------------------- OTLP writers


def _value(v: Any) -> dict[str, Any]:
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}  # proto3 JSON: int64 as a string
    if isinstance(v, float):
        return {"doubleValue": v}
    return {"stringValue": v}


def _attrs(d: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": k, "value": _value(v)} for k, v in d.items()]


def span(
    span_id: str,
    start: int,
    ms: float,
    *,
    trace_id: str = "5b8efff798038103d269b633813fc60c",
    queries: int = 0,
    **attributes: Any,
) -> dict[str, Any]:
    """One OTLP span; in keyword attributes the last '_' is a '.' (feature_flag_enabled)."""
    return {
        "traceId": trace_id,
        "spanId": span_id,
        "parentSpanId": "",
        "name": "GET /api",
        "kind": 2,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(start + int(ms * MS)),
        "attributes": _attrs({".".join(k.rsplit("_", 1)): v for k, v in attributes.items()}),
        "events": [
            {"timeUnixNano": str(start + i), "name": "db.query", "attributes": []}
            for i in range(queries)
        ]
        + [{"timeUnixNano": str(start), "name": "exception", "attributes": []}],
        "status": {"code": 1},
    }


def request(service: str | None, spans: list[dict[str, Any]], **resource: Any) -> dict:
    attrs = ({"service.name": service} if service else {}) | {
        ".".join(k.rsplit("_", 1)): v for k, v in resource.items()
    }
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": _attrs(attrs)},
                "scopeSpans": [{"scope": {"name": "test", "version": "1"}, "spans": spans}],
            }
        ]
    }


def write_json(path: Path, doc: dict) -> Path:
    path.write_text(json.dumps(doc, indent=2))  # OTLP/HTTP body, pretty-printed
    return path


def write_jsonl(path: Path, docs: list[dict]) -> Path:
    path.write_text("".join(json.dumps(d) + "\n" for d in docs))  # collector file exporter
    return path


# --------------------------------------------------------------------------- the loader


def test_document_and_json_lines_land_one_row_per_span(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    write_json(
        folder / "a.json",
        request(
            "replay-api",
            [
                span("00f067aa0ba902b7", T0, 120, queries=3, feature_id="f1", tenant_id="t1"),
                span("00f067aa0ba902b8", T0, 0.5, feature_flag_enabled=False),
            ],
            tenant_id="t-resource",
            feature_id="f-resource",
            host_cpus=4,
        ),
    )
    write_jsonl(
        folder / "b.jsonl",
        [
            request("flags-api", [span("0000000000000001", T0, 2)], gpu_used=True),
            {"resourceSpans": []},  # an empty request is legal
            request("flags-api", [span("0000000000000002", T0, 3, gpu_used=False)]),
        ],
    )
    con = connect(tmp_path / "w.duckdb")
    try:
        result = otel_spans.load(con, folder)
        assert (result.rows, result.files) == (4, 2)
        rows = con.execute(
            """select span_id, service_name, feature_id, tenant_id, duration_ns, db_query_count,
                      feature_flag_enabled, uses_gpu, _source_row, span_path,
                      resource_attributes['host.cpus'], start_at
               from raw.otel_spans order by span_id"""
        ).fetchall()
    finally:
        con.close()
    start = dt.datetime(2026, 9, 21, 14, 13, 20)
    assert rows == [
        ("0000000000000001", "flags-api", None, None, 2 * MS, 0, None, True, 1,
         "resourceSpans[0].scopeSpans[0].spans[0]", None, start),
        # line 3 of the JSON Lines file; the span's own gpu.used beats the resource's
        ("0000000000000002", "flags-api", None, None, 3 * MS, 0, None, False, 3,
         "resourceSpans[0].scopeSpans[0].spans[0]", None, start),
        # span attributes first, resource attributes as the fallback; intValue "4" as text
        ("00f067aa0ba902b7", "replay-api", "f1", "t1", 120 * MS, 3, None, None, 1,
         "resourceSpans[0].scopeSpans[0].spans[0]", "4", start),
        ("00f067aa0ba902b8", "replay-api", "f-resource", "t-resource", MS // 2, 0, False, None,
         1, "resourceSpans[0].scopeSpans[0].spans[1]", "4", start),
    ]  # fmt: skip


def test_reload_is_a_no_op_and_a_new_delivery_replaces_its_service_days(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "spans.jsonl",
        [request("svc", [span(f"{i:016x}", T0 + i, 10) for i in range(5)])],
    )
    other_day = write_jsonl(
        tmp_path / "other.jsonl", [request("svc", [span("00000000000000ff", OCT, 10)])]
    )
    con = connect(tmp_path / "w.duckdb")
    try:
        otel_spans.load(con, path)
        otel_spans.load(con, other_day)
        assert otel_spans.load(con, path).skipped
        # the exporter re-delivers 2026-09-21 with two spans: that day is replaced, October stays
        path.write_text(
            json.dumps(request("svc", [span(f"{i:016x}", T0 + i, 10) for i in range(2)])) + "\n"
        )
        # two spans where the day had five: refused unless the user says the day really shrank
        with pytest.raises(LoadError, match=r"2026-09-21 .*has 2 rows .* has 5"):
            otel_spans.load(con, path)
        result = otel_spans.load(con, path, guards=Guards(allow_shrink=True))
        assert [(p.billing_account_id, p.action, p.rows) for p in result.partitions] == [
            ("svc", "replaced", 2)
        ]
        counts = con.execute(
            "select _billing_period, count(*) from raw.otel_spans group by all order by all"
        ).fetchall()
    finally:
        con.close()
    assert [c[1] for c in counts] == [2, 1]


GOOD = request("svc", [span("0000000000000001", T0, 10)])


def _bad_span(**override: Any) -> str:
    s = span("0000000000000002", T0, 10)
    s.update(override)
    return json.dumps(request("svc", [span("0000000000000001", T0, 1), s])) + "\n"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            _bad_span(endTimeUnixNano=str(T0 - 1)),
            r"bad\.jsonl: request 1, resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[1\], "
            r"endTimeUnixNano: before startTimeUnixNano",
        ),
        (
            _bad_span(spanId=""),
            r"bad\.jsonl: request 1, resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[1\], "
            r"spanId: missing",
        ),
        (
            _bad_span(startTimeUnixNano="2026-09-21T14:13:20Z"),
            r"spans\[1\], startTimeUnixNano: not a positive whole number of nanoseconds "
            r"\('2026-09-21T14:13:20Z'\)",
        ),
        (
            json.dumps(GOOD) + "\n" + json.dumps(request(None, [span("03", T0, 1)])) + "\n",
            r"bad\.jsonl: request 2, .*resource attribute 'service\.name': missing",
        ),
        (
            _bad_span(attributes=_attrs({"feature_flag.enabled": "maybe"})),
            r"spans\[1\], attribute 'feature_flag\.enabled': not true or false \('maybe'\)",
        ),
        (json.dumps(GOOD)[:-5] + "\n", r"bad\.jsonl: not readable as OTLP/JSON: Malformed JSON"),
        ('{"resourceSpans": []}\n', r"bad\.jsonl: no spans found"),
    ],
    ids=["end-before-start", "no-span-id", "iso-nanos", "no-service", "flag-text", "broken",
         "empty"],
)  # fmt: skip
def test_bad_export_names_file_request_span_and_field_and_changes_nothing(
    tmp_path: Path, content: str, message: str
) -> None:
    con = connect(tmp_path / "w.duckdb")
    try:
        otel_spans.load(con, write_jsonl(tmp_path / "good.jsonl", [GOOD]))
        before = snapshot(con)
        bad = tmp_path / "bad.jsonl"
        bad.write_text(content)
        with pytest.raises(LoadError, match=message):
            otel_spans.load(con, bad)
        assert snapshot(con) == before
    finally:
        con.close()


def test_cli_loads_and_fails_with_exit_codes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write_json(tmp_path / "good.json", GOOD)
    db = str(tmp_path / "w.duckdb")
    assert main(["otel-spans", str(good), "--db", db, "--quiet"]) == 0
    assert "otel_spans: loaded 1 rows" in capsys.readouterr().out
    (tmp_path / "bills.csv").write_text("a,b\n1,2\n")
    assert main(["otel-spans", str(tmp_path / "bills.csv"), "--db", db]) == 1
    assert "not an OTLP/JSON file" in capsys.readouterr().err


# --------------------------------------------------------------------------- the cost model


def default_config() -> dict[str, Any]:
    project = yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text())
    return json.loads(json.dumps(project["vars"]["feature_cost_model"]))


def with_hand_card(config: dict[str, Any]) -> dict[str, Any]:
    """The default config plus the issue's hand-checkable rate card on two test features."""
    config["rate_cards"]["hand"] = {
        "cpu_per_ms": "0.00001",
        "memory_per_ms": "0.000002",
        "db_query_base": "0.0001",
        "gpu_per_ms": "0.00005",
        "currency": "USD",
    }
    config["feature_taxonomy"]["hand_on"] = {"taxonomy": "hand", "product": "x", "enabled": True}
    config["feature_taxonomy"]["hand_off"] = {"taxonomy": "hand", "product": "x", "enabled": False}
    return config


def vars_arg(config: dict[str, Any]) -> tuple[str, str]:
    return "--vars", json.dumps({"feature_cost_model": config})


# 2026-10-03, service hand-svc (no shared resource: estimated, never calibrated)
HAND_SPANS = [
    span("0000000000000a01", OCT, 120, queries=3, feature_id="hand_on", tenant_id="cust_001"),
    span("0000000000000a02", OCT, 250, feature_id="hand_on", tenant_id="cust_001", gpu_used=True),
    span("0000000000000a03", OCT, 120, queries=3, feature_id="hand_off", tenant_id="cust_001"),
    span("0000000000000a04", OCT, 120, queries=3, feature_id="hand_on", tenant_id="cust_002",
         feature_flag_enabled=False),
    span("0000000000000a05", OCT, 1000, feature_id="mystery", tenant_id="cust_002"),
]  # fmt: skip


@pytest.fixture(scope="module")
def calibrated(built_sample: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("otel")
    db = root / "warehouse.duckdb"
    shutil.copy(built_sample, db)
    otel_sample.write(root)
    write_jsonl(root / "otel" / "hand.jsonl", [request("hand-svc", HAND_SPANS)])
    con = connect(db)
    try:
        result = otel_spans.load(con, root / "otel")
        assert result.rows == 30_912 + len(HAND_SPANS)
    finally:
        con.close()
    build = run_dbt(db, "build", *SELECT, *vars_arg(with_hand_card(default_config())), capture=True)
    assert build.returncode == 0, build.stdout[-3000:]
    return db


def _rows(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_span_estimates_on_hand_computed_figures(calibrated: Path) -> None:
    rows = _rows(
        calibrated,
        """select span_id, feature_id, taxonomy, full_rate_cost, estimated_cost, uncharged_reason
           from intermediate.int_feature_cost__span_estimates
           where service_name = 'hand-svc' order by span_id""",
    )
    assert rows == [
        # 120 ms × (0.00001 + 0.000002) + 3 × 0.0001 = 0.00144 + 0.0003
        ("0000000000000a01", "hand_on", "hand", Decimal("0.00174"), Decimal("0.00174"), None),
        # on a GPU: 250 ms × (0.00001 + 0.000002 + 0.00005)
        ("0000000000000a02", "hand_on", "hand", Decimal("0.0155"), Decimal("0.0155"), None),
        # flag off in the taxonomy / on the span: kept, not charged
        ("0000000000000a03", "hand_off", "hand", Decimal("0.00174"), 0, "feature_flag_off"),
        ("0000000000000a04", "hand_on", "hand", Decimal("0.00174"), 0, "span_flag_off"),
        # unknown feature: the unmapped card, 1000 ms × (0.0000148 + 0.0000044)
        ("0000000000000a05", "unmapped", "unmapped", Decimal("0.0192"), Decimal("0.0192"), None),
    ]
    calibration = _rows(
        calibrated,
        """select span_count, charged_span_count, estimated_cost, allocated_cost,
                  calibration_status
           from marts.fct_feature_cost_calibration_monthly where service_name = 'hand-svc'""",
    )
    assert calibration == [(5, 3, Decimal("0.03644"), 0, "no_shared_resource")]


def test_tuned_rate_cards_are_within_five_percent_of_the_bill(calibrated: Path) -> None:
    rows = _rows(
        calibrated,
        """select service_name, cost_month, estimated_cost, allocated_cost, variance_pct,
                  calibration_status
           from marts.fct_feature_cost_calibration_monthly
           where service_name <> 'hand-svc' order by all""",
    )
    assert len(rows) == 12  # four services × three months
    for service, month, estimated, allocated, variance_pct, status in rows:
        assert allocated > 0, (service, month)
        assert float((estimated - allocated) / allocated) == pytest.approx(variance_pct)
        assert abs(variance_pct) <= 0.05 and status == "within_target", (service, month)


def test_calibrated_cost_equals_allocated_cost_to_the_cent(calibrated: Path) -> None:
    rows = _rows(
        calibrated,
        """with allocated as (
               select cost_month, sum(allocated_effective_cost) as cost
               from marts.fct_cost_allocation
               where product = 'analytics' and component = 'compute' group by all
           )
           select f.cost_month, sum(f.calibrated_cost), max(a.cost)
           from marts.fct_feature_cost_monthly as f
           join allocated as a on a.cost_month = f.cost_month
           where f.service_name = 'analytics-api' group by all order by all""",
    )
    assert len(rows) == 3
    for _month, calibrated_sum, allocated in rows:
        assert calibrated_sum == allocated  # exact decimal equality, sub-cent residue included
    flag_off = _rows(
        calibrated,
        """select sum(span_count), sum(charged_span_count), sum(calibrated_cost)
           from marts.fct_feature_cost_monthly where feature_id = 'insight_chat'""",
    )
    assert flag_off[0][0] > 0 and flag_off[0][1] == 0 and flag_off[0][2] == 0


def test_feature_cost_never_enters_the_cost_model(calibrated: Path, built_sample: Path) -> None:
    sql = "select sum(allocated_effective_cost), count(*) from marts.fct_cost_allocation"
    assert _rows(calibrated, sql) == _rows(built_sample, sql)
    # and by construction: nothing upstream of the allocation reads a span
    manifest = json.loads((dbt_target() / "manifest.json").read_text())
    parents = manifest["parent_map"]
    seen: set[str] = set()
    todo = ["model.cost_to_serve.fct_cost_allocation"]
    while todo:
        node = todo.pop()
        for parent in parents.get(node, []):
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    assert not [n for n in seen if "otel" in n or "feature_cost" in n]
    # every claimed allocation dollar is re-expressed once: Σ mart = Σ claimed rows
    mart = _rows(calibrated, "select sum(calibrated_cost) from marts.fct_feature_cost_monthly")
    claimed = _rows(
        calibrated,
        """select sum(allocated_effective_cost) from marts.fct_cost_allocation
           where product in ('replay', 'analytics', 'flags', 'ai_assistant')
             and component = 'compute'""",
    )
    assert mart == claimed


def test_a_wrong_rate_card_reports_out_of_target_and_still_ties(
    calibrated: Path, tmp_path: Path
) -> None:
    db = tmp_path / "wrong.duckdb"
    shutil.copy(calibrated, db)
    config = default_config()
    config["rate_cards"]["query"]["cpu_per_ms"] = "0.0000444"  # 3× the tuned rate
    build = run_dbt(db, "build", *SELECT, *vars_arg(config), capture=True)
    assert build.returncode == 0, build.stdout[-3000:]  # conservation tests still pass
    rows = _rows(
        db,
        """select service_name, min(variance_pct), bool_or(is_within_target)
           from marts.fct_feature_cost_calibration_monthly group by all order by all""",
    )
    by_service = {r[0]: r[1:] for r in rows}
    assert by_service["analytics-api"][0] > 0.5 and not by_service["analytics-api"][1]
    assert by_service["replay-api"][1]  # the other cards are untouched


def test_two_services_claiming_the_same_cost_fail_the_build(
    calibrated: Path, tmp_path: Path
) -> None:
    db = tmp_path / "twice.duckdb"
    shutil.copy(calibrated, db)
    config = default_config()
    config["shared_resources"]["replay-worker"] = {"product": "replay"}  # every component
    build = run_dbt(
        db,
        "build",
        "--select",
        "int_feature_cost__service_allocations",
        *vars_arg(config),
        capture=True,
    )
    assert build.returncode != 0
    assert "unique_int_feature_cost__service_allocations_allocation_key" in build.stdout


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda c: c["feature_taxonomy"]["funnels"].update(taxonomy="querry"),
            "feature_cost_model.feature_taxonomy.funnels.taxonomy: querry is not a rate card",
        ),
        (
            lambda c: c["rate_cards"]["ingest"].update(cpu_per_ms="-0.00001"),
            "feature_cost_model.rate_cards.ingest.cpu_per_ms: -0.00001 is not a rate",
        ),
    ],
    ids=["unknown-rate-card", "negative-rate"],
)
def test_a_bad_config_stops_dbt_naming_the_key(tmp_path: Path, change: Any, message: str) -> None:
    config = default_config()
    change(config)
    parse = run_dbt(tmp_path / "unused.duckdb", "parse", *vars_arg(config), capture=True)
    assert parse.returncode != 0
    assert message in parse.stdout
