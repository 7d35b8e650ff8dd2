"""Server-rendered SVG charts and their data tables for the dashboard: no script, no library, no CDN.

Each chart is an ``<svg role="img">`` with a title and a description (what a screen reader announces); the same
figures are always also given as an HTML table next to it. Colours are presentation attributes (the staff pages'
CSP forbids inline styles) from the Okabe-Ito palette, which stays distinct for colour-blind readers. Every text
is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

WIDTH = 720
INK = "#1b1f24"
GRID = "#c9ced6"
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]
    color: str


def _attr(value: object) -> str:
    return escape(str(value), quote=True)


def nice_max(value: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten at or above value (1 for nothing to show)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10) if step * power >= value)


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def _open(chart_id: str, title: str, description: str, height: int) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="{_attr(chart_id)}-title {_attr(chart_id)}-desc" focusable="false">',
        f'<title id="{_attr(chart_id)}-title">{escape(title)}</title>',
        f'<desc id="{_attr(chart_id)}-desc">{escape(description)}</desc>',
    ]


def _legend(series: Sequence[Series], y: int) -> list[str]:
    parts, x = [], 60
    for s in series:
        parts.append(f'<rect x="{x}" y="{y - 10}" width="12" height="12" fill="{_attr(s.color)}"/>')
        parts.append(f'<text x="{x + 17}" y="{y}" font-size="13" fill="{INK}">{escape(s.name)}</text>')
        x += 30 + 8 * len(s.name)
    return parts


def stacked_bars(chart_id: str, title: str, labels: Sequence[str], series: Sequence[Series], every: int = 5) -> str:
    """Vertical bars, one per label (a day), each stacked from the series; an x label every ``every`` bars."""
    height, top, bottom, left = 300, 34, 40, 50
    plot_h, plot_w = height - top - bottom, WIDTH - left - 15
    totals = [sum(s.values[i] for s in series) for i in range(len(labels))]
    top_value = nice_max(max(totals, default=0))
    description = f"{sum(totals):g} in all over {len(labels)} bars; the highest bar is {max(totals, default=0):g}."
    parts = _open(chart_id, title, description, height) + _legend(series, 18)
    for k in range(5):
        value = top_value * k / 4
        y = top + plot_h - plot_h * k / 4
        parts.append(f'<line x1="{left}" x2="{WIDTH - 15}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="12" text-anchor="end" fill="{INK}">{value:g}</text>'
        )
    slot = plot_w / max(len(labels), 1)
    for i, label in enumerate(labels):
        x, base = left + i * slot + slot * 0.15, float(top + plot_h)
        for s in series:
            value = s.values[i]
            if value <= 0:
                continue
            h = plot_h * value / top_value
            base -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{base:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}" fill="{_attr(s.color)}">'
                f"<title>{escape(label)}: {escape(s.name)} {value:g}</title></rect>"
            )
        if i % every == 0 or i == len(labels) - 1:
            parts.append(
                f'<text x="{x + slot * 0.35:.1f}" y="{height - bottom + 16}" font-size="12" text-anchor="middle" '
                f'fill="{INK}">{escape(label[5:] if len(label) == 10 else label)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def range_bars(
    chart_id: str,
    title: str,
    rows: Sequence[tuple[str, float | None, float | None, float | None]],
    fmt: Callable[[float | None], str] = format_duration,
) -> str:
    """One row per label: a bar to the median, a longer one to the 90th percentile and a line at the target.

    Each row has its own scale (an emergency target is minutes, a routine one a day), so values are printed too.
    """
    row_h, top, left = 76, 34, 110
    height = top + row_h * len(rows) + 10
    plot_w = WIDTH - left - 30
    median_color, p90_color = PALETTE[0], PALETTE[5]
    legend = [Series("median", [], median_color), Series("90th percentile", [], p90_color), Series("target", [], INK)]
    description = "; ".join(
        f"{label}: median {fmt(m)}, 90th percentile {fmt(p)}, target {fmt(t)}" for label, m, p, t in rows
    )
    parts = _open(chart_id, title, description, height) + _legend(legend, 18)
    for i, (label, median, p90, target) in enumerate(rows):
        y = top + i * row_h + 10
        scale = max((v for v in (median, p90, target) if v is not None), default=0) * 1.1 or 1.0
        parts.append(
            f'<text x="{left - 8}" y="{y + 26}" font-size="13" text-anchor="end" fill="{INK}">{escape(label)}</text>'
        )
        for value, color, dy, h in ((p90, p90_color, 4, 36), (median, median_color, 12, 20)):
            if value is not None:
                parts.append(
                    f'<rect x="{left}" y="{y + dy}" width="{plot_w * value / scale:.1f}" height="{h}" fill="{color}"/>'
                )
        if target is not None:
            tx = left + plot_w * target / scale
            parts.append(f'<line x1="{tx:.1f}" x2="{tx:.1f}" y1="{y}" y2="{y + 44}" stroke="{INK}" stroke-width="3"/>')
        text = f"median {fmt(median)} · 90th {fmt(p90)} · target {fmt(target)}"
        parts.append(f'<text x="{left}" y="{y + 60}" font-size="12" fill="{INK}">{escape(text)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def bars(chart_id: str, title: str, rows: Sequence[tuple[str, float]], color: str = PALETTE[2]) -> str:
    """Horizontal bars, one per row, longest first as given, each with its value."""
    row_h, top, left = 24, 10, 300
    height = top + row_h * max(len(rows), 1) + 10
    plot_w = WIDTH - left - 60
    top_value = max((v for _, v in rows), default=0) or 1.0
    description = "; ".join(f"{label}: {value:g}" for label, value in rows) or "No data."
    parts = _open(chart_id, title, description, height)
    for i, (label, value) in enumerate(rows):
        y = top + i * row_h
        parts.append(
            f'<text x="{left - 8}" y="{y + 16}" font-size="12" text-anchor="end" fill="{INK}">{escape(label)}</text>'
        )
        w = plot_w * value / top_value
        parts.append(f'<rect x="{left}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" fill="{color}"/>')
        x = left + w + 6
        parts.append(f'<text x="{x:.1f}" y="{y + 16}" font-size="12" fill="{INK}">{value:g}</text>')
    parts.append("</svg>")
    return "".join(parts)


def table(table_id: str, caption: str, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A data table: a caption, column headers, one header cell per row (its first value)."""
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in headers)
    body = []
    for row in rows:
        first, *rest = (escape(str(cell)) for cell in row)
        body.append(f'<tr><th scope="row">{first}</th>{"".join(f"<td>{c}</td>" for c in rest)}</tr>')
    if not rows:
        body.append(f'<tr><td colspan="{len(headers)}">No data in this period.</td></tr>')
    return (
        f'<table id="{_attr(table_id)}" class="data"><caption>{escape(caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )
