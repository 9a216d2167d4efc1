"""SVG charts (self-contained, no JS): the box plot of negotiated rates per payer with the Medicare amount
marked, and grouped bars for comparing codes (the web application's compare page).

Styles are presentation attributes, not CSS classes, so the same SVG draws the same in a browser, as a
standalone file and in the PDF (fpdf2). Axis ticks are round dollar amounts formatted like every other
figure (writer/fmt.py); ``<title>`` and ``<desc>`` carry the chart's text alternative.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from html import escape

from ..writer.fmt import usd
from ..writer.model import BarChart, Chart

__all__ = ["bar_chart_svg", "bars_svg", "chart_svg", "ticks"]

_W, _LABEL, _ROW, _TOP, _RIGHT = 720, 190, 34, 58, 30
_INK, _MUTED, _LINE, _ACCENT, _WARN = "#1d2430", "#5b6575", "#d8dde5", "#0b5cad", "#9c1c1c"
_TEXT = f'font-size="12" fill="{_INK}"'


def ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values (1, 2, 2.5 or 5 times a power of ten) that span [low, high]."""
    if high <= low:
        low, high = low - 1, high + 1
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first, last = math.floor(low / step), math.ceil(high / step)
    # round(): 9 * 0.002 is 0.018000000000000002 in floats; the tick is 0.018.
    return [round(float(i * step), 12) for i in range(first, last + 1)]


def _values(c: Chart) -> list[float]:
    values = [v for s in c.series for v in (s.min, s.max)]
    return [*values, c.reference] if c.reference is not None else values


def chart_svg(c: Chart) -> str:
    marks = ticks(min(_values(c)), max(_values(c)))
    low, high = marks[0], marks[-1]
    width = _W - _LABEL - _RIGHT

    def x(v: float) -> float:
        return _LABEL + (v - low) / (high - low) * width

    axis_y = _TOP + _ROW * len(c.series) + 6
    height = axis_y + 66
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {height}" width="{_W}" height="{height}" '
        'role="img" aria-labelledby="chart-title chart-desc" class="chart">',
        f'<title id="chart-title">{escape(c.title)}</title>',
        f'<desc id="chart-desc">{escape(c.description or c.title)}</desc>',
        f'<text x="8" y="18" font-size="14" font-weight="bold" fill="{_INK}">{escape(c.title)}</text>',
        *_grid(marks, x, axis_y),
    ]
    for i, s in enumerate(c.series):
        y = _TOP + i * _ROW + _ROW / 2
        parts += [
            f'<text x="{_LABEL - 8}" y="{y + 4:.1f}" text-anchor="end" {_TEXT}>{escape(s.label)} (n={s.n})</text>',
            f'<line x1="{x(s.p10):.1f}" x2="{x(s.p90):.1f}" y1="{y:.1f}" y2="{y:.1f}" stroke="{_ACCENT}"/>',
            f'<rect x="{x(s.p25):.1f}" y="{y - 9:.1f}" width="{max(x(s.p75) - x(s.p25), 1):.1f}" height="18" '
            f'fill="#cfe0f5" stroke="{_ACCENT}"/>',
            f'<line x1="{x(s.median):.1f}" x2="{x(s.median):.1f}" y1="{y - 9:.1f}" y2="{y + 9:.1f}" '
            f'stroke="{_INK}" stroke-width="2"/>',
            f'<circle cx="{x(s.min):.1f}" cy="{y:.1f}" r="2.5" fill="{_MUTED}"/>',
            f'<circle cx="{x(s.max):.1f}" cy="{y:.1f}" r="2.5" fill="{_MUTED}"/>',
        ]
    parts += _reference(c, x(c.reference), axis_y) if c.reference is not None else []
    parts += [
        f'<text x="{_LABEL + width / 2:.1f}" y="{axis_y + 38}" text-anchor="middle" {_TEXT}>'
        f"{escape(c.axis_label or c.unit)}</text>",
        f'<text x="{_LABEL + width / 2:.1f}" y="{axis_y + 58}" text-anchor="middle" font-size="11" '
        f'fill="{_MUTED}">box: p25-p75, bar: median, whiskers: p10-p90, dots: min and max</text>',
        "</svg>",
    ]
    return "\n".join(parts)


def _grid(marks: list[float], x: Callable[[float], float], axis_y: float, top: float = _TOP) -> list[str]:
    """Vertical grid lines, the axis line, and dollar tick labels (grouped: they are not facts)."""
    parts = [f'<g class="ticks" font-size="11" fill="{_MUTED}" text-anchor="middle">']
    for v in marks:
        px = x(v)
        parts += [
            f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{top - 4}" y2="{axis_y}" stroke="{_LINE}"/>',
            f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{axis_y}" y2="{axis_y + 5}" stroke="{_MUTED}"/>',
            f'<text x="{px:.1f}" y="{axis_y + 18}">{usd(v)}</text>',
        ]
    parts += [
        f'<line x1="{_LABEL}" x2="{_W - _RIGHT}" y1="{axis_y}" y2="{axis_y}" stroke="{_MUTED}"/>',
        "</g>",
    ]
    return parts


def _reference(c: Chart, rx: float, axis_y: float) -> list[str]:
    anchor = "end" if rx > _LABEL + (_W - _LABEL) / 2 else "start"
    shift = -4 if anchor == "end" else 4
    return [
        f'<line x1="{rx:.1f}" x2="{rx:.1f}" y1="{_TOP - 14}" y2="{axis_y}" stroke="{_WARN}" '
        'stroke-width="2" stroke-dasharray="4 3"/>',
        f'<text x="{rx + shift:.1f}" y="{_TOP - 18}" text-anchor="{anchor}" font-size="12" fill="{_WARN}">'
        f"{escape(c.reference_label or usd(c.reference or 0))}</text>",
    ]


_BAR_ROW, _BAR_LABEL, _BAR_VALUE = 22, 70, 170


def bar_chart_svg(c: BarChart) -> str:
    """Horizontal bars from zero, each labelled with its value (rounded as the tables round it)."""
    high = max((b.value for b in c.bars), default=0) or 1
    width = _W - _BAR_LABEL - _BAR_VALUE
    height = _TOP + _BAR_ROW * len(c.bars) + 12
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {height}" width="{_W}" height="{height}" '
        f'role="img" aria-label="{escape(c.title)}" class="chart">',
        f'<text x="8" y="20" font-size="13" font-weight="bold" fill="{_INK}">{escape(c.title)}</text>',
    ]
    for i, b in enumerate(c.bars):
        y = _TOP - 24 + i * _BAR_ROW
        w = max(b.value / high * width, 1)
        parts += [
            f'<text x="{_BAR_LABEL - 8}" y="{y + 14}" text-anchor="end" {_TEXT}>{escape(b.label)}</text>',
            f'<rect x="{_BAR_LABEL}" y="{y + 3}" width="{w:.1f}" height="15" fill="{_ACCENT}"/>',
            f'<text x="{_BAR_LABEL + w + 6:.1f}" y="{y + 14}" {_TEXT}>{escape(usd(b.value))} ({escape(b.note)})</text>',
        ]
    parts.append("</svg>")
    return "\n".join(parts)


#: Bar colours by series (Medicare first), distinguishable in greyscale print by order and legend.
_SERIES = ["#0b5cad", "#c0392b", "#2e8b57", "#8e44ad", "#d35400", "#16a085", "#7f8c8d"]


def bars_svg(title: str, groups: list[str], series: list[str], values: list[list[float | None]]) -> str:
    """Horizontal grouped bars from $0: one group per code, one bar per series (``values[group][series]``,
    None draws no bar), a legend above, dollar ticks below, the figures in ``<desc>``."""
    present = [v for row in values for v in row if v is not None]
    marks = ticks(0.0, max(present) if present else 1.0)
    high, width, bar, gap = marks[-1], _W - _LABEL - _RIGHT, 14, 14
    top = 30 + 22 * math.ceil(len(series) / 3)
    axis_y = top + len(groups) * (len(series) * bar + gap)

    def x(v: float) -> float:
        return _LABEL + v / high * width

    alt = "; ".join(
        f"{g}: "
        + ", ".join(f"{s} {usd(v) if v is not None else 'no data'}" for s, v in zip(series, row, strict=True))
        for g, row in zip(groups, values, strict=True)
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {axis_y + 30}" width="{_W}" height="{axis_y + 30}" '
        'role="img" aria-labelledby="bars-title bars-desc" class="chart">',
        f'<title id="bars-title">{escape(title)}</title><desc id="bars-desc">{escape(alt)}.</desc>',
        f'<text x="8" y="18" font-size="14" font-weight="bold" fill="{_INK}">{escape(title)}</text>',
        *_legend(series),
        *_grid(marks, x, axis_y, top),
    ]
    for g, (group, row) in enumerate(zip(groups, values, strict=True)):
        y0 = top + g * (len(series) * bar + gap) + gap / 2
        parts.append(
            f'<text x="{_LABEL - 8}" y="{y0 + len(series) * bar / 2 + 4:.1f}" text-anchor="end" {_TEXT}>{escape(group)}</text>'
        )
        parts += [
            f'<rect x="{_LABEL}" y="{y0 + k * bar:.1f}" width="{max(x(v) - _LABEL, 1):.1f}" height="{bar - 2}" '
            f'fill="{_SERIES[k % len(_SERIES)]}"><title>{escape(series[k])}: {usd(v)}</title></rect>'
            for k, v in enumerate(row)
            if v is not None
        ]
    parts.append("</svg>")
    return "\n".join(parts)


def _legend(series: list[str]) -> list[str]:
    parts = []
    for k, name in enumerate(series):
        lx, ly = 8 + (k % 3) * 235, 30 + (k // 3) * 22
        parts += [
            f'<rect x="{lx}" y="{ly}" width="12" height="12" fill="{_SERIES[k % len(_SERIES)]}"/>',
            f'<text x="{lx + 18}" y="{ly + 11}" {_TEXT}>{escape(name)}</text>',
        ]
    return parts
