"""The README and docs/ as a user reads them: links resolve, no history, the promised sections.

No warehouse, no dbt: these read Markdown and the model folder only.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

from ingest.tests.conftest import PROJECT_DIR

README = PROJECT_DIR / "README.md"
DOCS = sorted((PROJECT_DIR / "docs").glob("*.md"))
# bench/README.md is linked from docs/benchmarks.md and read as documentation too
PAGES = [README, *DOCS, PROJECT_DIR / "bench" / "README.md"]

LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(([^()\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^```.*?^```", re.M | re.S)
INLINE_CODE = re.compile(r"`[^`\n]*`")

# What history sounds like: each was in the README or docs and is gone; none may come back.
HISTORY = [
    r"\bissues?\s*#?\d",
    r"\bthe\s+issue's\b",
    r"\bused\s+to\b",
    r"\btoday\b",
    r"\bnow\s+(?:reaches|carries|lands)\b",
    r"\(before,",
    r"\bwent\s+from\b",
    r"\bhad\s+(?:cost|re-read|doubled)\b",
    r"\bare\s+historical\b",
    r"\bit\s+got\b",
]


def _prose(text: str) -> str:
    """The text outside fenced and inline code."""
    return INLINE_CODE.sub("", FENCE.sub("", text))


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = heading.strip().lower()
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = "".join(
        ch
        for ch in text
        if ch in " -_" or unicodedata.category(ch)[0] in ("L", "N") or ch.isalnum()
    )
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    seen: dict[str, int] = {}
    anchors: set[str] = set()
    for match in re.finditer(r"^#{1,6} +(.+?) *#*$", FENCE.sub("", page.read_text()), re.M):
        slug = _slug(match.group(1))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def _links(page: Path) -> list[str]:
    return [m.group(1) for m in LINK.finditer(FENCE.sub("", page.read_text()))]


def test_slugs_follow_github() -> None:
    assert _slug("What your bill carries: `python -m ingest discover`") == (
        "what-your-bill-carries-python--m-ingest-discover"
    )
    assert _slug("Reliability guarantees (each one tested)") == (
        "reliability-guarantees-each-one-tested"
    )
    assert _slug("Benchmarks (`bench/`)") == "benchmarks-bench"
    assert _slug("Figures (measured on this repo's 2-core machine)") == (
        "figures-measured-on-this-repos-2-core-machine"
    )


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(PROJECT_DIR).as_posix())
def test_every_relative_link_resolves(page: Path) -> None:
    broken = []
    for target in _links(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{target}: no file {file}")
        elif anchor and file.suffix == ".md" and anchor not in _anchors(file):
            broken.append(f"{target}: no heading #{anchor} in {file.name}")
    assert not broken, f"{page.name}: " + "; ".join(broken)


def test_the_docs_link_to_pages_that_exist() -> None:
    """Every docs page is reachable from the README."""
    linked = {Path(t.partition("#")[0]).name for t in _links(README)}
    assert not [p.name for p in DOCS if p.name not in linked]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(PROJECT_DIR).as_posix())
def test_no_issue_references_or_history(page: Path) -> None:
    prose = _prose(page.read_text())
    found = [
        m.group(0)
        for pattern in [*HISTORY, r"(?<![\w&/])#\d+\b"]
        for m in re.finditer(pattern, prose, re.I)
    ]
    assert not found, f"{page.name} tells history or cites issues: {found}"


def test_the_first_screen_shows_the_report_and_the_two_commands() -> None:
    first_screen = "\n".join(README.read_text().splitlines()[:40])
    image = re.search(r"!\[[^\]]+\]\(([^)]+\.png)\)", first_screen)
    assert image, "no screenshot in the README's first 40 lines"
    png = PROJECT_DIR / image.group(1)
    assert png.exists() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size < 300_000
    assert "make demo" in first_screen and "make test" in first_screen


def _section(title: str) -> str:
    text = README.read_text()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else len(text)]


def test_use_your_own_bill_has_at_most_ten_steps() -> None:
    steps = re.findall(r"^(\d+)\. ", _section("Use your own bill"), re.M)
    assert steps, "no numbered steps"
    assert [int(s) for s in steps] == list(range(1, len(steps) + 1))
    assert len(steps) <= 10
    for command in ("init", "discover", "usage", "revenue", "check-rules", "report"):
        assert f"python -m ingest {command}" in _section("Use your own bill"), command
    assert "`dbt build`" in _section("Use your own bill")


def test_every_mart_answers_a_question_in_the_readme() -> None:
    table = _section("Which table answers which question")
    rows = re.findall(r"^\| `(\w+)` \| ([^|]+) \| ([^|]+) \|$", table, re.M)
    listed = {name for name, _, _ in rows}
    # MetricFlow's calendar is a helper of the semantic layer, not a table anyone asks a question
    marts = {p.stem for p in (PROJECT_DIR / "models" / "marts").rglob("*.sql")}
    marts -= {"metricflow_time_spine"}
    assert marts, "no marts found"
    assert not marts - listed, f"marts missing from the README: {sorted(marts - listed)}"
    assert not listed - marts, (
        f"the README lists models that are not marts: {sorted(listed - marts)}"
    )
    assert all(question.strip().endswith("?") and grain.strip() for _, question, grain in rows)
