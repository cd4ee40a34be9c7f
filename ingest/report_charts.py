"""The growth report's three charts, drawn as static SVG by pygal (no script, no network).

Each mark carries what pygal writes next to it: ``<desc class="value">`` (the number plotted,
as exact text from the mart, rounded as displayed), ``<desc class="x_label">`` (the month or
customer axis label), ``<desc class="label">`` (the product or customer key) and a ``<title>``
the browser shows on hover. The charts are drawn at the width they are shown at on a wide
screen, so a 12 px label is 12 px on screen.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pygal
from pygal.style import Style

NEGATIVE = "#c62828"
POSITIVE = "#2e7d32"
FONT = '-apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif'
WIDE = 1140  # the figure's inner width at the page's widest (main 1240 px less padding)
PANEL = 560  # one of two cost-per-unit panels side by side


@dataclass(frozen=True)
class Series:
    """One product's line or bar stack: its key, display name, colour and one value per month."""

    key: str
    name: str
    color: str
    values: Sequence[Decimal | None]
    per: int = 1
    label: str = ""


@dataclass(frozen=True)
class Bar:
    """One customer's gross margin."""

    key: str
    name: str
    value: Decimal
    tooltip: str


def _style(colors: Sequence[str]) -> Style:
    # Every text at least 12 px: the report's readability floor.
    return Style(
        font_family=FONT,
        background="transparent",
        plot_background="transparent",
        foreground="#1f2933",
        foreground_strong="#1f2933",
        foreground_subtle="#d9dee3",
        colors=tuple(colors) or ("#4e79a7",),
        label_font_size=12,
        major_label_font_size=12,
        legend_font_size=12,
        value_font_size=12,
        value_label_font_size=12,
        tooltip_font_size=12,
        title_font_size=13,
        no_data_font_size=14,
        guide_stroke_color="#d9dee3",
        major_guide_stroke_color="#9aa5b1",
        guide_stroke_dasharray="0",
        major_guide_stroke_dasharray="0",
        opacity=".85",
        opacity_hover="1",
        stroke_width="2.2",
    )


def _config(**options: object) -> dict[str, object]:
    # js=[]: pygal's default loads its tooltip script from the web; the page stays offline.
    return {
        "js": [],
        "disable_xml_declaration": True,
        "explicit_size": False,
        "show_y_guides": True,
        "show_x_guides": False,
        "truncate_legend": -1,
        "no_data_text": "No data",
        "min_scale": 3,
        "max_scale": 6,
        "margin": 8,
        "margin_right": 28,
        **options,
    }


def _value(
    value: Decimal | None, key: str, tooltip: str, exact: Callable[[Decimal], str] = str
) -> dict[str, object] | None:
    if value is None:
        return None
    text = exact(value)
    return {
        "value": float(value),
        "formatter": lambda _v, text=text: text,
        "label": key,
        "tooltip": tooltip,
    }


def cost_trend(
    series: Sequence[Series],
    months: Sequence[date],
    month: date,
    currency: str,
    money: Callable[[Decimal], str],
    short: Callable[[float], str],
) -> str:
    """Allocated cost per product per month, stacked."""
    chart = pygal.StackedBar(
        **_config(
            width=WIDE,
            height=360,
            legend_at_bottom=True,
            legend_at_bottom_columns=min(4, max(1, len(series))),
            y_title=f"Cost ({currency})",
            x_title="Month (report month in bold)",
            value_formatter=short,
            margin_bottom=24,  # room for the legend's text below its boxes
        ),
        style=_style([s.color for s in series]),
    )
    chart.x_labels = [f"{m:%b %Y}" for m in months]
    chart.x_labels_major = [f"{month:%b %Y}"]  # the page's CSS sets major labels in bold
    for s in series:
        chart.add(
            s.name,
            [
                _value(v, s.key, f"{s.name}, {m:%b %Y}: {money(v)}" if v is not None else "")
                for v, m in zip(s.values, months, strict=True)
            ],
        )
    return chart.render(is_unicode=True)


def customer_margin(bars: Sequence[Bar], pct: Callable[[float], str]) -> str:
    """Gross margin by customer, worst first; negative margins red, positive green."""
    chart = pygal.HorizontalBar(
        **_config(
            width=WIDE,
            height=70 + 30 * max(1, len(bars)),
            show_legend=False,
            x_title="Gross margin (% of MRR): (MRR − cost) / MRR",
            value_formatter=pct,
            print_values=False,
        ),
        style=_style([POSITIVE]),
    )
    # pygal draws the first label at the bottom: reversed, the worst margin is on top.
    ordered = list(reversed(bars))
    chart.x_labels = [b.name if len(b.name) <= 22 else b.name[:21] + "…" for b in ordered]
    values = []
    for b in ordered:
        point = _value(b.value, b.key, b.tooltip)
        color = NEGATIVE if b.value < 0 else POSITIVE
        point["color"] = color
        point["node"] = {"fill": color}
        values.append(point)
    chart.add("Gross margin", values)
    return chart.render(is_unicode=True)


def cost_per_unit_panel(
    s: Series,
    months: Sequence[date],
    month: date,
    currency: str,
    fmt: Callable[[Decimal], str],
) -> str:
    """One product's cost per unit over time, on its own scale (units differ)."""
    chart = pygal.Line(
        **_config(
            width=PANEL,
            height=240,
            max_scale=5,
            show_legend=False,
            title=f"{s.name} — {currency} {s.label}",
            value_formatter=lambda v: fmt(Decimal(str(v))),
            dots_size=4,
            include_x_axis=True,
            allow_interruptions=True,
        ),
        style=_style([s.color]),
    )
    chart.x_labels = [f"{m:%b %Y}" for m in months]
    chart.x_labels_major = [f"{month:%b %Y}"]  # the page's CSS sets major labels in bold
    chart.add(
        s.name,
        [
            _value(
                v,
                s.key,
                f"{s.name}, {m:%b %Y}: {fmt(v)} {currency} {s.label}" if v is not None else "",
            )
            for v, m in zip(s.values, months, strict=True)
        ],
    )
    return chart.render(is_unicode=True)
