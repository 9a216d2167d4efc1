"""Remote provider references: ``{"provider_group_id": 7, "location": "https://..."}`` entries.

Each location is fetched once per file (urllib; gzip told by magic bytes) and cached by URL in the cache
directory, written atomically. A 404 or any other failure is recorded with its reason and never fatal:
the rates of an unreachable group are kept without their providers.
"""

from __future__ import annotations

import hashlib
import urllib.error
from pathlib import Path
from typing import Any

import orjson
from isal import igzip

from .refs import Reference
from .stream import GZIP_MAGIC, open_url

__all__ = ["fetch_locations"]


def fetch_locations(refs: dict[str, Reference], cache_dir: Path) -> tuple[int, list[tuple[str, str]]]:
    """Fill ``groups`` of references that only have a location. Returns (urls fetched, [(url, reason)])."""
    loaded: dict[str, list[Any] | None] = {}
    failed: list[tuple[str, str]] = []
    for ref in refs.values():
        if ref.groups is not None or ref.location is None:
            continue
        if ref.location not in loaded:
            try:
                loaded[ref.location] = _load_location(ref.location, cache_dir)
            except _FetchError as exc:
                failed.append((ref.location, str(exc)))
                loaded[ref.location] = None
        ref.groups = loaded[ref.location]
    return sum(groups is not None for groups in loaded.values()), failed


class _FetchError(Exception):
    pass


def _load_location(url: str, cache_dir: Path) -> list[Any]:
    cached = cache_dir / (hashlib.sha256(url.encode()).hexdigest()[:32] + ".json")
    if cached.is_file():
        body = cached.read_bytes()
    else:
        body = _download(url)
        partial = cached.with_suffix(".part")
        partial.write_bytes(body)
        partial.replace(cached)  # atomic: a crash never leaves a half file in the cache
    try:
        doc = orjson.loads(_gunzip(body) if body.startswith(GZIP_MAGIC) else body)
    except (orjson.JSONDecodeError, OSError, EOFError) as exc:
        raise _FetchError(f"not a provider reference file: {exc}") from None
    groups = doc.get("provider_groups") if isinstance(doc, dict) else None
    if not isinstance(groups, list):
        raise _FetchError("no provider_groups array")
    return groups


def _gunzip(body: bytes) -> bytes:
    decompress: Any = igzip.decompress  # untyped in isal's stubs
    data: bytes = decompress(body)
    return data


def _download(url: str) -> bytes:
    try:
        with open_url(url) as response:
            return response.read()
    except urllib.error.HTTPError as exc:
        exc.close()  # it holds the response's socket
        raise _FetchError(f"HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise _FetchError(f"download failed: {exc}") from None
