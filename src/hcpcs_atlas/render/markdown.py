"""Markdown renderer."""

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


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(t: Table) -> list[str]:
    lines = ["| " + " | ".join(_cell(c) for c in t.columns) + " |", "|" + "---|" * len(t.columns)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in t.rows]
    return [*lines, *([f"\n_{t.caption}_"] if t.caption else [])]


def _chart(c: Chart) -> list[str]:
    # Markdown has no charts: the chart's text alternative, which states every figure it draws.
    return [f"_{c.title}_: {c.description}" if c.description else f"_{c.title}_"]


def _line_chart(c: LineChart) -> list[str]:
    # The figures are in the table beside it; Markdown names the chart only.
    return [f"_{c.title}: {', '.join(s.label for s in c.series)} (chart in the HTML and PDF editions)_"]


def _block(b: Block) -> list[str]:
    if isinstance(b, Paragraph):
        return [b.text]
    if isinstance(b, Notice):
        return [f"> **{b.text}**"]
    if isinstance(b, Bullets):
        return [f"- {item}" for item in b.items]
    if isinstance(b, Table):
        return _table(b)
    if isinstance(b, BarChart):
        return [f"_{b.title}: the chart in the HTML and PDF editions shows the table above._"]
    if isinstance(b, LineChart):
        return _line_chart(b)
    return _chart(b)


def _section(s: Section, level: int) -> list[str]:
    out = [f"{'#' * level} {s.title}", ""]
    for b in s.blocks:
        out += [*_block(b), ""]
    for sub in s.subsections:
        out += _section(sub, level + 1)
    return out


def render_markdown(pub: Publication) -> str:
    lines = [f"# {pub.title}", "", f"_{pub.subtitle}_", ""]
    for s in pub.sections:
        lines += _section(s, 2)
    return "\n".join(lines).rstrip() + "\n"
