"""A small read-only web app over the same facts, writer and renderers: ``hcpcs-atlas serve``.

``/`` lists codes (``?q=`` filters by code or descriptor); ``/CODE`` or ``/CODE.html`` is the publication,
``/CODE.json`` its written form, ``/CODE.md`` Markdown, ``/CODE.pdf`` PDF, ``/CODE/facts.json`` the facts.
"""

from __future__ import annotations

import threading
from html import escape
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from ..errors import NoHcpcsFileError, UnknownCodeError
from ..facts import FactsBuilder, facts_json
from ..render import render
from ..render.html import page
from ..store import Store
from ..writer import write_publication

__all__ = ["make_server"]

_TYPES = {
    "html": "text/html; charset=utf-8",
    "json": "application/json",
    "md": "text/markdown; charset=utf-8",
    "pdf": "application/pdf",
}


class _Atlas:
    """One read-only builder shared by request threads (DuckDB connections are not thread-safe)."""

    def __init__(self, store: Store) -> None:
        self.builder = FactsBuilder(store)
        self.lock = threading.Lock()
        self.index = [(c, self.builder.snapshot.latest("hcpcs", c)) for c in self.builder.codes()]

    def respond(self, path: str, query: str) -> tuple[int, str, bytes]:
        name = path.strip("/")
        if not name:
            return 200, _TYPES["html"], self.listing(parse_qs(query).get("q", [""])[0]).encode()
        if name.endswith("/facts.json"):
            with self.lock:
                return 200, _TYPES["json"], facts_json(self.builder.build(name.split("/")[0])).encode()
        code, _, fmt = name.partition(".")
        fmt = fmt or "html"
        if fmt not in _TYPES:
            return 404, "text/plain", b"unknown format"
        with self.lock:
            content = render(write_publication(self.builder.build(code)), fmt)
        return 200, _TYPES[fmt], content if isinstance(content, bytes) else content.encode()

    def listing(self, q: str) -> str:
        needle = q.strip().lower()
        rows = []
        for code, latest in self.index:
            text = (latest.row["long_description"] or "") if latest else ""
            if needle and needle not in code.lower() and needle not in text.lower():
                continue
            rows.append(
                f'<tr><td><a href="/{escape(code)}">{escape(code)}</a></td><td>{escape(text)}</td></tr>'
            )
        form = f'<form><input name="q" value="{escape(q)}" placeholder="code or words"> <button>Search</button></form>'
        table = f"<table><thead><tr><th>Code</th><th>Descriptor</th></tr></thead><tbody>{''.join(rows[:500])}</tbody></table>"
        return page("hcpcs-atlas", f"<h1>hcpcs-atlas</h1>{form}<p>{len(rows):,} codes</p>{table}")


def make_server(store: Store, host: str = "127.0.0.1", port: int = 8000) -> ThreadingHTTPServer:
    atlas = _Atlas(store)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            try:
                status, kind, body = atlas.respond(url.path, url.query)
            except (UnknownCodeError, NoHcpcsFileError) as exc:
                status, kind, body = HTTPStatus.NOT_FOUND, "text/plain; charset=utf-8", str(exc).encode()
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # quiet; the CLI prints the address
            return

    return ThreadingHTTPServer((host, port), Handler)
