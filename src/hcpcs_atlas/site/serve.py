"""Run the web application with uvicorn on a socket we bind ourselves, so binding errors are one line."""

from __future__ import annotations

import errno
import socket
from pathlib import Path

from ..errors import AtlasError

__all__ = ["ServeError", "bind", "serve"]


class ServeError(AtlasError):
    """The server cannot start (port out of range, in use, or not permitted)."""


def bind(host: str, port: int) -> socket.socket:
    if not 0 <= port <= 65535:
        raise ServeError(f"--port {port}: out of range (0-65535)")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ServeError(f"--host {host}: cannot resolve ({exc})") from exc
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        reason = "already in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc))
        raise ServeError(f"{host}:{port}: cannot listen: {reason}") from exc
    return sock


def serve(db: Path, host: str, port: int, announce: object = print) -> None:
    """Serve ``db`` until interrupted; ``announce`` gets the address line once listening."""
    import uvicorn

    from .app import create_app
    from .state import Atlas

    sock = bind(host, port)
    atlas = Atlas(db)
    shown = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(atlas),
        log_level="warning",
        timeout_keep_alive=5,
        limit_concurrency=200,
        h11_max_incomplete_event_size=16 * 1024,  # request line + headers
        server_header=False,
    )
    assert callable(announce)
    announce(f"serving {db} on http://{host}:{shown}/ (Ctrl-C to stop)")
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        atlas.close()
        sock.close()
