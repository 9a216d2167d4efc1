"""What a hospital file is, from its first decompressed bytes: JSON, CSV or a cms-hpt.txt discovery file."""

from __future__ import annotations

from ...errors import InputError
from .discovery import looks_like_discovery

__all__ = ["BOM", "sniff"]

BOM = b"\xef\xbb\xbf"


def sniff(label: str, head: bytes | bytearray) -> str:
    """``json``, ``csv`` or ``discovery`` from a file's first decompressed bytes; refuses the rest."""
    text = bytes(head[:65536])
    body = text[len(BOM) :] if text.startswith(BOM) else text
    stripped = body.lstrip()
    offset = len(text) - len(stripped)
    if not stripped:
        raise InputError(label, "empty file" if not text else "no content (whitespace only)", byte=offset)
    if stripped.startswith(b"{"):
        return "json"
    if stripped.startswith(b"<"):
        preview = stripped[:40].decode("utf-8", "replace")
        raise InputError(label, f"an HTML or XML page, not a hospital price file: {preview!r}", byte=offset)
    if b"\0" in body[:4096]:
        raise InputError(
            label, "binary data, not a hospital price file (CSV or JSON)", byte=body.index(b"\0")
        )
    return "discovery" if looks_like_discovery(stripped) else "csv"
