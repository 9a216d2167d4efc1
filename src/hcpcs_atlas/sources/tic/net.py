"""What a TiC read may fetch or open, and how long it may wait: the trust rules for locations.

Payer files are untrusted input, and so is every location written inside them:

- a location inside a document fetched over http(s) may only be http(s): never a local path or
  ``file://`` (a relative location resolves against the document's URL, which keeps it http(s));
- a location inside a local document may name a local file (resolved relative to that document) only
  when the user allowed it (``--allow-local-refs``);
- redirects are followed (at most :data:`MAX_REDIRECTS`) only to http(s);
- errors name the location (made printable, shortened) but never echo bytes read from it.

Timeouts: ``connect`` bounds opening the connection; ``read`` bounds each wait for more bytes; a
``deadline`` (a :func:`time.monotonic` instant) bounds a whole download however slowly bytes trickle in.
"""

from __future__ import annotations

import http.client
import io
import socket
import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from ...text import printable

__all__ = [
    "DEFAULT_OPTIONS",
    "SPLIT_AFTER_BYTES",
    "SPLIT_AT_ONCE_BYTES",
    "FetchError",
    "ReadOptions",
    "is_url",
    "open_url",
    "resolve_location",
]

USER_AGENT = "hcpcs-atlas (Transparency-in-Coverage reader)"
MAX_REDIRECTS = 5
HTTP_SCHEMES = ("http", "https")


@dataclass(frozen=True)
class ReadOptions:
    """Limits of one TiC read; the CLI sets them (``hcpcs-atlas ingest tic --help``)."""

    connect_timeout_s: float = 10.0
    read_timeout_s: float = 60.0
    #: all remote provider references of one file, fetched together, must arrive within this
    refs_deadline_s: float = 300.0
    ref_workers: int = 4
    allow_local_refs: bool = False
    #: the largest single JSON object (an in_network item, a provider group) held in memory
    max_item_bytes: int = 64 << 20
    #: a local file is read with a helper process on a second core (:mod:`.split`) once this many bytes
    #: of kept items have been seen; None (the library's default: Spark and pool workers use every core
    #: already): never. ``ingest tic`` sets :data:`SPLIT_AFTER_BYTES` when it may use more than one process.
    split_after_bytes: int | None = None


#: The helper's start (a process importing pyarrow: ~0.7 CPU-s) did not pay on the real HealthSCOPE file
#: (28 MB of kept items, ~2 CPU-s of staging: +0.7 CPU-s, no faster); it starts after 32 MB of kept items.
SPLIT_AFTER_BYTES = 32 << 20

#: A local file this large (as stored) starts its helper before the read, not after SPLIT_AFTER_BYTES of kept
#: items: the 1 GB realistic file (32 MB gzip) had 7.7 K of its 83 K kept items parsed by the main process
#: before the helper started (~1 CPU-s in the process that bounds the wall time), while the helper's
#: imports can overlap the main process's own start. HealthSCOPE (2.6 MB gzip) keeps the rule above.
SPLIT_AT_ONCE_BYTES = 16 << 20


DEFAULT_OPTIONS = ReadOptions()


class FetchError(Exception):
    """A location that could not (or may not) be fetched. ``str()`` is safe to print."""


def is_url(source: object) -> bool:
    return isinstance(source, str) and source.lower().startswith(("http://", "https://"))


def resolve_location(location: str, document: str, allow_local: bool) -> str:
    """Where a location written inside ``document`` points: an http(s) URL, or a local path.

    Raises FetchError for what the rules above refuse.
    """
    scheme = urlsplit(location).scheme.lower()
    if scheme in HTTP_SCHEMES:
        return location
    if is_url(document):
        if scheme and len(scheme) > 1:  # file:, ftp:, data: ... (one letter is a Windows drive)
            raise FetchError(f"refused: a {scheme}: location in a document fetched over http(s)")
        return urljoin(document, location)
    if scheme and len(scheme) > 1 and scheme != "file":
        raise FetchError(f"refused: a {scheme}: location (only http(s) and, if allowed, local files)")
    if not allow_local:
        raise FetchError("refused: a local file location (allow it with --allow-local-refs)")
    local = Path(unquote(urlsplit(location).path)) if scheme == "file" else Path(location)
    return str(local if local.is_absolute() else Path(document).resolve().parent / local)


class _Response(io.RawIOBase):
    """The body of one response; closing it closes the connection. Enforces the deadline per read."""

    def __init__(self, conn: http.client.HTTPConnection, resp: http.client.HTTPResponse, read_s: float,
                 deadline: float | None) -> None:  # fmt: skip
        self._conn, self._resp, self._read_s, self._deadline = conn, resp, read_s, deadline
        self.headers = resp.headers

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._deadline is not None:
            left = self._deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("deadline exceeded")
            if self._conn.sock is not None:
                self._conn.sock.settimeout(min(self._read_s, left))
        return self._resp.readinto(buffer)

    def close(self) -> None:
        if not self.closed:
            self._resp.close()
            self._conn.close()
        super().close()


def open_url(url: str, options: ReadOptions = DEFAULT_OPTIONS, deadline: float | None = None) -> _Response:
    """GET an http(s) URL, following redirects to http(s) only. Raises FetchError, or OSError on the way."""
    for _ in range(MAX_REDIRECTS + 1):
        conn, resp = _request(url, options, deadline)
        if resp.status not in (301, 302, 303, 307, 308):
            if resp.status >= 400:
                resp.close()
                conn.close()
                raise FetchError(f"HTTP {resp.status} {printable(resp.reason, 60)}")
            return _Response(conn, resp, options.read_timeout_s, deadline)
        target = resp.getheader("Location") or ""
        resp.close()
        conn.close()
        url = urljoin(url, target)
        scheme = urlsplit(url).scheme.lower()
        if scheme not in HTTP_SCHEMES:
            raise FetchError(f"refused: a redirect to a {printable(scheme, 20) or 'schemeless'} location")
    raise FetchError(f"more than {MAX_REDIRECTS} redirects")


def _request(
    url: str, options: ReadOptions, deadline: float | None
) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
    parts = urlsplit(url)
    if parts.scheme.lower() not in HTTP_SCHEMES or not parts.hostname:
        raise FetchError("refused: not an http(s) URL")
    connect_s = options.connect_timeout_s
    if deadline is not None:
        connect_s = max(min(connect_s, deadline - time.monotonic()), 0.001)
    conn: http.client.HTTPConnection
    if parts.scheme.lower() == "https":
        conn = http.client.HTTPSConnection(
            parts.hostname, parts.port, timeout=connect_s, context=ssl.create_default_context()
        )
    else:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=connect_s)
    try:
        conn.connect()
        assert conn.sock is not None
        read_s = options.read_timeout_s
        conn.sock.settimeout(
            read_s if deadline is None else max(min(read_s, deadline - time.monotonic()), 0.001)
        )
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn.request("GET", path, headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"})
        return conn, conn.getresponse()
    except (OSError, http.client.HTTPException, ValueError) as exc:
        conn.close()
        raise FetchError(_reason(exc)) from None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timed out"
    if isinstance(exc, socket.gaierror):
        return "host not found"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error: {printable(exc.reason or str(exc), 80)}"
    return f"{type(exc).__name__}: {printable(str(exc), 80)}"
