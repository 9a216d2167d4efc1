"""Secure defaults around the ASGI app: read-only methods, no request bodies, bounded URLs and time, and
security headers on every response (a CSP without inline script, no framing, no sniffing, no CORS)."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["CSP", "Guard"]

#: Scripts only from this origin (the static site's search.js; the server itself sends none), no inline
#: script or style attributes, nothing from elsewhere.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-resource-policy", b"same-origin"),
]
MAX_URL = 2048
MAX_BODY = 0  # every route is a read: a request with a body is refused
TIME_LIMIT = 15.0


class Guard:
    def __init__(self, app: ASGIApp, time_limit: float = TIME_LIMIT) -> None:
        self.app = app
        self.time_limit = time_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = _refusal(scope)
        if refusal:
            await _plain(send, *refusal)
            return
        started = False

        async def send_secured(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        try:
            await asyncio.wait_for(self.app(scope, receive, send_secured), self.time_limit)
        except TimeoutError:
            if not started:
                await _plain(send, 503, "timeout", "the request took too long")


def _refusal(scope: Scope) -> tuple[int, str, str] | None:
    if scope["method"] not in ("GET", "HEAD"):
        return 405, "method_not_allowed", "this server is read-only: GET and HEAD only"
    if len(scope.get("raw_path", b"")) + len(scope.get("query_string", b"")) > MAX_URL:
        return 414, "uri_too_long", f"the URL is longer than {MAX_URL} bytes"
    headers = dict(scope.get("headers", []))
    length = headers.get(b"content-length", b"0")
    if b"transfer-encoding" in headers or not length.isdigit() or int(length) > MAX_BODY:
        return 413, "body_too_large", "requests may not carry a body"
    return None


async def _plain(send: Send, status: int, code: str, message: str) -> None:
    body = orjson.dumps({"error": {"status": status, "code": code, "message": message}}) + b"\n"
    headers: list[Any] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *SECURITY_HEADERS,
    ]
    if status == 405:
        headers.append((b"allow", b"GET, HEAD"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
