"""Markdown renderer. Every string from the writer is plain text, escaped here: payer files carry
``<script>``, ``<img onerror>`` and ``[links](javascript:...)``, which must reach no Markdown viewer as
markup: ``<`` (no tag can open), brackets (no link), backticks, pipes and backslashes are escaped.
Emphasis characters are left as they are (they carry no markup that could harm). Line breaks inside a
string become spaces, so no string can start a heading, a quote or a list."""

from __future__ import annotations

from ..writer.model import (
    BarChart,
    Block,
    Bullets,
    Chart,
    LineChart,
    Notice,
    Paragraph,
    Publication,
    Section,
    Table,
)

__all__ = ["render_markdown"]


_ESCAPES = str.maketrans({c: "\\" + c for c in "\\`[]<|"} | {"\n": " ", "\r": " "})


def _text(text: str) -> str:
    """Plain text as Markdown that shows exactly that text (no HTML, no links, no emphasis)."""
    return text.translate(_ESCAPES)


def _table(t: Table) -> list[str]:
    lines = ["| " + " | ".join(_text(c) for c in t.columns) + " |", "|" + "---|" * len(t.columns)]
    lines += ["| " + " | ".join(_text(c) for c in row) + " |" for row in t.rows]
    return [*lines, *([f"\n_{_text(t.caption)}_"] if t.caption else [])]


def _chart(c: Chart) -> list[str]:
    # Markdown has no charts: the chart's text alternative, which states every figure it draws.
    title = _text(c.title)
    return [f"_{title}_: {_text(c.description)}" if c.description else f"_{title}_"]


def _line_chart(c: LineChart) -> list[str]:
    # The figures are in the table beside it; Markdown names the chart only.
    return [f"_{c.title}: {', '.join(s.label for s in c.series)} (chart in the HTML and PDF editions)_"]


def _block(b: Block) -> list[str]:
    if isinstance(b, Paragraph):
        return [_text(b.text)]
    if isinstance(b, Notice):
        return [f"> **{_text(b.text)}**"]
    if isinstance(b, Bullets):
        return [f"- {_text(item)}" for item in b.items]
    if isinstance(b, Table):
        return _table(b)
    if isinstance(b, BarChart):
        return [f"_{b.title}: the chart in the HTML and PDF editions shows the table above._"]
    if isinstance(b, LineChart):
        return _line_chart(b)
    return _chart(b)


def _section(s: Section, level: int) -> list[str]:
    out = [f"{'#' * level} {_text(s.title)}", ""]
    for b in s.blocks:
        out += [*_block(b), ""]
    for sub in s.subsections:
        out += _section(sub, level + 1)
    return out


def render_markdown(pub: Publication) -> str:
    lines = [f"# {_text(pub.title)}", "", f"_{_text(pub.subtitle)}_", ""]
    for s in pub.sections:
        lines += _section(s, 2)
    return "\n".join(lines).rstrip() + "\n"
