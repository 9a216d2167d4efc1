"""What the web app knows about the store, one generation per store version, read without a global lock.

Concurrency model (docs/methodology.md, "The web application"):

- The server never holds the store file open for long. A :class:`ReadWindow` opens a read-only connection
  on demand, gives each request its own cursor, and closes the connection once no request has used it for
  ``idle`` seconds, so ``hcpcs-atlas load`` in another process can take DuckDB's write lock between windows.
- Everything most pages need (the CMS rows behind every code, the search index, the file list) is read once
  per store version into a :class:`Generation` and served from memory; only codes with payer rates open a
  window to read their rates, and their pages are cached too.
- Each request compares the store file's size and mtime (a ``stat``, microseconds) with the generation's;
  when they changed, one background thread reads the store's version and, if the content changed, builds a
  new generation and swaps it in. Requests keep using the old generation meanwhile. Caches belong to a
  generation, so a load invalidates every page built from the old data.
- While a loader holds the write lock, the old generation keeps answering; a page that needs the store and
  is not cached waits up to ``wait`` seconds, then answers 503 "store busy" with Retry-After.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import StoreError
from ..facts import CodeFacts, FactsBuilder
from ..store import Store
from ..store.tic import payer_codes
from .search import SearchDoc, SearchIndex

__all__ = ["Atlas", "Generation", "ReadWindow", "StoreBusyError"]


class StoreBusyError(StoreError):
    """The store is locked by a writer (a load is running) and the answer is not cached."""


def _stat(path: Path) -> tuple[int, ...]:
    """Size and mtime of the store file and its write-ahead log: any commit changes one of them."""
    out: list[int] = []
    for p in (path, path.with_name(path.name + ".wal")):
        try:
            st = p.stat()
            out += [st.st_size, st.st_mtime_ns]
        except OSError:
            out += [-1, -1]
    return tuple(out)


class ReadWindow:
    """Read-only connections opened on demand and closed when idle; one cursor per request."""

    def __init__(self, path: Path, idle: float = 0.5, wait: float = 2.0) -> None:
        self.path, self.idle, self.wait = path, idle, wait
        self._lock = threading.Lock()  # guards opening and closing only, never a request's work
        self._base: Store | None = None
        self._users = 0
        self._last = 0.0

    @contextmanager
    def store(self) -> Iterator[Store]:
        base = self._acquire()
        cursor = base.cursor()
        try:
            yield cursor
        finally:
            cursor.close()
            self._release()

    def _acquire(self) -> Store:
        with self._lock:
            if self._base is None:
                self._base = self._open()
            self._users += 1
            return self._base

    def _open(self) -> Store:
        deadline = time.monotonic() + self.wait
        while True:
            try:
                return Store(self.path, read_only=True)
            except StoreError as exc:
                if "lock" not in str(exc).lower():
                    raise
                if time.monotonic() >= deadline:
                    raise StoreBusyError(
                        f"{self.path}: the store is being written by another process; try again shortly"
                    ) from exc
            time.sleep(0.05)

    def _release(self) -> None:
        with self._lock:
            self._users -= 1
            self._last = time.monotonic()
            if self._users == 0:
                timer = threading.Timer(self.idle, self._close_if_idle)
                timer.daemon = True
                timer.start()

    def _close_if_idle(self) -> None:
        with self._lock:
            if self._base is not None and self._users == 0 and time.monotonic() - self._last >= self.idle:
                self._base.close()
                self._base = None

    def close(self) -> None:
        with self._lock:
            if self._base is not None:
                self._base.close()
                self._base = None

    @property
    def is_open(self) -> bool:
        return self._base is not None


class Cache:
    """A bounded least-recently-set cache; dict operations are atomic, so no lock is needed."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.data: OrderedDict[Any, Any] = OrderedDict()

    def get(self, key: Any) -> Any:
        return self.data.get(key)

    def put(self, key: Any, value: Any) -> Any:
        self.data[key] = value
        while len(self.data) > self.size:
            try:
                self.data.popitem(last=False)
            except KeyError:  # another thread evicted it first
                break
        return value


@dataclass
class Generation:
    """Everything read from one version of the store."""

    version: str
    stat: tuple[int, ...]
    builder: FactsBuilder
    index: SearchIndex
    payers: dict[str, list[str]]
    files: list[dict[str, Any]]
    facts: Cache = field(default_factory=lambda: Cache(2048))
    pages: Cache = field(default_factory=lambda: Cache(4096))
    _once: dict[str, threading.Lock] = field(default_factory=lambda: defaultdict(threading.Lock))

    @classmethod
    def read(cls, store: Store, stat: tuple[int, ...]) -> Generation:
        payers = payer_codes(store)
        return cls(
            version=store.version(),
            stat=stat,
            builder=FactsBuilder(store).using(store),
            index=SearchIndex(_search_docs(store)),
            payers=payers,
            files=store.files(),
        )

    def codes(self) -> list[str]:
        return [d.code for d in self.index.docs]

    def once(self, key: str, make: Callable[[], Any]) -> Any:
        """A value computed at most once per generation (e.g. the changes across all codes)."""
        found = self.pages.get(("once", key))
        if found is not None:
            return found
        with self._once[key]:
            found = self.pages.get(("once", key))
            return found if found is not None else self.pages.put(("once", key), make())


def _search_docs(store: Store) -> list[SearchDoc]:
    drugs: dict[str, dict[str, None]] = defaultdict(dict)
    ndcs: dict[str, list[str]] = defaultdict(list)
    for code, ndc, name in store.ndc_names():
        ndcs[code].append(ndc)
        if name:
            drugs[code][name] = None
    return [
        SearchDoc(code, long or "", short or "", tuple(drugs[code]), tuple(dict.fromkeys(ndcs[code])), term)
        for code, long, short, term in store.latest_descriptors()
    ]


class Atlas:
    """The current generation, refreshed in the background when the store file changes."""

    def __init__(self, path: Path, *, idle: float = 0.5, wait: float = 2.0) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise StoreError(f"{self.path}: no store here; load a file first (hcpcs-atlas load ...)")
        self.window = ReadWindow(self.path, idle, wait)
        self._refreshing = threading.Lock()
        self._checked = 0.0
        stat = _stat(self.path)
        with self.window.store() as store:
            self.gen = Generation.read(store, stat)

    def current(self) -> Generation:
        """The generation to answer from; starts a refresh when the store file changed."""
        gen = self.gen
        now = time.monotonic()
        if now - self._checked > 0.2 and _stat(self.path) != gen.stat and not self._refreshing.locked():
            self._checked = now
            threading.Thread(target=self.refresh, daemon=True).start()
        return gen

    def refresh(self) -> bool:
        """Re-read the store if its content changed; True when a new generation was swapped in."""
        if not self._refreshing.acquire(blocking=False):
            return False
        try:
            stat = _stat(self.path)
            with self.window.store() as store:
                if store.version() == self.gen.version:
                    self.gen.stat = stat
                    return False
                self.gen = Generation.read(store, stat)
                return True
        except StoreBusyError:
            return False  # a load is running: keep answering from what we have; retried on a later request
        finally:
            self._refreshing.release()

    def facts(self, gen: Generation, code: str) -> CodeFacts:
        return next(self.facts_many(gen, [code]))

    def facts_many(self, gen: Generation, codes: list[str]) -> Iterator[CodeFacts]:
        """Facts of ``codes`` from the generation's cache, else built through one read window."""
        with ExitStack() as stack:
            builder: FactsBuilder | None = None
            for code in (c.strip().upper() for c in codes):
                found: CodeFacts | None = gen.facts.get(code)
                if found is None:
                    if builder is None:
                        builder = gen.builder.using(stack.enter_context(self.window.store()))
                    found = gen.facts.put(code, builder.build(code))
                assert found is not None
                yield found

    def close(self) -> None:
        self.window.close()
