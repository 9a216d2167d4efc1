"""Renderers: the same written publication as Markdown, HTML, JSON or PDF. Renderers never query the store."""

from __future__ import annotations

from collections.abc import Callable

from ..writer.model import Publication
from .html import render_html
from .jsondoc import render_json
from .markdown import render_markdown
from .pdf import render_pdf

__all__ = ["FORMATS", "render", "render_html", "render_json", "render_markdown", "render_pdf"]

FORMATS: dict[str, Callable[[Publication], str | bytes]] = {
    "md": render_markdown,
    "html": render_html,
    "json": render_json,
    "pdf": render_pdf,
}


def render(pub: Publication, fmt: str) -> str | bytes:
    return FORMATS[fmt](pub)
