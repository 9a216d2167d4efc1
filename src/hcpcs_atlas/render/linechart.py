"""SVG line chart of a figure over quarters (ASP payment limit, OPPS rate as a second series): no JS.

Styles are presentation attributes, as in the box plot, so the same SVG draws in a browser and the PDF.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from ..writer.fmt import usd_limit
from ..writer.model import LineChart, LineSeries

__all__ = ["line_chart_svg"]

_W, _H, _LEFT, _RIGHT, _TOP, _BOTTOM = 720, 300, 70, 130, 34, 46
_INK, _MUTED = "#1d2430", "#5b6575"
_COLOURS = ("#0b5cad", "#9c1c1c", "#2f7d32")
_TEXT = f'font-size="12" fill="{_INK}"'


def _values(c: LineChart) -> list[float]:
    return [v for s in c.series for v in s.values if v is not None]


def _bounds(c: LineChart) -> tuple[float, float]:
    values = _values(c)
    low, high = min(values), max(values)
    pad = (high - low) * 0.1 or max(abs(high) * 0.05, 1.0)
    return low - pad, high + pad


@dataclass(frozen=True)
class _Frame:
    """Where a quarter and an amount land in the drawing area."""

    low: float
    high: float
    step: float

    def x(self, i: int) -> float:
        return _LEFT + i * self.step

    def y(self, v: float) -> float:
        return _TOP + (self.high - v) / (self.high - self.low) * (_H - _TOP - _BOTTOM)


def line_chart_svg(c: LineChart) -> str:
    low, high = _bounds(c)
    width, bottom = _W - _LEFT - _RIGHT, _H - _BOTTOM
    f = _Frame(low, high, width / max(len(c.labels) - 1, 1))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {_H}" role="img" '
        f'width="{_W}" height="{_H}" aria-label="{escape(c.title)}" class="chart line-chart">',
        f'<text x="8" y="18" font-size="14" font-weight="bold" fill="{_INK}">{escape(c.title)}</text>',
        f'<line x1="{_LEFT}" x2="{_LEFT}" y1="{_TOP}" y2="{bottom}" stroke="{_MUTED}"/>',
        f'<line x1="{_LEFT}" x2="{_LEFT + width}" y1="{bottom}" y2="{bottom}" stroke="{_MUTED}"/>',
    ]
    # The axis names the lowest and highest figures drawn, at their height, as the tables show them.
    parts += [
        f'<text x="{_LEFT - 6}" y="{f.y(v):.1f}" text-anchor="end" {_TEXT}>{escape(usd_limit(v))}</text>'
        for v in (min(_values(c)), max(_values(c)))
    ]
    parts += [
        f'<text x="{f.x(i):.1f}" y="{bottom + 18}" text-anchor="middle" {_TEXT}>{escape(label)}</text>'
        for i, label in enumerate(c.labels)
    ]
    for n, s in enumerate(c.series):
        parts += _series(f, s, n)
    parts.append("</svg>")
    return "\n".join(parts)


def _series(f: _Frame, s: LineSeries, n: int) -> list[str]:
    colour = _COLOURS[n % len(_COLOURS)]
    points = [(f.x(i), f.y(v)) for i, v in enumerate(s.values) if v is not None]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    legend_y = _TOP + 14 + 18 * n
    return [
        f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="2"/>',
        *(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>' for x, y in points),
        f'<text x="{_W - _RIGHT + 10}" y="{legend_y}" font-size="12" fill="{colour}">{escape(s.label)}</text>',
    ]
