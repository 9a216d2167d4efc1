"""SVG box plot of negotiated rates per payer with the Medicare amount marked (self-contained, no JS)."""

from __future__ import annotations

from html import escape

from ..writer.fmt import usd
from ..writer.model import Chart

__all__ = ["chart_svg"]

_W, _LABEL, _ROW, _PAD = 720, 190, 34, 44


def _scale(c: Chart) -> tuple[float, float]:
    values = [v for s in c.series for v in (s.min, s.max)]
    if c.reference:
        values.append(c.reference)
    low, high = min(values), max(values)
    return (low, high) if high > low else (low - 1, high + 1)


def chart_svg(c: Chart) -> str:
    low, high = _scale(c)
    width = _W - _LABEL - _PAD

    def x(v: float) -> float:
        return _LABEL + (v - low) / (high - low) * width

    height = _PAD * 2 + _ROW * len(c.series)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {height}" role="img" '
        f'aria-label="{escape(c.title)}" class="chart">',
        f'<text x="8" y="16" class="chart-title">{escape(c.title)}</text>',
    ]
    for i, s in enumerate(c.series):
        y = _PAD + i * _ROW + _ROW / 2
        parts += [
            f'<text x="{_LABEL - 8}" y="{y + 4:.1f}" text-anchor="end">{escape(s.label)} (n={s.n})</text>',
            f'<line x1="{x(s.p10):.1f}" x2="{x(s.p90):.1f}" y1="{y:.1f}" y2="{y:.1f}" class="whisker"/>',
            f'<rect x="{x(s.p25):.1f}" y="{y - 9:.1f}" width="{max(x(s.p75) - x(s.p25), 1):.1f}" height="18" class="box"/>',
            f'<line x1="{x(s.median):.1f}" x2="{x(s.median):.1f}" y1="{y - 9:.1f}" y2="{y + 9:.1f}" class="median"/>',
            f'<circle cx="{x(s.min):.1f}" cy="{y:.1f}" r="2.5" class="extreme"/>',
            f'<circle cx="{x(s.max):.1f}" cy="{y:.1f}" r="2.5" class="extreme"/>',
        ]
    if c.reference is not None:
        rx = x(c.reference)
        anchor = "end" if rx > _W / 2 else "start"
        shift = -4 if anchor == "end" else 4
        parts += [
            f'<line x1="{rx:.1f}" x2="{rx:.1f}" y1="{_PAD - 14}" y2="{height - _PAD + 6}" class="reference"/>',
            f'<text x="{rx + shift:.1f}" y="{_PAD - 18}" text-anchor="{anchor}" class="reference-label">'
            f"{escape(c.reference_label or '')}</text>",
        ]
    parts += [
        f'<text x="{_LABEL}" y="{height - 8}" class="axis">{usd(low)}</text>',
        f'<text x="{_W - _PAD}" y="{height - 8}" text-anchor="end" class="axis">{usd(high)}</text>',
        f'<text x="{_LABEL + width / 2:.1f}" y="{height - 8}" text-anchor="middle" class="axis">'
        "box: p25-p75, bar: median, whiskers: p10-p90, dots: min and max</text>",
        "</svg>",
    ]
    return "\n".join(parts)
