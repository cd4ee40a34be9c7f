"""Fuzzing the loader through its command line: a bad file fails cleanly, a good one loads exactly.

For every input, ``python -m ingest cur FILE --db DB`` (run in-process through
``ingest.cli.main``, against a warehouse that already holds one good load) must do one of two things:

* exit 0, and the rows and Σ cost that landed equal an independent DuckDB read of the same file
  (and, for generated files, the values the generator wrote), no row landed twice, and the
  earlier load is untouched; or
* exit 1 with one stderr line ``error: FILE: ...`` that names the row and column when the
  problem is in one, and every raw table exactly as it was.

Never a traceback, never exit 2 for a file problem, never a partial load.

Part 1 generates legacy-CUR CSVs with hypothesis and breaks them; part 2 is a fixed corpus of
malformed files, each with the outcome it must have. The tests at the end pin the nine bugs
these tests found (all fixed): each failed before its fix.

``FUZZ_PROFILE=ci`` (the default) runs about 300 generated cases, derandomized so a CI failure
reproduces; ``FUZZ_PROFILE=slow`` runs 1,200 fresh random ones.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import itertools
import os
import re
import shutil
import string
import zipfile
from collections.abc import Callable
from contextlib import closing, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from tempfile import TemporaryDirectory

import duckdb
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ingest.cli import main
from ingest.currencies import ISO_4217
from ingest.tests.conftest import snapshot

# max_examples is the budget of a test with a full share (see share()); the property tests
# below add up to four shares: ~300 cases in "ci", 1,200 in "slow".
settings.register_profile(
    "ci",
    max_examples=75,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "slow",
    max_examples=300,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
FUZZ = settings.get_profile(os.environ.get("FUZZ_PROFILE", "ci"))


def share(fraction: float) -> settings:
    """The selected profile with ``fraction`` of its example budget."""
    return settings(FUZZ, max_examples=max(1, round(FUZZ.max_examples * fraction)))


COST = "lineItem/UnblendedCost"
CUR_COLUMNS = (
    "bill/BillingPeriodStartDate",
    "bill/PayerAccountId",
    "lineItem/LineItemType",
    "lineItem/UsageStartDate",
    "lineItem/CurrencyCode",
    COST,
)
REQUIRED = {
    "bill/BillingPeriodStartDate": "bill_billing_period_start_date",
    "bill/PayerAccountId": "bill_payer_account_id",
    "lineItem/LineItemType": "line_item_line_item_type",
    "lineItem/UsageStartDate": "line_item_usage_start_date",
    "lineItem/CurrencyCode": "line_item_currency_code",
    COST: "line_item_unblended_cost",
}
DATES = ("bill/BillingPeriodStartDate", "lineItem/UsageStartDate")
# Text a hostile file carries that must land exactly as written.
VERBATIM = ("bill_payer_account_id", "line_item_line_item_type", "resource_tags")
NULL_STRINGS = ("", "\\N")  # aws_cur.SPEC.null_strings: these tag values mean "no tag"
# The loader picks the delimiter from the header line among these (ingest.load.files._DELIMITERS).
SNIFFED = (",", "\t", "\x01", "|", ";")

GOOD_ACCOUNT = "000000000000"  # the earlier load; generated files never use this account
GOOD_LOAD = (
    ",".join(CUR_COLUMNS) + ",resourceTags/user:product\n"
    f"2026-07-01T00:00:00Z,{GOOD_ACCOUNT},Usage,2026-07-02T00:00:00Z,USD,100.25,good\n"
    f"2026-07-01T00:00:00Z,{GOOD_ACCOUNT},Tax,2026-07-01T00:00:00Z,USD,7.75,\n"
)

HOSTILE = (
    "'); DROP TABLE raw.aws_cur_line_items; --",
    '"; DROP TABLE raw._loads; --',
    "semi;colon",
    "pipe|pipe",
    "back\\slash\\",
    '\\"',
    'quote"inside',
    '"',
    "new\nline",
    "crlf\r\nline",
    "tab\there",
    "  padded  ",
    "unicodé ✓ 中文 \U0001f600 \u202e",
    "\\N",
    "",
    "NULL",
)


# --------------------------------------------------------------------------- running the CLI


@dataclass
class Result:
    code: object
    stdout: str
    stderr: str
    quiet: bool


def cli(*argv: str) -> Result:
    """``main(argv)`` in-process; an uncaught exception propagates and fails the test."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code: object = main(list(argv))
        except SystemExit as exc:  # argparse's usage error: never right for a file problem
            code = exc.code
    return Result(code, out.getvalue(), err.getvalue(), "--quiet" in argv)


def state(db: Path) -> dict[str, tuple[object, ...]]:
    with closing(duckdb.connect(str(db), read_only=True)) as con:
        return snapshot(con)


class Warehouse:
    """A DuckDB file holding one good load, copied afresh for every case.

    Hypothesis runs many examples inside one test call, so pytest's function-scoped fixtures
    would be shared between them; copying a 1 MB template is cheaper than loading again.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.template = root / "template.duckdb"
        good = root / "good" / "good-load.csv"
        good.parent.mkdir(parents=True)
        good.write_text(GOOD_LOAD)
        result = cli("cur", str(good), "--db", str(self.template), "--quiet")
        assert result.code == 0, result.stderr
        with closing(duckdb.connect(str(self.template), read_only=True)) as con:
            self.before = snapshot(con)
            self.good_load = con.execute("select load_id from raw._loads").fetchone()[0]  # type: ignore[index]
            self.good_rows = self._good_rows(con)
        self._cases = itertools.count(1)

    def _good_rows(self, con: duckdb.DuckDBPyConnection) -> tuple[object, ...]:
        return con.execute(
            "select count(*), sum(hash(t)) from raw.aws_cur_line_items as t where _load_id = ?",
            [self.good_load],
        ).fetchone()  # type: ignore[return-value]

    def new_case(self) -> tuple[int, Path, Path]:
        """(case number, an empty folder for its files, a fresh copy of the warehouse)."""
        n = next(self._cases)
        folder = self.root / "case"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        db = self.root / "work.duckdb"
        Path(f"{db}.wal").unlink(missing_ok=True)
        shutil.copyfile(self.template, db)
        return n, folder, db


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    """One template per module: module scope is safe with hypothesis, function scope is not."""
    return Warehouse(tmp_path_factory.mktemp("fuzz"))


def assert_failed_cleanly(
    result: Result, shown: str | None, db: Path, before: object, match: str | None
) -> str:
    """Exit 1, exactly one ``error:`` line (the last), naming the file, database untouched."""
    assert result.code == 1, f"exit {result.code!r}, stderr {result.stderr!r}"
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1 and lines[-1] == errors[0], result.stderr
    if result.quiet:
        assert len(lines) == 1, result.stderr
    line = errors[0]
    if shown is not None:
        assert line.startswith((f"error: {shown}: ", f"error: {shown}!")), line
    if match is not None:
        assert re.search(match, line), f"{line!r} does not match {match!r}"
    assert state(db) == before, "a failed load changed the database"
    return line


def assert_landed(
    wh: Warehouse,
    db: Path,
    shown: str,
    file_sql: str,
    file_params: list[object],
    expected_rows: int | None = None,
    expected_cost: Decimal | None = None,
) -> list[dict[str, object]]:
    """The new rows equal an independent read of the file; the earlier load is untouched.

    Returns the ``VERBATIM`` columns of the new rows, in file order, for further checks.
    """
    with closing(duckdb.connect(str(db), read_only=True)) as con:
        assert set(snapshot(con)) == set(wh.before), "a raw table was dropped or added"
        assert wh._good_rows(con) == wh.good_rows, "the earlier load changed"
        rows, distinct_rows, first, last, cost, files = con.execute(
            "select count(*), count(distinct _source_row), min(_source_row), max(_source_row), "
            "sum(line_item_unblended_cost), list(distinct _source_file) "
            "from raw.aws_cur_line_items where _load_id <> ?",
            [wh.good_load],
        ).fetchone()  # type: ignore[misc]
        file_rows, file_cost = con.execute(file_sql, file_params).fetchone()  # type: ignore[misc]
        landed = con.execute(
            f"select {', '.join(VERBATIM)} from raw.aws_cur_line_items "
            "where _load_id <> ? order by _source_row",
            [wh.good_load],
        ).fetchall()
    assert files == [shown]
    assert (rows, distinct_rows, first, last) == (file_rows, file_rows, 1, file_rows), (
        "rows landed twice, lost or renumbered"
    )
    assert cost == file_cost, f"landed Σ cost {cost} but the file says {file_cost}"
    if expected_rows is not None:
        assert rows == expected_rows
    if expected_cost is not None:
        assert cost == expected_cost
    return [dict(zip(VERBATIM, row, strict=True)) for row in landed]


def cost_sql(reader: str, column: str = COST) -> str:
    """Rows and Σ cost of a file, read by DuckDB without the loader."""
    q = '"' + column.replace('"', '""') + '"'
    return (
        f"select count(*), sum(try_cast(nullif(trim(cast({q} as varchar)), '') "
        f"as decimal(38, 12))) from {reader}"
    )


CSV_READ = (
    "read_csv(?, header = true, all_varchar = true, delim = ?, quote = '\"', escape = '\"', "
    "strict_mode = true, nullstr = ['', '\\N'])"
)
ANY_CSV_READ = "read_csv(?, header = true, all_varchar = true, nullstr = ['', '\\N'])"


# --------------------------------------------------------------------------- generating CUR files


@dataclass
class CurFile:
    """A legacy CUR CSV as the generator meant it: header, rows and the values they must give."""

    header: list[str]
    rows: list[list[str]]
    costs: list[Decimal]
    landed: list[dict[str, object]]  # the VERBATIM columns each row must land with
    delimiter: str = ","
    newline: str = "\n"
    bom: bool = False
    quote_all: bool = False

    def field(self, value: str) -> str:
        # RFC 4180. Not the csv module: its QUOTE_MINIMAL leaves a lone "\r" unquoted when the
        # line terminator is "\n", which any reader takes for a line break.
        if self.delimiter == "\t":
            return value  # tab-separated text is read unquoted (ClickHouse style)
        if self.quote_all or any(c in value for c in (self.delimiter, '"', "\r", "\n")):
            return '"' + value.replace('"', '""') + '"'
        return value

    def text(self, header_delimiter: str | None = None) -> str:
        lines = [self.delimiter.join(map(self.field, r)) for r in [self.header, *self.rows]]
        if header_delimiter is not None:
            lines[0] = header_delimiter.join(map(self.field, self.header))
        return ("\ufeff" if self.bom else "") + "".join(line + self.newline for line in lines)

    def data(self) -> bytes:
        return self.text().encode()

    def set(self, row: int, column: str, value: str) -> None:
        self.rows[row][self.header.index(column)] = value

    def drop(self, column: str) -> None:
        i = self.header.index(column)
        for r in [self.header, *self.rows]:
            del r[i]


MONEY = st.builds(
    lambda units, places: Decimal(units).scaleb(-places),
    st.integers(-(10**14), 10**14),
    st.integers(0, 10),
)
NUMBER_STYLES: dict[str, Callable[[Decimal], str]] = {
    "plain": lambda d: format(d, "f"),
    "plus": lambda d: format(d, "+f"),
    "exponent": lambda d: format(d, "E"),
    "padded": lambda d: f" {d:f} ",
}
TIMESTAMP_FORMATS = (
    "%Y-%m-%dT%H:%M:%SZ",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S.000Z",
    "%Y-%m-%dT%H:%M:%S+00:00",
)
LINE_TYPES = ("Usage", "Tax", "Credit", "Refund", "Fee", "RIFee", "SavingsPlanCoveredUsage")
CURRENCIES = ("USD", "EUR", "JPY", "CNH", "usd", " GBP ")
SIMPLE_TEXT = st.text(string.ascii_letters + string.digits, max_size=8)
HOSTILE_TEXT = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=16))


@st.composite
def cur_files(draw: st.DrawFn, hostile: bool = False) -> CurFile:
    keys = draw(
        st.lists(
            HOSTILE_TEXT if hostile else SIMPLE_TEXT.map(lambda k: f"user:{k}"),
            max_size=3,
            unique_by=str,
        )
    )
    columns = list(draw(st.permutations(CUR_COLUMNS)))
    header = columns + [f"resourceTags/{k}" for k in keys]
    rows, costs, landed = [], [], []
    for _ in range(draw(st.integers(1, 5))):
        usage = draw(st.datetimes(dt.datetime(2000, 1, 1), dt.datetime(2099, 12, 31, 23, 59)))
        period = usage.replace(day=1, hour=0, minute=0, second=0)
        cost = draw(MONEY)
        value = {
            "bill/BillingPeriodStartDate": period.strftime(
                draw(st.sampled_from((*TIMESTAMP_FORMATS, "%Y-%m-%d")))
            ),
            "bill/PayerAccountId": draw(
                # the bill's account is required: a null one would invent an account
                HOSTILE_TEXT.filter(lambda a: a != GOOD_ACCOUNT and a not in NULL_STRINGS)
                if hostile
                else st.integers(1, 10**12 - 1).map("{:012d}".format)
            ),
            "lineItem/LineItemType": draw(
                HOSTILE_TEXT.filter(lambda v: v not in NULL_STRINGS)
                if hostile
                else st.sampled_from(LINE_TYPES)
            ),
            "lineItem/UsageStartDate": usage.strftime(draw(st.sampled_from(TIMESTAMP_FORMATS))),
            "lineItem/CurrencyCode": draw(st.sampled_from(CURRENCIES)),
            COST: NUMBER_STYLES[draw(st.sampled_from(sorted(NUMBER_STYLES)))](cost),
        }
        tag_values = [draw(HOSTILE_TEXT if hostile else SIMPLE_TEXT) for _ in keys]
        rows.append([value[c] for c in columns] + tag_values)
        costs.append(cost)
        account = value["bill/PayerAccountId"]
        landed.append(
            {
                "bill_payer_account_id": None if account in NULL_STRINGS else account,
                "line_item_line_item_type": value["lineItem/LineItemType"],
                "resource_tags": {
                    k: v for k, v in zip(keys, tag_values, strict=True) if v not in NULL_STRINGS
                },
            }
        )
    f = CurFile(header, rows, costs, landed)
    if hostile:
        f.delimiter = draw(st.sampled_from((",", ";", "|", "\x01")))
        f.newline = draw(st.sampled_from(("\n", "\r\n")))
        f.bom = draw(st.booleans())
    return f


@dataclass
class Expect:
    """What a generated file must do: load (the model's rows/cost when known) or fail."""

    loads: bool | None  # None: either outcome, as long as it is clean
    match: str | None = None  # regex the error line must match
    rows: int | None = None
    cost: Decimal | None = None
    landed: list[dict[str, object]] | None = None


@dataclass
class Generated:
    name: str
    suffix: str
    content: bytes
    expect: Expect
    member: str | None = None  # zip member: errors and lineage show FILE!member
    oracle: bytes | None = None  # what DuckDB reads independently (default: content)
    oracle_suffix: str | None = None
    delimiter: str | None = None  # None: let DuckDB sniff the independent read


def loads(f: CurFile, **kw: object) -> Expect:
    return Expect(True, rows=len(f.rows), cost=sum(f.costs, Decimal(0)), landed=f.landed, **kw)  # type: ignore[arg-type]


def fails(match: str | None = None) -> Expect:
    return Expect(False, match)


def gzipped(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def zipped(member: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(member, data)
    return buf.getvalue()


def cell(column: str, row: int) -> str:
    return rf"row {row + 1}, column {re.escape(repr(column))}"


MUTATIONS = (
    "as_is",
    "bom_crlf",
    "quote_all",
    "delimiter",
    "gzip",
    "zip",
    "drop_required_column",
    "duplicate_header",
    "bad_cost",
    "bad_date",
    "unknown_currency",
    "missing_value",
    "empty",
    "header_only",
    "ragged_row",
    "header_delimiter_differs",
    "latin1_byte",
    "huge_field",
    "truncated_gzip",
    "garbage_tail",
)
BAD_NUMBERS = (
    "twelve",
    "NaN",
    "nan",
    "Inf",
    "-Infinity",
    "1e30",
    "9" * 27,
    "1,5",
    "$3.00",
    "0x10",
    "1.2.3",
    "--1",
    "∞",
    "١٢",
    "1 000",
)
BAD_DATES = (
    "2026-13-01",
    "2026-02-30",
    "2026-00-10",
    "2026-08-01T25:00:00Z",
    "2026-08-01T00:00:60Z",
    "300000-01-01",
    "0000-00-00",
    "01/02/2026",
    "not-a-date",
    "99999-01-01",
    "epoch",
    "infinity",
    "-infinity",
)


@st.composite
def mutated_cur_files(draw: st.DrawFn, kind: str) -> Generated:
    f = draw(cur_files())
    row = draw(st.integers(0, len(f.rows) - 1))
    g = Generated(kind, ".csv", b"", fails())
    if kind == "as_is":
        g.content, g.expect, g.delimiter = f.data(), loads(f), ","
    elif kind == "bom_crlf":
        f.bom, f.newline = True, "\r\n"
        g.content, g.expect, g.delimiter = f.data(), loads(f), ","
    elif kind == "quote_all":
        f.quote_all = True
        g.content, g.expect, g.delimiter = f.data(), loads(f), ","
    elif kind == "delimiter":
        f.delimiter = draw(st.sampled_from((";", "|", "\t", "\x01")))
        g.content, g.expect, g.delimiter = f.data(), loads(f), f.delimiter
        g.suffix = ".tsv" if f.delimiter == "\t" else ".csv"
    elif kind == "gzip":
        g.suffix, g.content, g.expect, g.delimiter = ".csv.gz", gzipped(f.data()), loads(f), ","
    elif kind == "zip":
        g.suffix, g.member, g.delimiter = ".zip", "cur-00001.csv", ","
        g.content, g.expect = zipped(g.member, f.data()), loads(f)
        g.oracle, g.oracle_suffix = f.data(), ".csv"
    elif kind == "drop_required_column":
        column = draw(st.sampled_from(sorted(REQUIRED)))
        f.drop(column)
        g.content = f.data()
        g.expect = fails(rf"required column '{REQUIRED[column]}' is missing")
    elif kind == "duplicate_header":
        column = draw(st.sampled_from(f.header))
        i = f.header.index(column)
        for r in [f.header, *f.rows]:
            r.append(r[i])
        g.content, g.expect = f.data(), fails(rf"duplicate column {re.escape(repr(column))}")
    elif kind == "bad_cost":
        bad = draw(
            st.one_of(st.sampled_from(BAD_NUMBERS), st.text(string.ascii_letters, min_size=1))
        )
        f.set(row, COST, bad)
        g.content, g.expect = f.data(), fails(cell(COST, row) + ": cannot read")
    elif kind == "bad_date":
        column = draw(st.sampled_from(DATES))
        f.set(row, column, draw(st.sampled_from(BAD_DATES)))
        g.content, g.expect = f.data(), fails(cell(column, row) + ": cannot read")
    elif kind == "unknown_currency":
        code = draw(
            st.one_of(
                st.sampled_from(("DOGE", "US", "€", "U$D", "XBT")),
                st.text(string.ascii_uppercase, min_size=3, max_size=3),
            ).filter(lambda c: c.upper() not in ISO_4217)
        )
        f.set(row, "lineItem/CurrencyCode", code)
        g.content = f.data()
        g.expect = fails(cell("line_item_currency_code", row) + ": unknown or missing currency")
    elif kind == "missing_value":
        column = draw(st.sampled_from(sorted(REQUIRED)))
        f.set(row, column, "")
        g.content = f.data()
        g.expect = fails(
            cell(REQUIRED[column], row) + ": (value is missing|unknown or missing currency)"
        )
        if column == "lineItem/CurrencyCode" and f.costs[row] == 0:
            g.expect = loads(f)  # a cost-0 line may leave its currency blank
    elif kind == "empty":
        g.content, g.expect = b"", fails("file is empty")
    elif kind == "header_only":
        f.rows = []
        g.content, g.expect = f.data(), fails("file has a header but no data rows")
    elif kind == "ragged_row":
        if draw(st.booleans()):
            f.rows[row].append("extra")
        else:
            f.rows[row].pop()
        g.content = f.data()
        g.expect = fails(r"cannot read file|header has \d+ names but rows have \d+ fields")
    elif kind == "header_delimiter_differs":
        g.content = f.text(header_delimiter=";").encode()
    elif kind == "latin1_byte":
        f.set(row, "lineItem/LineItemType", "LATIN1")
        g.content = f.data().replace(b"LATIN1", "café".encode("latin-1"))
        # DuckDB counts physical lines: the header is line 1.
        g.expect = fails(rf"Line: {row + 2}\b")
    elif kind == "huge_field":
        f.set(row, "lineItem/LineItemType", "x" * 3_000_000)
        g.content, g.expect = f.data(), fails("CSV Error on Line|Maximum line size")
    elif kind == "truncated_gzip":
        whole = gzipped(f.data())
        g.suffix = ".csv.gz"
        g.content = whole[: draw(st.integers(0, len(whole) - 1))]
        g.expect = fails("file is empty|cannot read file")
    elif kind == "garbage_tail":
        g.content = f.data() + draw(st.binary(min_size=1, max_size=64))
        g.expect = Expect(None)
    return g


def run_generated(wh: Warehouse, g: Generated) -> None:
    """Load ``g`` through the CLI into a fresh copy of the warehouse and check the property."""
    event(g.name)
    n, folder, db = wh.new_case()
    path = folder / f"fuzz-{n}{g.suffix}"
    path.write_bytes(g.content)
    shown = f"{path}!{g.member}" if g.member else str(path)
    result = cli("cur", str(path), "--db", str(db), "--quiet")
    assert result.code in (0, 1), f"exit {result.code!r}: {result.stderr}"
    if result.code == 1:
        assert g.expect.loads is not True, f"refused a valid file: {result.stderr}"
        assert_failed_cleanly(result, str(path), db, wh.before, g.expect.match)
        return
    assert g.expect.loads is not False, f"loaded a bad file ({g.expect.match}): {result.stdout}"
    oracle = path
    if g.oracle is not None:
        oracle = folder / f"oracle{g.oracle_suffix}"
        oracle.write_bytes(g.oracle)
    if g.suffix == ".parquet":
        sql, params = cost_sql("read_parquet(?)"), [str(oracle)]
    elif g.delimiter is None:
        sql, params = cost_sql(ANY_CSV_READ), [str(oracle)]
    else:
        sql, params = cost_sql(CSV_READ), [str(oracle), g.delimiter]
    landed = assert_landed(wh, db, shown, sql, params, g.expect.rows, g.expect.cost)
    if g.expect.landed is not None:
        assert landed == g.expect.landed


# --------------------------------------------------------------------------- part 1: properties


@share(1)
@given(f=cur_files(hostile=True))
def test_hostile_tag_keys_and_values_land_verbatim(warehouse: Warehouse, f: CurFile) -> None:
    """Quotes, semicolons, backslashes, newlines, unicode and SQL land as data, never as SQL.

    In tag keys (header names), tag values, the payer account (a partition key) and the line
    item type; ``run_generated`` checks every raw table survived and each value landed as is.
    """
    expect = loads(f)
    if any(c in name for name in f.header for c in "\r\n"):
        # DuckDB's sniffer rejects a quoted header name holding a line break unlike the file's
        # own newline. AWS tag keys cannot hold one, so a clean refusal is enough.
        expect.loads = None
    run_generated(warehouse, Generated("hostile", ".csv", f.data(), expect, delimiter=f.delimiter))


@pytest.mark.parametrize("kind", MUTATIONS)
@share(1 / 15)
@given(data=st.data())
def test_mutated_cur_file_loads_exactly_or_fails_cleanly(
    warehouse: Warehouse, kind: str, data: st.DataObject
) -> None:
    run_generated(warehouse, data.draw(mutated_cur_files(kind), label="file"))


@cache
def big_cur_gzip() -> bytes:
    """~1.4 MB of CUR text: past the loader's 256 KiB header peek, so DuckDB meets the cut."""
    lines = [",".join(CUR_COLUMNS)]
    for i in range(20_000):
        lines.append(
            f"2026-08-01T00:00:00Z,{i % 13 + 1:012d},Usage,2026-08-03T00:00:00Z,USD,{i % 997}.{i % 89}"
        )
    return gzipped(("\n".join(lines) + "\n").encode())


@share(2 / 3)
@given(cut=st.integers(0, 2**32))
def test_truncated_gzip_never_loads_a_prefix(warehouse: Warehouse, cut: int) -> None:
    whole = big_cur_gzip()
    g = Generated("truncated_big_gzip", ".csv.gz", whole[: cut % len(whole)], fails())
    run_generated(warehouse, g)


@cache
def real_parquet() -> bytes:
    """A CUR 2.0-style parquet written by DuckDB (3,000 rows, a native tag map)."""
    with TemporaryDirectory(prefix="fuzz-parquet-") as tmp:
        out = Path(tmp) / "cur.parquet"
        duckdb.execute(
            f"""
            copy (
                select '2026-08-01T00:00:00Z' as "bill/BillingPeriodStartDate",
                       lpad(cast(i % 7 + 1 as varchar), 12, '0') as "bill/PayerAccountId",
                       'Usage' as "lineItem/LineItemType",
                       timestamp '2026-08-03' + to_minutes(i) as "lineItem/UsageStartDate",
                       'USD' as "lineItem/CurrencyCode",
                       cast(i * 0.01 as decimal(18, 6)) as "{COST}",
                       map {{'user:team': 'team-' || (i % 5)}} as resource_tags
                from range(3000) as t(i)
            ) to '{out}' (format parquet)
            """
        )
        return out.read_bytes()


FLIPPABLE = ("csv", "parquet", "gzip", "zip")


@st.composite
def arbitrary_files(draw: st.DrawFn) -> Generated:
    kind = draw(st.sampled_from(("bytes", "parquet_cut", "flipped")))
    if kind == "bytes":
        suffix = draw(st.sampled_from((".csv", ".csv.gz", ".tsv", ".zip", ".parquet")))
        return Generated(kind, suffix, draw(st.binary(max_size=4096)), Expect(None))
    if kind == "parquet_cut":
        whole = real_parquet()
        cut = draw(st.integers(0, len(whole) - 1))
        return Generated(kind, ".parquet", whole[:cut], fails("cannot read file"))
    fmt = draw(st.sampled_from(FLIPPABLE))
    if fmt == "parquet":
        raw = real_parquet()
    elif fmt == "gzip":
        raw = gzip.compress(draw(cur_files()).data())
    elif fmt == "zip":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("cur.csv", draw(cur_files()).data())
        raw = buffer.getvalue()
    else:
        raw = draw(cur_files()).data()
    data = bytearray(raw)
    for _ in range(draw(st.integers(1, 8))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    suffix = {"parquet": ".parquet", "gzip": ".csv.gz", "zip": ".zip"}.get(fmt, ".csv")
    return Generated(f"flipped_{fmt}", suffix, bytes(data), Expect(None))


@share(1)
@given(g=arbitrary_files())
def test_arbitrary_bytes_fail_cleanly_or_load_exactly(warehouse: Warehouse, g: Generated) -> None:
    run_generated(warehouse, g)


# --------------------------------------------------------------------------- part 2: a corpus

HEADER = ",".join(CUR_COLUMNS) + ",resourceTags/user:product"
ROW = "2026-08-01T00:00:00Z,111122223333,Usage,2026-08-03T00:00:00Z,USD,{cost},replay"


def cur_text(*costs: str, header: str = HEADER, row: str = ROW) -> str:
    return "\n".join([header, *(row.format(cost=c) for c in costs)]) + "\n"


def quote_all(text: str) -> str:
    out = io.StringIO()
    rows = csv.reader(io.StringIO(text))
    csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(rows)
    return out.getvalue()


def write(name: str, data: str | bytes) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        return path

    return build


def mixed_folder(folder: Path) -> Path:
    write("delivery/a.csv", cur_text("1"))(folder)
    write("delivery/b.parquet", real_parquet())(folder)
    return folder / "delivery"


def zip_delivery(folder: Path) -> Path:
    write("inner.csv", cur_text("1.25", "2.5"))(folder)  # the independent read's copy
    return write("cur.zip", zipped("cur-00001.csv", cur_text("1.25", "2.5").encode()))(folder)


USAGE = "date,metric,product,customer_id,feature_id,quantity\n"
FOCUS = (
    "BilledCost,EffectiveCost,BillingAccountId,BillingCurrency,BillingPeriodStart,"
    "ChargePeriodStart,ChargeCategory,ProviderName\n"
)
FOCUS_ROW = "{cost},{cost},acct-1,USD,2026-08-01T00:00:00Z,2026-08-05T00:00:00Z,Usage,Acme Cloud\n"


@dataclass(frozen=True)
class Corpus:
    build: Callable[[Path], Path]
    expect: str | None  # None: must load; else a regex the one error line must match
    command: str = "cur"
    oracle: str | None = None  # file, relative to the case folder, for the independent read
    names_path: bool = True  # the error line starts with "error: <path>: "


LOADS = None
CORPUS = {
    "truncated_parquet": Corpus(
        lambda d: write("cut.parquet", real_parquet()[:-100])(d),
        r"cut\.parquet: cannot read file: .*No magic bytes found at end of file",
    ),
    # The bases the property tests cut and flip: whole, they load.
    "parquet_whole": Corpus(lambda d: write("cur.parquet", real_parquet())(d), LOADS),
    "big_gzip_whole": Corpus(lambda d: write("big.csv.gz", big_cur_gzip())(d), LOADS),
    "truncated_gzip": Corpus(
        write("cut.csv.gz", gzipped(cur_text(*["1"] * 500).encode())[:-20]),
        "cannot read file: (Compressed file ended|IO Error: Unexpected end of GZIP stream)",
    ),
    "zero_bytes": Corpus(write("empty.csv", b""), "file is empty"),
    "whitespace_only": Corpus(write("blank.csv", " \n\r\n\n"), "file is empty"),
    "header_only": Corpus(write("h.csv", HEADER + "\n"), "file has a header but no data rows"),
    "semicolon_delimited": Corpus(write("semi.csv", cur_text("1", "2").replace(",", ";")), LOADS),
    "pipe_delimited": Corpus(write("pipe.csv", cur_text("1", "2").replace(",", "|")), LOADS),
    "semicolon_rows_under_a_comma_header": Corpus(
        write("semi_rows.csv", HEADER + "\n" + ROW.format(cost="1").replace(",", ";") + "\n"),
        r"row 1 has 1 fields but the header has 7 \(ragged row, or another delimiter\)",
    ),
    "bom_and_crlf": Corpus(
        write("bom.csv", ("\ufeff" + cur_text("1.25", "2.5")).replace("\n", "\r\n")), LOADS
    ),
    "quoted_everything": Corpus(
        write("q.csv", quote_all(cur_text("1.5", "2.5"))),
        LOADS,
    ),
    "duplicate_header": Corpus(
        write(
            "dup.csv",
            cur_text("1").replace("\n", f",{COST}\n", 1).replace("replay\n", "replay,2\n"),
        ),
        rf"duplicate column '{COST}' in header",
    ),
    "duplicate_after_normalising": Corpus(
        write(
            "dup2.csv",
            cur_text("1")
            .replace("\n", ",line_item_unblended_cost\n", 1)
            .replace("replay\n", "replay,2\n"),
        ),
        "columns 'lineItem/UnblendedCost' and 'line_item_unblended_cost' both map to",
    ),
    "missing_required_column": Corpus(
        write(
            "nodate.csv", cur_text("1").replace("lineItem/UsageStartDate", "lineItem/UsageEndDate")
        ),
        "required column 'line_item_usage_start_date' is missing",
    ),
    "text_in_cost": Corpus(
        write("text.csv", cur_text("1", "twelve")),
        rf"row 2, column '{COST}': cannot read 'twelve' as the expected type",
    ),
    "nan_cost": Corpus(
        write("nan.csv", cur_text("NaN")), rf"row 1, column '{COST}': cannot read 'NaN'"
    ),
    "inf_cost": Corpus(
        write("inf.csv", cur_text("1", "1", "-Infinity")),
        rf"row 3, column '{COST}': cannot read '-Infinity'",
    ),
    "cost_beyond_decimal_38_12": Corpus(
        write("huge.csv", cur_text("1" + "0" * 26)), rf"row 1, column '{COST}': cannot read"
    ),
    "month_13": Corpus(
        write("m13.csv", cur_text("1").replace("2026-08-03", "2026-13-03")),
        r"row 1, column 'lineItem/UsageStartDate': cannot read '2026-13-03",
    ),
    "year_300000": Corpus(
        write("y.csv", cur_text("1").replace("2026-08-01", "300000-08-01")),
        r"row 1, column 'bill/BillingPeriodStartDate': cannot read '300000-08-01",
    ),
    "unknown_currency": Corpus(
        write("doge.csv", cur_text("1").replace(",USD,", ",DOGE,")),
        r"row 1, column 'line_item_currency_code': unknown or missing currency \('DOGE'\)",
    ),
    "missing_required_value": Corpus(
        write("noval.csv", cur_text("1") + ROW.format(cost="2").replace(",Usage,", ",,") + "\n"),
        r"row 2, column 'line_item_line_item_type': value is missing",
    ),
    "field_over_2_mb": Corpus(
        write("big.csv", cur_text("1", "2").replace("replay\n", "x" * 2_500_000 + "\n", 1)),
        r"cannot read file: .*CSV Error on Line",
    ),
    "latin1_byte_in_utf8": Corpus(
        write("latin1.csv", cur_text("1", "2").encode().replace(b"replay\n2026", b"caf\xe9\n2026")),
        r"CSV Error on Line: 2\b",
    ),
    "ragged_long_row": Corpus(
        write("long.csv", cur_text("1", "2").replace("replay\n", "replay,extra\n", 1)),
        "row 1 has 8 fields but the header has 7",
    ),
    "every_row_longer_than_the_header": Corpus(
        write("longer.csv", cur_text("1", "2").replace("replay\n", "replay,extra\n")),
        "header has 7 names but rows have 8 fields",
    ),
    "ragged_short_row": Corpus(
        write("short.csv", cur_text("1", "2").replace(",replay\n", "\n", 1)),
        "row 1 has 6 fields but the header has 7",
    ),
    "random_bytes": Corpus(
        write("noise.csv", bytes((i * 7919 + 13) % 251 for i in range(3000))), "cannot read file"
    ),
    "parquet_and_csv_in_one_folder": Corpus(
        mixed_folder,
        r"^error: mixed file formats in one load: parquet \(.*b\.parquet\), text \(.*a\.csv\)",
        names_path=False,
    ),
    "zip_that_is_not_a_zip": Corpus(
        write("fake.zip", b"PK\x03\x04 this is not a zip"), "not a readable zip archive"
    ),
    "zip_delivery": Corpus(zip_delivery, LOADS, oracle="inner.csv"),
    "no_such_file": Corpus(lambda d: d / "missing.csv", "no such file or directory"),
    "usage_ok": Corpus(
        write("u.csv", USAGE + "2026-08-01,requests,replay,c1,,12.5\n"), LOADS, "usage"
    ),
    "usage_bom_crlf": Corpus(
        write("u.csv", ("\ufeff" + USAGE + "08/02/2026,requests,,c1,,3\n").replace("\n", "\r\n")),
        LOADS,
        "usage",
    ),
    "usage_month_13": Corpus(
        write("u.csv", USAGE + "2026-08-01,requests,,,,1\n2026-13-01,requests,,,,1\n"),
        r"row 2, column 'date': cannot read '2026-13-01'",
        "usage",
    ),
    "usage_text_quantity": Corpus(
        write("u.csv", USAGE + "2026-08-01,requests,,,,many\n"),
        r"row 1, column 'quantity': cannot read 'many'",
        "usage",
    ),
    "usage_missing_metric": Corpus(
        write("u.csv", "date,quantity\n2026-08-01,1\n"),
        "required column 'metric' is missing",
        "usage",
    ),
    "focus_ok": Corpus(write("f.csv", FOCUS + FOCUS_ROW.format(cost="10.5")), LOADS, "focus"),
    "focus_text_in_billed_cost": Corpus(
        write("f.csv", FOCUS + FOCUS_ROW.format(cost="ten")),
        r"row 1, column 'BilledCost': cannot read 'ten'",
        "focus",
    ),
    "focus_truncated_parquet": Corpus(
        lambda d: write("f.parquet", real_parquet()[: len(real_parquet()) // 2])(d),
        "cannot read file",
        "focus",
    ),
}

TABLES = {
    "cur": ("raw.aws_cur_line_items", "line_item_unblended_cost", COST),
    "focus": ("raw.focus_line_items", "billed_cost", "BilledCost"),
    "usage": ("raw.usage_metrics", None, None),
}


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_corpus(name: str, warehouse: Warehouse) -> None:
    case = CORPUS[name]
    wh = warehouse
    _, folder, db = wh.new_case()
    path = case.build(folder)
    # Not --quiet: progress lines may precede the error, but the error is one line, the last.
    result = cli(case.command, str(path), "--db", str(db))
    if case.expect is not LOADS:
        assert_failed_cleanly(
            result, str(path) if case.names_path else None, db, wh.before, case.expect
        )
        return
    assert result.code == 0, result.stderr
    table, landed_cost, file_cost = TABLES[case.command]
    oracle = folder / case.oracle if case.oracle else path
    with closing(duckdb.connect(str(db), read_only=True)) as con:
        assert set(snapshot(con)) == set(wh.before)
        assert wh._good_rows(con) == wh.good_rows
        landed = con.execute(
            f"select count(*), count(distinct _source_row), "
            f"{f'sum({landed_cost})' if landed_cost else 'null'} "
            f"from {table} where _load_id <> ?",
            [wh.good_load],
        ).fetchone()
        reader = "read_parquet(?)" if oracle.suffix == ".parquet" else ANY_CSV_READ
        if file_cost:
            read = con.execute(cost_sql(reader, file_cost), [str(oracle)]).fetchone()
        else:
            read = con.execute(f"select count(*), null from {reader}", [str(oracle)]).fetchone()
    assert landed == (read[0], read[0], read[1])  # type: ignore[index]
    assert read[0] > 0  # type: ignore[index]


# ------------------------------------------- bugs these tests found, fixed in ingest/load/


def load_one(
    wh: Warehouse, name: str, data: str | bytes, command: str = "cur"
) -> tuple[Result, Path, Path, object]:
    """Load one file into a fresh copy of the warehouse; (result, file, db, state before)."""
    _, folder, db = wh.new_case()
    path = write(name, data)(folder)
    return cli(command, str(path), "--db", str(db), "--quiet"), path, db, wh.before


@pytest.mark.parametrize(
    ("command", "data"),
    [
        pytest.param(
            "cur",
            cur_text("1").replace("2026-08-01", "99999-08-01"),
            id="cur_billing_period_year_99999",
        ),
        pytest.param(
            "usage",
            USAGE + "99999-01-01,requests,,,,1\n",
            id="usage_date_year_99999",
        ),
        pytest.param(
            "cur",
            cur_text("1").replace("2026-08-03", "99999-08-03"),
            id="cur_usage_date_year_99999",
        ),
        pytest.param(
            "cur",
            cur_text("1").replace("2026-08-01T00:00:00Z", "epoch"),
            id="cur_billing_period_epoch",
        ),
        pytest.param(
            "cur",
            cur_text("1").replace("2026-08-03T00:00:00Z", "infinity"),
            id="cur_usage_date_infinity",
        ),
    ],
)
def test_impossible_dates_are_refused(warehouse: Warehouse, command: str, data: str) -> None:
    """projection._cast_expr trusts TRY_CAST(... AS TIMESTAMPTZ), which accepts years up to 294276
    and DuckDB's special words ('epoch', 'infinity', '-infinity')."""
    result, path, db, before = load_one(warehouse, "dates.csv", data, command)
    assert_failed_cleanly(result, str(path), db, before, r"row 1, column '[^']+': cannot read")


@pytest.mark.parametrize(
    ("name", "data"),
    [
        pytest.param(
            "corrupt.csv.gz",
            gzipped(cur_text(*["1"] * 50).encode())[:12] + b"\xff" * 40,
            id="gzip_with_corrupt_deflate_data",
        ),
        pytest.param(
            "corrupt.zip",
            None,
            id="zip_with_corrupt_deflate_data",
        ),
        pytest.param(
            "encrypted.zip",
            None,
            id="password_protected_zip",
        ),
    ],
)
def test_corrupt_compressed_file_fails_cleanly(
    warehouse: Warehouse, name: str, data: bytes | None
) -> None:
    if data is None:
        z = bytearray(zipped("cur.csv", cur_text(*["1"] * 50).encode()))
        if name == "encrypted.zip":
            z[z.find(b"PK\x01\x02") + 8] |= 0x01  # central directory: "encrypted" flag bit
        else:
            start = 30 + len("cur.csv")  # local header + name, then the deflate stream
            z[start : start + 12] = b"\xff" * 12
        data = bytes(z)
    result, path, db, before = load_one(warehouse, name, data)
    assert_failed_cleanly(result, str(path), db, before, "cannot read|not a readable zip")


def test_header_name_over_128_kib_fails_cleanly_or_loads(warehouse: Warehouse) -> None:
    data = cur_text("1").replace("user:product", "user:" + "k" * 200_000)
    result, path, db, before = load_one(warehouse, "wide.csv", data)
    if result.code != 0:
        assert_failed_cleanly(result, str(path), db, before, None)


def test_delimiter_inside_a_quoted_header_name(warehouse: Warehouse) -> None:
    key = "user:a;b;c;d;e;f;g;h"
    data = cur_text("1").replace("resourceTags/user:product", f'"resourceTags/{key}"')
    result, path, db, before = load_one(warehouse, "semis.csv", data)
    assert result.code == 0, result.stderr
    with closing(duckdb.connect(str(db), read_only=True)) as con:
        tags = con.execute(
            "select resource_tags from raw.aws_cur_line_items where _source_file = ?", [str(path)]
        ).fetchone()
    assert tags == ({key: "replay"},)


@pytest.mark.parametrize(
    ("extra_key", "expected"),
    [
        pytest.param("user:Product", {"user:product": "replay", "user:Product": "v"}, id="case"),
        pytest.param("user:team ", {"user:product": "replay", "user:team ": "v"}, id="edge_space"),
    ],
)
def test_tag_keys_land_verbatim(
    warehouse: Warehouse, extra_key: str, expected: dict[str, str]
) -> None:
    data = (
        cur_text("1")
        .replace("\n", f",resourceTags/{extra_key}\n", 1)
        .replace("replay\n", "replay,v\n")
    )
    result, path, db, _ = load_one(warehouse, "keys.csv", data)
    assert result.code == 0, result.stderr
    with closing(duckdb.connect(str(db), read_only=True)) as con:
        tags = con.execute(
            "select resource_tags from raw.aws_cur_line_items where _source_file = ?", [str(path)]
        ).fetchone()
    assert tags == (expected,)


@pytest.mark.parametrize("quantity", ["NaN", "inf", "-Infinity"])
def test_non_finite_usage_quantity_is_refused(warehouse: Warehouse, quantity: str) -> None:
    result, path, db, before = load_one(
        warehouse, "u.csv", USAGE + f"2026-08-01,requests,,,,{quantity}\n", "usage"
    )
    assert_failed_cleanly(result, str(path), db, before, r"row 1, column 'quantity'")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        pytest.param(
            cur_text("1", "2").encode().replace(b"replay\n2026", b"caf\xe9\n2026"),
            "(?i)utf-8|encod",
            id="latin1",
        ),
        pytest.param(
            cur_text("1", "2", "3").replace("replay\n2026", "x" * 2_500_000 + "\n2026", 2),
            r"Maximum line size.*|line 3\b",
            id="field_over_2_mb",
        ),
    ],
)
def test_csv_error_says_what_is_wrong(warehouse: Warehouse, data: str | bytes, reason: str) -> None:
    result, path, db, before = load_one(warehouse, "bad.csv", data)
    assert_failed_cleanly(result, str(path), db, before, reason)


def test_empty_folder_error_names_the_folder(warehouse: Warehouse) -> None:
    wh = warehouse
    _, folder, db = wh.new_case()
    (folder / "export").mkdir()
    result = cli("cur", str(folder / "export"), "--db", str(db), "--quiet")
    assert_failed_cleanly(result, str(folder / "export"), db, wh.before, "no loadable files")


def test_tag_key_with_a_line_break_lands_verbatim(warehouse: Warehouse) -> None:
    # Found by the slow lane: reading the header as one physical line cut the quoted name.
    data = cur_text("1").replace("resourceTags/user:product", '"resourceTags/a\nb"')
    result, path, db, before = load_one(warehouse, "newline_key.csv", data)
    if result.code == 0:
        with closing(duckdb.connect(str(db), read_only=True)) as con:
            tags = con.execute(
                "select resource_tags from raw.aws_cur_line_items where _source_file = ?",
                [str(path)],
            ).fetchone()
        assert tags == ({"a\nb": "replay"},)
    else:  # a clean refusal is acceptable (AWS tag keys cannot hold line breaks)
        assert_failed_cleanly(result, str(path), db, before, None)
