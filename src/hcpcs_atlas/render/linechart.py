"""SVG line chart of a figure over quarters (ASP payment limit, OPPS rate as a second series): no JS."""

from __future__ import annotations

from html import escape

from ..writer.model import LineChart

__all__ = ["line_chart_svg"]

_W, _H, _LEFT, _RIGHT, _TOP, _BOTTOM = 720, 300, 70, 130, 34, 46
_CLASSES = ("line-a", "line-b", "line-c")


def _bounds(c: LineChart) -> tuple[float, float]:
    values = [v for s in c.series for v in s.values if v is not None]
    low, high = min(values), max(values)
    pad = (high - low) * 0.1 or max(abs(high) * 0.05, 1.0)
    return low - pad, high + pad


def line_chart_svg(c: LineChart) -> str:
    low, high = _bounds(c)
    width, height = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM
    step = width / max(len(c.labels) - 1, 1)

    def xy(i: int, v: float) -> str:
        return f"{_LEFT + i * step:.1f},{_TOP + (high - v) / (high - low) * height:.1f}"

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {_H}" role="img" '
        f'aria-label="{escape(c.title)}" class="chart line-chart">',
        f'<text x="8" y="16" class="chart-title">{escape(c.title)}</text>',
        f'<line x1="{_LEFT}" x2="{_LEFT}" y1="{_TOP}" y2="{_TOP + height}" class="axis-line"/>',
        f'<line x1="{_LEFT}" x2="{_LEFT + width}" y1="{_TOP + height}" y2="{_TOP + height}" class="axis-line"/>',
        f'<text x="{_LEFT - 6}" y="{_TOP + 4}" text-anchor="end" class="axis">${high:,.2f}</text>',
        f'<text x="{_LEFT - 6}" y="{_TOP + height}" text-anchor="end" class="axis">${low:,.2f}</text>',
    ]
    for i, label in enumerate(c.labels):
        parts.append(
            f'<text x="{_LEFT + i * step:.1f}" y="{_H - _BOTTOM + 18}" text-anchor="middle" class="axis">'
            f"{escape(label)}</text>"
        )
    for n, s in enumerate(c.series):
        css = _CLASSES[n % len(_CLASSES)]
        points = [(i, v) for i, v in enumerate(s.values) if v is not None]
        parts.append(
            f'<polyline points="{" ".join(xy(i, v) for i, v in points)}" class="{css}" fill="none"/>'
        )
        parts += [
            f'<circle cx="{xy(i, v).split(",")[0]}" cy="{xy(i, v).split(",")[1]}" r="3" class="{css}"/>'
            for i, v in points
        ]
        parts.append(
            f'<text x="{_W - _RIGHT + 10}" y="{_TOP + 14 + 18 * n}" class="{css} legend">{escape(s.label)}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts)
