"""Remote provider references: ``{"provider_group_id": 7, "location": "https://..."}`` entries.

Each location is fetched once per file, several at a time (``ReadOptions.ref_workers``), all within one
deadline per file (``refs_deadline_s``); connect and read timeouts bound every wait. A download streams to
a cache file named by URL (written atomically), and its provider groups are then streamed out of it one
object at a time into Arrow columns (:class:`.groups.GroupTable`), so neither the file, its parse tree nor
one Python object per NPI is ever held; a group larger than ``max_item_bytes`` is refused. Which locations may be opened at all is :func:`.net.resolve_location`'s
rule. A failure is recorded with its reason and never fatal: the rates of an unreachable group are kept
without their providers.
"""

from __future__ import annotations

import hashlib
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ...errors import InputError
from .groups import GroupTable
from .net import DEFAULT_OPTIONS, FetchError, ReadOptions, is_url, open_url, resolve_location
from .refs import Reference
from .scan import HEADROOM, ObjectFinder
from .stream import ChunkStream

__all__ = ["fetch_locations"]

NPI_KEY = b'"npi"'
GROUPS_KEY = b'"provider_groups"'


def fetch_locations(
    refs: dict[str, Reference], cache_dir: Path, document: str = "", options: ReadOptions = DEFAULT_OPTIONS
) -> tuple[int, list[tuple[str, str]]]:
    """Fill ``groups`` of references that only have a location. Returns (locations read, [(location,
    reason)]). ``document`` is the file the references were written in (it decides what may be opened)."""
    locations = sorted({r.location for r in refs.values() if r.groups is None and r.location is not None})
    deadline = time.monotonic() + options.refs_deadline_s
    with ThreadPoolExecutor(max_workers=max(options.ref_workers, 1), thread_name_prefix="tic-ref") as pool:
        futures = {loc: pool.submit(_load, loc, document, cache_dir, options, deadline) for loc in locations}
    loaded: dict[str, GroupTable | None] = {}
    failed: list[tuple[str, str]] = []
    for location, future in futures.items():
        groups, reason = future.result()
        loaded[location] = groups
        if reason is not None:
            failed.append((location, reason))
    for ref in refs.values():
        if ref.groups is None and ref.location is not None:
            ref.groups = loaded[ref.location]
    return sum(groups is not None for groups in loaded.values()), failed


def _load(
    location: str, document: str, cache_dir: Path, options: ReadOptions, deadline: float
) -> tuple[GroupTable | None, str | None]:
    """(groups, None) or (None, why not). Never raises for a bad location or file."""
    try:
        target = resolve_location(location, document, options.allow_local_refs)
        if time.monotonic() >= deadline:
            raise FetchError("deadline exceeded before the download could start")
        path = _download(target, cache_dir, options, deadline) if is_url(target) else Path(target)
        return _groups(path, options), None
    except FetchError as exc:
        return None, str(exc)


def _download(url: str, cache_dir: Path, options: ReadOptions, deadline: float) -> Path:
    cached = cache_dir / (hashlib.sha256(url.encode()).hexdigest()[:32] + ".json")
    if cached.is_file():
        return cached
    partial = cached.with_suffix(".part")
    try:
        with open_url(url, options, deadline) as response, partial.open("wb") as out:
            buf = bytearray(1 << 20)
            while got := response.readinto(buf):
                out.write(memoryview(buf)[:got])
    except TimeoutError:
        partial.unlink(missing_ok=True)
        raise FetchError("deadline exceeded or timed out while downloading") from None
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise FetchError(f"download failed: {type(exc).__name__}") from None
    partial.replace(cached)  # atomic: a crash never leaves a half file in the cache
    return cached


def _groups(path: Path, options: ReadOptions) -> GroupTable:
    """The provider groups of a reference file, one object at a time, into columns (npi and tin)."""
    if not path.is_file():
        raise FetchError("no such file" if not path.exists() else "not a file")
    groups = GroupTable()
    seen_key = False

    def on_group(obj: dict[str, Any], _start: int, _raw: bytearray) -> None:
        try:
            groups.add(obj)
        except OverflowError:
            raise FetchError("an NPI beyond 64 bits: not a provider reference file") from None

    try:
        with ChunkStream(path, HEADROOM) as stream:
            finder = ObjectFinder(str(path), NPI_KEY, None, on_group, recycle=stream.pool.put,
                                  max_object=options.max_item_bytes)  # fmt: skip
            for chunk in stream:
                finder.feed(chunk, HEADROOM)
                seen_key = seen_key or finder.buf.find(GROUPS_KEY, finder.lo) >= 0
            finder.finish()
    except InputError as exc:
        raise FetchError(f"not a provider reference file: {exc.message} (byte {exc.byte})") from None
    if not seen_key:
        raise FetchError("not a provider reference file: no provider_groups array")
    groups.seal()
    return groups
