"""Sample OpenTelemetry spans for the bundled SaaS company, as the collector's file exporter
writes them: JSON Lines, one OTLP ``ExportTraceServiceRequest`` per service and hour.

Four services, one per product (``replay-api``, ``analytics-api``, ``flags-api``,
``ai-gateway``), with the features of the default ``feature_cost_model`` in dbt_project.yml,
the sample's customers as ``tenant.id``, ``db.query`` events, and the cases the model must
handle: a feature whose flag is off in the taxonomy (``insight_chat``), spans whose own
``feature_flag.enabled`` is false (a tenth of ``dashboards``), a feature id the taxonomy does not
know (``legacy_export``) and a GPU service (``ai-gateway``'s resource says ``gpu.used``).

Span volume is constant per day, like the sample bill's compute, so the default rate cards
(tuned once against the sample) calibrate within a few percent. Generated in DuckDB SQL: the
same ``(seed, months)`` always gives the same file.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

from ingest.sample.company import CUSTOMERS

# service → (product, spans per hour, (feature, weight, min s, max s, max db.query events)...)
SERVICES: dict[str, tuple[str, int, tuple[tuple[str, float, int, int, int], ...]]] = {
    "replay-api": (
        "replay",
        4,
        (("session_ingest", 0.7, 20, 180, 4), ("session_playback", 0.3, 5, 60, 8)),
    ),
    "analytics-api": (
        "analytics",
        4,
        (
            ("funnels", 0.5, 10, 240, 12),
            ("dashboards", 0.45, 5, 120, 6),
            ("legacy_export", 0.05, 30, 300, 2),
        ),
    ),
    "flags-api": ("flags", 4, (("flag_evaluation", 1.0, 1, 30, 1),)),
    "ai-gateway": (
        "ai_assistant",
        2,
        (
            ("session_summary", 0.5, 2, 40, 2),
            ("sql_assistant", 0.35, 2, 30, 3),
            ("insight_chat", 0.15, 2, 30, 1),
        ),
    ),
}
GPU_SERVICES = ("ai-gateway",)

_SQL = """
CREATE TEMP TABLE spans AS
WITH hours AS (
    SELECT s.service, s.product, s.per_hour,
           range AS hour_at
    FROM services AS s,
         range(TIMESTAMP '{start}', TIMESTAMP '{end}', INTERVAL 1 HOUR)
),
slots AS (
    SELECT h.*, i, hash(h.service, h.hour_at, i, {seed}) AS h1
    FROM hours AS h, range(h.per_hour) AS r(i)
),
picked AS (
    SELECT s.*, f.feature, f.min_s, f.max_s, f.max_queries,
           ((s.h1 % 1000003) / 1000003.0) AS u
    FROM slots AS s
    JOIN features AS f
      ON f.service = s.service
     AND ((s.h1 // 7) % 10000) / 10000.0 >= f.cum_from
     AND ((s.h1 // 7) % 10000) / 10000.0 < f.cum_to
),
tenants AS (
    SELECT product, list(customer_id ORDER BY customer_id) AS ids FROM customers GROUP BY product
)
SELECT p.service, p.hour_at,
    lpad(printf('%x', hash(p.service, p.hour_at, p.i, {seed}, 'trace')), 32, '0') AS trace_id,
    lpad(printf('%x', hash(p.service, p.hour_at, p.i, {seed}, 'span')), 16, '0') AS span_id,
    p.feature,
    t.ids[(1 + (p.h1 // 13) % len(t.ids))::BIGINT] AS tenant_id,
    p.hour_at + to_microseconds(((p.h1 // 17) % 3000000000)::BIGINT) AS start_at,
    -- whole milliseconds: the sample's arithmetic stays hand-checkable
    (1000 * p.min_s + floor(p.u * 1000 * (p.max_s - p.min_s)))::BIGINT AS duration_ms,
    ((p.h1 // 19) % (p.max_queries + 1))::INTEGER AS db_queries,
    p.feature = 'dashboards' AND (p.h1 // 23) % 10 = 0 AS flag_off
FROM picked AS p
JOIN tenants AS t ON t.product = p.product
"""

_REQUESTS_SQL = """
COPY (
    SELECT [{{
        'resource': {{'attributes': [
            {{'key': 'service.name', 'value': {{'stringValue': service, 'boolValue': NULL}}}},
            {{'key': 'gpu.used', 'value': {{'stringValue': NULL,
                                            'boolValue': service IN ({gpu})}}}}
        ]}},
        'scopeSpans': [{{
            'scope': {{'name': 'cost-to-serve-sample', 'version': '1.0.0'}},
            'spans': list({{
                'traceId': trace_id, 'spanId': span_id, 'parentSpanId': '',
                'name': feature, 'kind': 2,
                'startTimeUnixNano': CAST(epoch_ns(start_at) AS VARCHAR),
                'endTimeUnixNano':
                    CAST(epoch_ns(start_at) + duration_ms * 1000000 AS VARCHAR),
                'attributes': list_concat(
                    [{{'key': 'feature.id', 'value': {{'stringValue': feature, 'boolValue': NULL}}}},
                     {{'key': 'tenant.id', 'value': {{'stringValue': tenant_id, 'boolValue': NULL}}}}],
                    CASE WHEN flag_off THEN [{{'key': 'feature_flag.enabled',
                        'value': {{'stringValue': NULL, 'boolValue': false}}}}] ELSE [] END),
                'events': list_transform(range(db_queries), lambda q: {{
                    'timeUnixNano': CAST(epoch_ns(start_at) + (q + 1) * 1000000 AS VARCHAR),
                    'name': 'db.query'}}),
                'status': {{'code': 1}}
            }} ORDER BY start_at, span_id)
        }}]
    }}] AS resourceSpans
    FROM spans
    GROUP BY service, hour_at
    ORDER BY hour_at, service
) TO '{path}' (FORMAT json)
"""


def write(out_dir: Path, *, start_month: str = "2026-08", months: int = 3, seed: int = 42) -> Path:
    """Write ``out_dir/otel/spans.jsonl`` for the sample's months; return its path."""
    first = date.fromisoformat(f"{start_month}-01")
    year, month = divmod(first.month - 1 + months, 12)
    end = date(first.year + year, month + 1, 1)
    path = Path(out_dir) / "otel" / "spans.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(
            "CREATE TEMP TABLE services (service VARCHAR, product VARCHAR, per_hour INTEGER)"
        )
        con.executemany(
            "INSERT INTO services VALUES (?, ?, ?)",
            [(s, product, n) for s, (product, n, _) in SERVICES.items()],
        )
        con.execute(
            "CREATE TEMP TABLE features (service VARCHAR, feature VARCHAR, cum_from DOUBLE, "
            "cum_to DOUBLE, min_s INTEGER, max_s INTEGER, max_queries INTEGER)"
        )
        rows = []
        for service, (_, _, features) in SERVICES.items():
            cum = 0.0
            for n, (feature, weight, lo, hi, queries) in enumerate(features, 1):
                # the last feature takes whatever float rounding left above its cum_from
                upper = 2.0 if n == len(features) else cum + weight
                rows.append((service, feature, cum, upper, lo, hi, queries))
                cum += weight
        con.executemany("INSERT INTO features VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        con.execute("CREATE TEMP TABLE customers (customer_id VARCHAR, product VARCHAR)")
        con.executemany(
            "INSERT INTO customers VALUES (?, ?)",
            [(c[0], p) for c in CUSTOMERS for p in c[5].split()],
        )
        con.execute(_SQL.format(start=first, end=end, seed=int(seed)))
        gpu = ", ".join(f"'{s}'" for s in GPU_SERVICES)
        con.execute(_REQUESTS_SQL.format(gpu=gpu, path=str(path).replace("'", "''")))
    finally:
        con.close()
    return path
