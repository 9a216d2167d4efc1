"""Renderers: the same written publication as Markdown, HTML, JSON or PDF. Renderers never query the store."""

from __future__ import annotations

from collections.abc import Callable

from ..writer.model import Publication
from .html import render_html
from .jsondoc import render_json
from .markdown import render_markdown

__all__ = ["FORMATS", "render", "render_html", "render_json", "render_markdown", "render_pdf"]


def render_pdf(pub: Publication) -> bytes:
    # fpdf2 (with fontTools and Pillow) costs most of the CLI's start-up: imported only to write a PDF.
    from .pdf import render_pdf as pdf

    return pdf(pub)


FORMATS: dict[str, Callable[[Publication], str | bytes]] = {
    "md": render_markdown,
    "html": render_html,
    "json": render_json,
    "pdf": render_pdf,
}


def render(pub: Publication, fmt: str) -> str | bytes:
    return FORMATS[fmt](pub)
