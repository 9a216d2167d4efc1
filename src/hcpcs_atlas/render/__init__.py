"""Renderers: the same written publication as Markdown, HTML, JSON or PDF. Renderers never query the store.

The renderers import the writer's models and the facts' (a third of the CLI's start-up): they load on
first use, so that the commands that never render (``ingest``, ``load``) do not pay for them.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..writer.model import Publication
    from .html import render_html
    from .jsondoc import render_json
    from .markdown import render_markdown
    from .pdf import render_pdf

__all__ = ["FORMATS", "render", "render_html", "render_json", "render_markdown", "render_pdf"]

#: Format -> the function that renders it; function -> the module that holds it.
_RENDERERS = {"md": "render_markdown", "html": "render_html", "json": "render_json", "pdf": "render_pdf"}
_MODULES = {
    "render_markdown": ".markdown",
    "render_html": ".html",
    "render_json": ".jsondoc",
    "render_pdf": ".pdf",
}
#: The formats, in the order they are offered.
FORMATS = tuple(_RENDERERS)


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    function = getattr(import_module(_MODULES[name], __name__), name)
    globals()[name] = function
    return function


def render(pub: Publication, fmt: str) -> str | bytes:
    result: str | bytes = __getattr__(_RENDERERS[fmt])(pub)
    return result
