"""PDF renderer (fpdf2). Uses DejaVu Sans when the system has it, else a Latin-1 core font."""

from __future__ import annotations

import io
import re
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import FontFace

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
from .chart import bar_chart_svg, chart_svg
from .linechart import line_chart_svg

__all__ = ["render_pdf"]

_DEJAVU = Path("/usr/share/fonts/truetype/dejavu")


class _Doc:
    def __init__(self) -> None:
        self.pdf = FPDF(format="Letter")
        self.pdf.set_auto_page_break(auto=True, margin=15)
        self.pdf.add_page()
        self.unicode = (_DEJAVU / "DejaVuSans.ttf").is_file() and (_DEJAVU / "DejaVuSans-Bold.ttf").is_file()
        if self.unicode:
            self.pdf.add_font("DejaVu", "", str(_DEJAVU / "DejaVuSans.ttf"))
            self.pdf.add_font("DejaVu", "B", str(_DEJAVU / "DejaVuSans-Bold.ttf"))
        self.family = "DejaVu" if self.unicode else "Helvetica"

    def text(self, value: str) -> str:
        return value if self.unicode else value.encode("latin-1", "replace").decode("latin-1")

    def para(self, value: str, size: float = 9.5, style: str = "") -> None:
        self.pdf.set_font(self.family, style, size)
        self.pdf.multi_cell(0, 5, self.text(value), new_x="LMARGIN", new_y="NEXT")
        self.pdf.ln(1.5)

    def heading(self, value: str, level: int) -> None:
        self.pdf.ln(2)
        self.para(value, {1: 16, 2: 13, 3: 11}.get(level, 10), "B")

    def bars(self, c: BarChart) -> None:
        """The same SVG as the HTML page (its figures are in the table above it)."""
        self.pdf.image(io.BytesIO(bar_chart_svg(c).encode("utf-8")), w=self.pdf.epw)

    def table(self, t: Table) -> None:
        self.pdf.set_font(self.family, "", 7.5 if len(t.columns) > 4 else 8.5)
        with self.pdf.table(
            headings_style=FontFace(emphasis="BOLD"), line_height=4.2, text_align="LEFT", v_align="TOP"
        ) as table:
            for values in [t.columns, *t.rows]:
                row = table.row()
                for value in values:
                    row.cell(self.text(value))
        if t.caption:
            self.para(t.caption, 8)
        self.pdf.ln(2)

    def chart(self, c: Chart) -> None:
        """The same SVG as the HTML page, drawn as vectors, then its text alternative."""
        # fpdf2 draws no <title>/<desc> (and logs each); the description follows as text instead.
        svg = _UNDRAWN.sub("", chart_svg(c))
        self.pdf.image(io.BytesIO(svg.encode("utf-8")), w=self.pdf.epw)
        self.para(c.description, 8)

    def line_chart(self, c: LineChart) -> None:
        self.pdf.image(io.BytesIO(line_chart_svg(c).encode("utf-8")), w=self.pdf.epw)


_UNDRAWN = re.compile(r"<(title|desc)\b[^>]*>.*?</\1>", re.S)


def _block(doc: _Doc, b: Block) -> None:
    if isinstance(b, Paragraph):
        doc.para(b.text)
    elif isinstance(b, Notice):
        doc.para(b.text, 10.5, "B")
    elif isinstance(b, Bullets):
        for item in b.items:
            doc.para("- " + item)
    elif isinstance(b, Table):
        doc.table(b)
    elif isinstance(b, Chart):
        doc.chart(b)
    elif isinstance(b, BarChart):
        doc.bars(b)
    elif isinstance(b, LineChart):
        doc.line_chart(b)


def _section(doc: _Doc, s: Section, level: int) -> None:
    doc.heading(s.title, level)
    for b in s.blocks:
        _block(doc, b)
    for sub in s.subsections:
        _section(doc, sub, level + 1)


def render_pdf(pub: Publication) -> bytes:
    doc = _Doc()
    doc.heading(pub.title, 1)
    doc.para(pub.subtitle, 9, "")
    for s in pub.sections:
        _section(doc, s, 2)
    return bytes(doc.pdf.output())
