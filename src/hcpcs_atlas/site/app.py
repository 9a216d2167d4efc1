"""The web application (ASGI, Starlette): read-only pages over the store, each with a ``.json`` twin, and a
JSON API under ``/api/v1``. ``hcpcs-atlas serve`` runs it with uvicorn (site/serve.py).

Pages: ``/`` (search box), ``/search?q=``, ``/CODE`` (the publication; ``.html``, ``.json``, ``.md``,
``.pdf``, ``/CODE/facts.json``), ``/compare?codes=``, ``/payers``, ``/payer/NAME``, ``/changes``,
``/sources``. Concurrency and caching: site/state.py. Security: site/guard.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..errors import NoHcpcsFileError, UnknownCodeError
from ..facts import facts_json
from ..render import render
from ..render.html import CSS, render_html
from ..writer import write_publication
from . import pages, views
from .guard import Guard
from .openapi import openapi_document
from .state import Atlas, Generation, StoreBusyError

__all__ = ["create_app"]

HTML = "text/html; charset=utf-8"
JSON = "application/json"
_FORMATS = {"html": HTML, "json": JSON, "md": "text/markdown; charset=utf-8", "pdf": "application/pdf"}
_LINKS = pages.Links()

Body = str | bytes


def _json(data: Any) -> bytes:
    return orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n"


class _Site:
    """Route handlers over one Atlas. Handlers are sync: Starlette runs them in its thread pool."""

    def __init__(self, atlas: Atlas) -> None:
        self.atlas = atlas

    def cached(self, gen: Generation, key: tuple[Any, ...], make: Callable[[], Body]) -> bytes:
        found: bytes | None = gen.pages.get(key)
        if found is None:
            body = make()
            found = gen.pages.put(key, body.encode() if isinstance(body, str) else body)
        assert found is not None
        return found

    # pages -------------------------------------------------------------------------------------------
    def home(self, request: Request) -> Response:
        gen = self.atlas.current()
        return _ok(self.cached(gen, ("home",), lambda: pages.home_page(views.home_view(gen), _LINKS)), HTML)

    def home_json(self, request: Request) -> Response:
        return _ok(_json(views.home_view(self.atlas.current())), JSON)

    def search(self, request: Request) -> Response:
        return self._search(request, json=False)

    def search_json(self, request: Request) -> Response:
        return self._search(request, json=True)

    def _search(self, request: Request, json: bool) -> Response:
        gen = self.atlas.current()
        q = request.query_params.get("q", "").strip()
        limit, offset = views.page_args(request.query_params.get("limit"), request.query_params.get("offset"))
        key = ("search", json, q, limit, offset)

        def make() -> Body:
            data = views.search_view(gen, q, limit, offset)
            return _json(data) if json else pages.search_page(data, _LINKS)

        return _ok(self.cached(gen, key, make), JSON if json else HTML)

    def compare(self, request: Request) -> Response:
        return self._compare(request, json=False)

    def compare_json(self, request: Request) -> Response:
        return self._compare(request, json=True)

    def _compare(self, request: Request, json: bool) -> Response:
        gen = self.atlas.current()
        codes = request.query_params.get("codes", "").strip()
        if not codes and not json:
            return _ok(pages.compare_form(_LINKS).encode(), HTML)

        def make() -> Body:
            data = views.compare_view(self.atlas, gen, codes)
            return _json(data) if json else pages.compare_page(data, codes, _LINKS)

        return _ok(self.cached(gen, ("compare", json, codes.upper()), make), JSON if json else HTML)

    def payers(self, request: Request) -> Response:
        gen = self.atlas.current()
        data = views.payers_view(gen)
        return _ok(pages.payers_page(data, _LINKS).encode(), HTML)

    def payers_json(self, request: Request) -> Response:
        return _ok(_json(views.payers_view(self.atlas.current())), JSON)

    def payer(self, request: Request) -> Response:
        gen = self.atlas.current()
        name = request.path_params["name"]
        json = name.endswith(".json")
        name = name.removesuffix(".json") if json else name

        def make() -> Body:
            data = views.payer_view(self.atlas, gen, name)
            return _json(data) if json else pages.payer_page(data, _LINKS)

        return _ok(self.cached(gen, ("payer", json, name), make), JSON if json else HTML)

    def changes(self, request: Request) -> Response:
        return self._changes(request, json=False)

    def changes_json(self, request: Request) -> Response:
        return self._changes(request, json=True)

    def _changes(self, request: Request, json: bool) -> Response:
        gen = self.atlas.current()
        params = request.query_params
        limit, offset = views.page_args(params.get("limit"), params.get("offset"), default=200)
        source, since = params.get("source") or None, params.get("since") or None
        data = views.changes_view(self.atlas, gen, source, since, limit, offset)
        return _ok(_json(data) if json else pages.changes_page(data, _LINKS).encode(), JSON if json else HTML)

    def sources(self, request: Request) -> Response:
        data = views.sources_view(self.atlas.current().files)
        return _ok(pages.sources_page(data, _LINKS).encode(), HTML)

    def sources_json(self, request: Request) -> Response:
        return _ok(_json(views.sources_view(self.atlas.current().files)), JSON)

    def stylesheet(self, request: Request) -> Response:
        return Response(CSS, media_type="text/css; charset=utf-8", headers={"Cache-Control": "max-age=3600"})

    def publication(self, request: Request) -> Response:
        name = request.path_params["name"]
        code, _, fmt = name.partition(".")
        fmt = fmt or "html"
        if fmt not in _FORMATS or not _is_code(code):
            raise views.ViewError(404, "not_found", f"/{name}: no such page")
        gen = self.atlas.current()
        return _ok(
            self.cached(gen, ("code", code.upper(), fmt), lambda: self._render(gen, code, fmt)), _FORMATS[fmt]
        )

    def _render(self, gen: Generation, code: str, fmt: str) -> Body:
        pub = write_publication(self._facts(gen, code))
        if fmt == "html":
            return render_html(pub, stylesheet=_LINKS.css, header=pages.site_header(_LINKS))
        return render(pub, fmt)

    def facts(self, request: Request) -> Response:
        code = request.path_params["code"]
        if not _is_code(code):
            raise views.ViewError(404, "not_found", f"/{code}/facts.json: no such page")
        gen = self.atlas.current()
        return _ok(
            self.cached(gen, ("facts", code.upper()), lambda: facts_json(self._facts(gen, code))), JSON
        )

    def _facts(self, gen: Generation, code: str) -> Any:
        try:
            return self.atlas.facts(gen, code)
        except (UnknownCodeError, NoHcpcsFileError) as exc:
            raise views.ViewError(404, "unknown_code", str(exc)) from exc

    # API ---------------------------------------------------------------------------------------------
    def api_codes(self, request: Request) -> Response:
        limit, offset = views.page_args(request.query_params.get("limit"), request.query_params.get("offset"))
        return _ok(_json(views.code_list(self.atlas.current(), limit, offset)), JSON)

    def api_payer(self, request: Request) -> Response:
        gen = self.atlas.current()
        return _ok(_json(views.payer_view(self.atlas, gen, request.path_params["name"])), JSON)

    def openapi(self, request: Request) -> Response:
        return _ok(_json(openapi_document()), JSON)


def _is_code(code: str) -> bool:
    return len(code) == 5 and code.isascii() and code.isalnum()


def _ok(body: bytes, media_type: str) -> Response:
    return Response(body, media_type=media_type)


def error_response(request: Request, status: int, code: str, message: str) -> Response:
    """Stable error bodies: JSON ``{"error": {"status", "code", "message"}}`` for API and .json paths."""
    path = request.url.path
    headers = {"Retry-After": "2"} if status == 503 else None
    if path.startswith("/api/") or path.endswith(".json"):
        body = {"error": {"status": status, "code": code, "message": message}}
        return Response(_json(body), status_code=status, media_type=JSON, headers=headers)
    return Response(
        pages.error_page(status, message, _LINKS), status_code=status, media_type=HTML, headers=headers
    )


async def _view_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, views.ViewError)
    return error_response(request, exc.status, exc.code, exc.message)


async def _busy(request: Request, exc: Exception) -> Response:
    return error_response(request, 503, "store_busy", "a load is running; try again in a few seconds")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    message = "no such page" if exc.status_code == 404 else str(exc.detail)
    return error_response(request, exc.status_code, code, message)


async def _internal(request: Request, exc: Exception) -> Response:
    return error_response(request, 500, "internal_error", "the server could not answer this request")


def create_app(atlas: Atlas) -> Guard:
    """The ASGI application over ``atlas``, wrapped in the security guard."""
    s = _Site(atlas)
    api = [
        Route("/api/v1/openapi.json", s.openapi),
        Route("/api/v1/codes", s.api_codes),
        Route("/api/v1/codes/{code}", s.facts),
        Route("/api/v1/search", s.search_json),
        Route("/api/v1/compare", s.compare_json),
        Route("/api/v1/changes", s.changes_json),
        Route("/api/v1/payers", s.payers_json),
        Route("/api/v1/payers/{name:path}", s.api_payer),
        Route("/api/v1/sources", s.sources_json),
    ]
    routes = [
        Route("/", s.home),
        Route("/index.json", s.home_json),
        Route("/search", s.search),
        Route("/search.json", s.search_json),
        Route("/compare", s.compare),
        Route("/compare.json", s.compare_json),
        Route("/payers", s.payers),
        Route("/payers.json", s.payers_json),
        Route("/payer/{name:path}", s.payer),
        Route("/changes", s.changes),
        Route("/changes.json", s.changes_json),
        Route("/sources", s.sources),
        Route("/sources.json", s.sources_json),
        Route("/static/atlas.css", s.stylesheet),
        *api,
        Route("/{code}/facts.json", s.facts),
        Route("/{name}", s.publication),
    ]
    handlers: dict[Any, Any] = {
        views.ViewError: _view_error,
        StoreBusyError: _busy,
        HTTPException: _http_error,
        Exception: _internal,
    }
    app = Starlette(routes=routes, exception_handlers=handlers)
    app.state.atlas = atlas
    return Guard(app)
