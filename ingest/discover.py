"""``python -m ingest discover``: what a freshly loaded bill carries, and starter rules for it.

Run it right after loading a bill, before writing any rule: it prints (and writes as Markdown
and one CSV per table into ``--out``, default ``discover/`` beside the warehouse)

- ``tag_keys``: every tag key, normalised the way the rules see it (lower case, the
  ``user:`` / ``user_`` prefix dropped, other characters folded to ``_``), with the share of
  effective cost per billing currency whose lines carry it;
- ``tag_values``: the values of the candidate keys (product / app / service / workload / team /
  owner / customer / tenant / environment / feature / project / cost center ..., plus the keys
  with the highest coverage), top ``--top`` per key and currency, with their cost;
- ``untagged``, ``untagged_by_service`` / ``_by_account`` / ``_by_resource``: the cost no
  product tag reaches: lines carrying none of the keys a product tag rule reads (those of
  seeds/rules/allocation_tag_rules.csv plus the product key suggested here), so the cost that stays
  ``untagged`` once the starter rule is in (unused Savings Plan / RI commitment, which no tag
  can reach, is left out: the build reports it as ``unused_commitment``);
- ``accounts``: the accounts with cost, and their untagged cost;
- ``products.csv`` and ``allocation_tag_rules.csv``: starters with the headers of seeds/rules/, one
  product per value of the best product-like key and one ``<dimension>_from_tag`` rule per
  dimension found, for the user to edit and merge into seeds/rules/ (or the folder COST_MODEL_RULES names).

Money is rounded to the cent and always per billing currency (currencies are never added).

Where the lines come from: ``marts.fct_cost_line_items``, the unified cost line table the
allocation itself reads, so discover shows exactly the tags (normalised in
``int_cost__tag_sets``), accounts and effective (amortized) cost the rules will later see.
Re-deriving those from the raw tables here would duplicate the staging, amortization and tag
normalisation of six sources and could drift from them. When the table is missing, or the raw
tables hold a load it does not, discover first builds just it and its parents
(``dbt build --select +fct_cost_line_items``, seeds and models, no tests: about 15 s on the
AWS workshop CUR); the full ``dbt build`` later finds it up to date. DuckDB does all the work.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import duckdb

from ingest.demo import run_dbt
from ingest.load.db import database_path
from ingest.project import PROJECT_DIR, rules_folder
from ingest.publish import reader_path

LINE_TABLE = "marts.fct_cost_line_items"
# raw tables whose rows become cost lines (see macros/cost_staging_models.sql)
COST_RAW_TABLES = (
    "aws_cur_line_items",
    "focus_line_items",
    "azure_cost_details",
    "oci_cost_reports",
    "gcp_billing_export",
    "ai_requests",
    "aws_cost_explorer",
)
# (dimension, rule id, normalised key pattern); earlier patterns win a tie in coverage
DIMENSIONS = (
    ("product", "product_from_tag", r"(product|app|application|service|workload|project)(_name|_id)?"),
    ("team", "team_from_tag", r"(team|owner|owner_team|squad|department|dept|cost_center|business_unit)(_name|_id)?"),
    ("customer_id", "customer_from_tag", r"(customer|tenant|client)(_name|_id)?"),
    ("environment", "environment_from_tag", r"(environment|env|stage)(_name)?"),
    ("feature_id", "feature_from_tag", r"(feature)(_name|_id)?"),
)  # fmt: skip
TOP_COVERAGE_KEYS = 5
STARTER_UNIT_METRIC = ("requests", "request")
PRODUCTS_HEADER = (
    "product",
    "display_name",
    "owner_team",
    "unit_metric",
    "unit_name",
    "request_metric",
    "description",
)
RULES_HEADER = (
    "rule_id",
    "priority",
    "dimension",
    "source",
    "match",
    "output_value",
    "description",
)
LOAD_HINT = (
    "load a bill first: python -m ingest cur PATH --db {db} "
    "(or focus / azure / oci / cost-explorer-file for other bills)"
)


class DiscoverError(Exception):
    """Nothing to discover (no warehouse, no bill) or the line table could not be built."""


@dataclass
class Table:
    """One result table: its CSV file name, title, columns and rows."""

    name: str
    title: str
    columns: list[str]
    rows: list[tuple[object, ...]]


@dataclass
class Discovery:
    """Everything discover found, in print order."""

    warehouse: Path
    out: Path
    built: bool
    product_keys: list[str]
    tables: list[Table] = field(default_factory=list)

    def table(self, name: str) -> Table:
        return next(t for t in self.tables if t.name == name)


def run(
    db_arg: str | None, out: Path | None, top: int, *, as_json: bool = False, build: bool = True
) -> int:
    """The CLI entry: discover, write the files, print; exit code 0."""
    found = discover(database_path(db_arg), out, top, build=build)
    print(to_json(found) if as_json else to_text(found))
    return 0


def discover(db: Path, out: Path | None, top: int, *, build: bool = True) -> Discovery:
    """Query the loaded bill (building its line table first when stale); write the files."""
    if not db.exists():
        raise DiscoverError(f"no warehouse at {db}: {LOAD_HINT.format(db=db)}")
    built = False
    source = reader_path(db)  # the published copy when it holds what the warehouse holds
    if _line_table_stale(source):
        if not build:
            raise DiscoverError(f"{LINE_TABLE} is missing or older than the last load in {db}")
        _build_line_table(db)
        built, source = True, db
    con = _read_only(source)
    try:
        rule_keys = _seed_product_keys(con)
        _collect_lines(con)
        found = Discovery(db, out or db.parent / "discover", built, [])
        found.tables = _tag_tables(con, top)
        best = {row[0]: row[1] for row in con.execute("select * from best_keys").fetchall()}
        found.product_keys = sorted({*rule_keys, *([best["product"]] if "product" in best else [])})
        found.tables += _untagged_tables(con, found.product_keys, top)
        found.tables += _starter_tables(con, best.get("product"), best.get("team"))
        write(con, found)
    finally:
        con.close()
    return found


def _read_only(db: Path) -> duckdb.DuckDBPyConnection:
    try:
        return duckdb.connect(str(db), read_only=True)
    except duckdb.IOException as exc:
        raise DiscoverError(
            f"cannot read {db}: {str(exc).splitlines()[0]} (is a load or dbt build running?)"
        ) from exc


def _line_table_stale(db: Path) -> bool:
    """True when the line table is missing or the raw tables hold a load it does not hold."""
    con = _read_only(db)
    try:
        present = {
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'raw'"
            ).fetchall()
        }
        raw = [t for t in COST_RAW_TABLES if t in present]
        loads = " union ".join(f"select distinct _load_id from raw.{t}" for t in raw)
        if not raw or not con.execute(f"select count(*) from ({loads})").fetchone()[0]:
            raise DiscoverError(f"nothing loaded in {db}: {LOAD_HINT.format(db=db)}")
        has_table = con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'marts' and table_name = 'fct_cost_line_items'"
        ).fetchone()[0]
        if not has_table:
            return True
        unseen = con.execute(
            f"select count(*) from ({loads} except select distinct load_id from {LINE_TABLE})"
        ).fetchone()[0]
        return bool(unseen)
    finally:
        con.close()


def _build_line_table(db: Path) -> None:
    print(
        f"building {LINE_TABLE} for the loaded bill "
        "(dbt build --select +fct_cost_line_items, no tests) ...",
        file=sys.stderr,
        flush=True,
    )
    result = run_dbt(
        db,
        "build",
        "--select",
        "+fct_cost_line_items",
        "--exclude-resource-type",
        "test",
        "--exclude-resource-type",
        "unit_test",
        capture=True,
    )
    if result.returncode != 0:
        errors = [line for line in result.stdout.splitlines() if "rror" in line][-5:]
        detail = "\n".join(errors) or result.stderr.strip()[-2000:]
        raise DiscoverError(f"building {LINE_TABLE} failed (dbt build):\n{detail}")


def _seed_product_keys(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The tag keys the product rules of the rule folder's allocation_tag_rules.csv read."""
    seed = PROJECT_DIR / rules_folder() / "allocation_tag_rules.csv"
    if not seed.exists():
        return []
    rows = con.execute(
        """
        select distinct case
            when source = 'tag' then match
            when source like 'tag:%' then substr(source, 5)
            else split_part(match, '=', 1)
        end
        from read_csv(?, all_varchar = true, header = true)
        where dimension = 'product' and (source in ('tag', 'tag_equals') or source like 'tag:%')
        """,
        [str(seed)],
    ).fetchall()
    return [key for (key,) in rows if key]


def _collect_lines(con: duckdb.DuckDBPyConnection) -> None:
    """The lines (temp tables: lines, totals, key_values) every result table is made from."""
    con.execute(
        f"""
        create temp table lines as
        select
            billing_currency as currency,
            coalesce(sub_account_id, billing_account_id) as account,
            service_code as service,
            resource_id,
            effective_cost as cost,
            tags,
            coalesce(is_unused_commitment, false) as is_unused_commitment
        from {LINE_TABLE}
        """
    )
    con.execute(
        """
        create temp table totals as
        select currency, count(*) as lines, sum(cost) as cost from lines group by currency
        """
    )
    con.execute(
        """
        create temp table key_values as
        with entries as (
            select currency, cost, unnest(map_entries(tags)) as entry
            from lines
            where tags is not null
        )
        select
            entry.key as tag_key,
            entry.value as tag_value,
            currency,
            count(*) as lines,
            sum(cost) as cost
        from entries
        group by all
        """
    )


def _fetch(
    con: duckdb.DuckDBPyConnection,
    name: str,
    title: str,
    sql: str,
    params: dict[str, object] | None = None,
) -> Table:
    """Run ``sql`` into temp table ``out_<name>`` and return it as a Table."""
    con.execute(f"create or replace temp table out_{name} as {sql}", params)
    result = con.execute(f"select * from out_{name}")
    columns = [d[0] for d in result.description]
    return Table(name, title, columns, result.fetchall())


def _tag_tables(con: duckdb.DuckDBPyConnection, top: int) -> list[Table]:
    patterns = " union all ".join(
        f"select '{dim}' as dimension, '^{pattern}$' as pattern, {i} as preference"
        for i, (dim, _, pattern) in enumerate(DIMENSIONS)
    )
    con.execute(
        f"""
        create temp table key_coverage as
        with per_currency as (
            select tag_key, currency, sum(lines) as lines, sum(cost) as cost,
                   count(distinct tag_value) as n_values
            from key_values
            group by all
        ),
        patterns as ({patterns}),
        dims as (
            select keys.tag_key, patterns.dimension, patterns.preference
            from (select distinct tag_key from key_values) as keys
            inner join patterns on regexp_full_match(keys.tag_key, patterns.pattern)
            qualify row_number() over (partition by keys.tag_key order by patterns.preference) = 1
        )
        select
            per_currency.tag_key,
            per_currency.currency,
            per_currency.lines,
            per_currency.cost,
            per_currency.n_values,
            totals.cost as total_cost,
            per_currency.cost / nullif(totals.cost, 0) as share,
            max(per_currency.cost / nullif(totals.cost, 0))
                over (partition by per_currency.tag_key) as best_share,
            dims.dimension,
            dims.preference
        from per_currency
        inner join totals on per_currency.currency = totals.currency
        left join dims on per_currency.tag_key = dims.tag_key
        """
    )
    con.execute(
        f"""
        create temp table best_keys as
        select dimension, tag_key from key_coverage
        where dimension is not null and best_share > 0
        qualify row_number() over (
            partition by dimension order by best_share desc, preference, tag_key
        ) = 1;
        create temp table candidate_keys as
        select distinct tag_key from key_coverage where dimension is not null
        union
        select tag_key from (
            select distinct tag_key, best_share from key_coverage
            order by best_share desc nulls last, tag_key limit {TOP_COVERAGE_KEYS}
        )
        """
    )
    keys = _fetch(
        con,
        "tag_keys",
        "Tag keys (normalised) and the share of effective cost whose lines carry them",
        """
        select
            key_coverage.tag_key,
            key_coverage.currency,
            key_coverage.lines,
            round(key_coverage.cost, 2) as cost,
            round(key_coverage.total_cost, 2) as total_cost,
            round(100 * key_coverage.share, 1) as cost_share_pct,
            key_coverage.n_values as distinct_values,
            key_coverage.dimension as looks_like,
            best_keys.dimension is not null as suggested
        from key_coverage
        left join best_keys
            on key_coverage.tag_key = best_keys.tag_key
            and key_coverage.dimension = best_keys.dimension
        order by key_coverage.currency, key_coverage.cost desc, key_coverage.tag_key
        """,
    )
    values = _fetch(
        con,
        "tag_values",
        f"Values of the candidate keys with their cost (top {top} per key and currency)",
        f"""
        select
            key_values.tag_key,
            key_values.tag_value,
            key_values.currency,
            key_values.lines,
            round(key_values.cost, 2) as cost,
            round(100 * key_values.cost / nullif(totals.cost, 0), 1) as cost_share_pct
        from key_values
        inner join candidate_keys on key_values.tag_key = candidate_keys.tag_key
        inner join totals on key_values.currency = totals.currency
        qualify row_number() over (
            partition by key_values.tag_key, key_values.currency
            order by key_values.cost desc, key_values.tag_value
        ) <= {top}
        order by key_values.tag_key, key_values.currency, key_values.cost desc,
                 key_values.tag_value
        """,
    )
    return [keys, values]


def _untagged_tables(
    con: duckdb.DuckDBPyConnection, product_keys: list[str], top: int
) -> list[Table]:
    con.execute(
        """
        create temp table untagged_lines as
        select * from lines
        where
            not is_unused_commitment
            and not coalesce(list_has_any(map_keys(tags), $keys::varchar[]), false)
        """,
        {"keys": product_keys},
    )
    summary = _fetch(
        con,
        "untagged",
        "Untagged cost: lines no product tag reaches (keys: "
        + (", ".join(product_keys) or "none")
        + ")",
        """
        select
            totals.currency,
            count(untagged_lines.currency) as lines,
            round(coalesce(sum(untagged_lines.cost), 0), 2) as untagged_cost,
            round(any_value(totals.cost), 2) as total_cost,
            round(100 * coalesce(sum(untagged_lines.cost), 0) / nullif(any_value(totals.cost), 0), 1)
                as untagged_share_pct
        from totals
        left join untagged_lines on totals.currency = untagged_lines.currency
        group by totals.currency
        order by totals.currency
        """,
    )
    tables = [summary]
    for column, label in (
        ("service", "service"),
        ("account", "account"),
        ("resource_id", "resource"),
    ):
        tables.append(
            _fetch(
                con,
                f"untagged_by_{label}",
                f"Top untagged cost by {label} (top {top} per currency)",
                f"""
                with grouped as (
                    select
                        currency,
                        coalesce({column}, '(none)') as {column},
                        count(*) as lines,
                        sum(cost) as cost
                    from untagged_lines
                    group by 1, 2
                )
                select
                    grouped.currency,
                    grouped.{column},
                    grouped.lines,
                    round(grouped.cost, 2) as untagged_cost,
                    round(100 * grouped.cost / nullif(totals.cost, 0), 1) as share_of_total_pct
                from grouped
                inner join totals on grouped.currency = totals.currency
                qualify row_number() over (
                    partition by grouped.currency order by grouped.cost desc, grouped.{column}
                ) <= {top}
                order by grouped.currency, grouped.cost desc, grouped.{column}
                """,
            )
        )
    tables.append(
        _fetch(
            con,
            "accounts",
            "Accounts with cost",
            """
            with untagged as (
                select currency, account, sum(cost) as cost from untagged_lines group by all
            )
            select
                lines.currency,
                coalesce(lines.account, '(none)') as account,
                count(*) as lines,
                round(sum(lines.cost), 2) as cost,
                round(coalesce(any_value(untagged.cost), 0), 2) as untagged_cost
            from lines
            left join untagged
                on lines.currency = untagged.currency
                and lines.account is not distinct from untagged.account
            group by all
            having sum(lines.cost) <> 0
            order by lines.currency, cost desc, account
            """,
        )
    )
    return tables


def _starter_tables(
    con: duckdb.DuckDBPyConnection, product_key: str | None, team_key: str | None
) -> list[Table]:
    unit_metric, unit_name = STARTER_UNIT_METRIC
    team_value = f"nullif(map_extract_value(tags, '{team_key}'), '')" if team_key else "null"
    products = _fetch(
        con,
        "products",
        f"Starter {rules_folder()}/products.csv (one product per value of the product key; "
        "edit it)",
        f"""
        with product_lines as (
            select map_extract_value(tags, $key) as product, currency, cost, {team_value} as team
            from lines
            where map_extract_value(tags, $key) is not null
        ),
        per_currency as (
            select product, currency, sum(cost) as cost from product_lines group by all
        ),
        teams as (
            select product, arg_max(team, abs_cost) as owner_team
            from (
                select product, team, sum(abs(cost)) as abs_cost
                from product_lines where team is not null group by all
            )
            group by product
        )
        select
            per_currency.product,
            per_currency.product as display_name,
            any_value(teams.owner_team) as owner_team,
            '{unit_metric}' as unit_metric,
            '{unit_name}' as unit_name,
            cast(null as varchar) as request_metric,
            'tag ' || $key || '=' || per_currency.product || ': '
            || string_agg(per_currency.currency || ' ' || round(per_currency.cost, 2), ' / '
                          order by per_currency.currency)
            || ' effective cost; set the unit metric to its usage metric' as description
        from per_currency
        left join teams on per_currency.product = teams.product
        group by per_currency.product
        order by per_currency.product
        """,
        {"key": product_key or ""},
    )
    order = " ".join(f"when '{dim}' then {i}" for i, (dim, _, _) in enumerate(DIMENSIONS))
    rule_ids = " ".join(f"when '{dim}' then '{rule}'" for dim, rule, _ in DIMENSIONS)
    rules = _fetch(
        con,
        "allocation_tag_rules",
        f"Starter {rules_folder()}/allocation_tag_rules.csv rows (merge them: same rule_id "
        "replaces)",
        f"""
        with coverage as (
            select tag_key, string_agg(
                round(100 * share, 1) || ' % of ' || currency, ' / ' order by currency
            ) as shares, max(n_values) as n_values
            from key_coverage group by tag_key
        )
        select
            case best_keys.dimension {rule_ids} end as rule_id,
            10 as priority,
            best_keys.dimension,
            'tag' as source,
            best_keys.tag_key as match,
            cast(null as varchar) as output_value,
            'The ' || best_keys.dimension || ' is the value of tag ' || best_keys.tag_key
            || ' (on ' || coverage.shares || ' effective cost; ' || coverage.n_values
            || ' values)' as description
        from best_keys
        inner join coverage on best_keys.tag_key = coverage.tag_key
        order by case best_keys.dimension {order} end
        """,
    )
    return [products, rules]


def write(con: duckdb.DuckDBPyConnection, found: Discovery) -> None:
    """One CSV per table (the starters with the seeds' headers) and ``discover.md`` in ``out``."""
    found.out.mkdir(parents=True, exist_ok=True)
    for table in found.tables:
        path = str(found.out / f"{table.name}.csv").replace("'", "''")
        con.execute(f"copy out_{table.name} to '{path}' (header, delimiter ',')")
    (found.out / "discover.md").write_text(to_markdown(found))


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal) and value.as_tuple().exponent == -2:
        return f"{value:,.2f}"
    return str(value)


def to_markdown(found: Discovery) -> str:
    parts = [
        "# What the loaded bill carries",
        "",
        f"Warehouse `{found.warehouse}`. Money is effective (amortized) cost per billing "
        "currency, to the cent; currencies are never added. Tag keys are normalised as the "
        "rules see them.",
        "",
        "Next: edit `products.csv` and `allocation_tag_rules.csv` here, merge them into "
        f"`{rules_folder()}/` (a rule with the same rule_id replaces the shipped one), then "
        "`dbt build` "
        "and `python -m ingest report`.",
    ]
    for table in found.tables:
        parts += ["", f"## {table.title}", "", f"File: `{table.name}.csv`", ""]
        if not table.rows:
            parts.append("(none)")
            continue
        parts.append("| " + " | ".join(table.columns) + " |")
        parts.append("|" + "|".join("---" for _ in table.columns) + "|")
        parts += [
            "| " + " | ".join(_cell(v).replace("|", "\\|") for v in row) + " |"
            for row in table.rows
        ]
    return "\n".join(parts) + "\n"


def to_text(found: Discovery) -> str:
    """The tables as aligned text, then where the files went."""
    parts: list[str] = []
    for table in found.tables:
        parts += ["", table.title]
        if not table.rows:
            parts.append("  (none)")
            continue
        cells = [table.columns, *([_cell(v) for v in row] for row in table.rows)]
        widths = [max(len(row[i]) for row in cells) for i in range(len(table.columns))]
        parts += [
            "  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
            for row in cells
        ]
    if not found.product_keys:
        parts += [
            "",
            "No product-like tag key on this bill: tag resources with product (or app, "
            "service, workload), or write account / service rules in "
            f"{rules_folder()}/.",
        ]
    parts += ["", f"written: {found.out}/discover.md and one CSV per table"]
    return "\n".join(parts).lstrip("\n")


def to_json(found: Discovery) -> str:
    return json.dumps(
        {
            "warehouse": str(found.warehouse),
            "out": str(found.out),
            "built_line_table": found.built,
            "product_keys": found.product_keys,
            "tables": {
                t.name: [dict(zip(t.columns, row, strict=True)) for row in t.rows]
                for t in found.tables
            },
        },
        indent=2,
        default=_json_default,
    )


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return float(value)
    return str(value)
