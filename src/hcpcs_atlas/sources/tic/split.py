"""A second core for one file: a helper process parses and stages some of the kept items.

Reading one file is one thread of Python: inflate (a thread that releases the GIL), the byte scan, and
per kept item an orjson parse and the column work of :class:`.columns.ColumnCollector`. The last two are
most of the CPU time, and they need nothing but the item's bytes. So while the main process scans, it
hands the bytes of kept items to one helper process (spawned: no fork of a process holding DuckDB),
which parses them and writes its own prices file; the main process parses an item itself whenever the
helper's queue is full, so the split balances itself. At the end the helper's provider sets, code lists
and counts are taken in (their ids are numbered apart), and the store reads both prices files.

An item is handed over only when its end is known without parsing it: the scanner's hint (the ``{``
before the next ``billing_code``), its bytes ending in ``}`` with as many ``{`` as ``}`` (bytes that end
inside the item leave its own ``{`` open). The helper parses exactly those bytes, as
:func:`.scan.parse_object` would here. If they are not one JSON object (the hint fell inside an item, or the file is broken), or anything else fails in
the helper, the file is read again without a helper (:class:`SplitFailed`): results and error messages
with their byte offsets are those of the one-process read, at the cost of a second read in those cases.

Memory: at most :data:`QUEUE` batches of :data:`BATCH_BYTES` in flight; each process's batch of prices
is half the one-process batch.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import pickle
import queue
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .scan import WHITESPACE, BadJson, hinted_end, parse_object

__all__ = ["BATCH_BYTES", "QUEUE", "Export", "Helper", "SplitFailed", "may_split"]

BATCH_BYTES = 1 << 18
QUEUE = 16
_SYNC = "sync"
_CLOSE = ord("}")


class SplitFailed(Exception):
    """The helper could not take its items as handed over: read the file again alone."""


@dataclass
class Export:
    """A helper collector's state at its end: provider sets, code lists (ids from ``base``), counts."""

    base: int
    psets: dict[Any, int]
    inline: list[Any]
    pset_prices: list[int]
    lists: dict[tuple[str, ...], int]
    wanted_ids: set[str]
    kept: int
    prices_skipped: int
    skipped_by: dict[str, int]


def may_split(source: str | Path, keep_code: Callable[[str], bool], after: int | None) -> bool:
    """A helper may be started: a local file, two cores or more, and not already a worker process of a
    multi-file ingest (those use the cores one file each)."""
    if after is None or multiprocessing.parent_process() is not None:
        return False
    affinity = getattr(os, "sched_getaffinity", None)  # Linux: the cores this process may use
    if (len(affinity(0)) if affinity is not None else os.cpu_count() or 1) < 2:
        return False
    try:
        if not Path(source).is_file():
            return False
        pickle.dumps(keep_code)
    except (OSError, ValueError, pickle.PicklingError, AttributeError, TypeError):
        return False  # a URL, a zip member, a keep that cannot be sent
    return True


class Helper:
    """The main process's end: ``divert`` is the scanner's hook (:attr:`.scan.ObjectFinder.divert`)."""

    def __init__(self, keep_code: Callable[[str], bool], directory: Path, after: int) -> None:
        """The process starts once ``after`` bytes of wanted objects have been offered: below that its
        start costs more than it saves."""
        self._args = (keep_code, str(directory))
        self._after = after
        self._offered = 0
        self._process: Any = None
        self._inbox: Any = None
        self._outbox: Any = None
        self._batch = bytearray()
        self._spans: list[int] = []  # end offsets in the batch
        self.handed = 0  # items handed over

    def _start(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._inbox = context.Queue(maxsize=QUEUE)
        self._outbox = context.Queue()
        self._process = context.Process(
            target=_work, args=(*self._args, self._inbox, self._outbox), daemon=True
        )
        self._process.start()

    def divert(self, buf: bytearray, start: int, hint: int) -> int | None:
        if self._process is None:
            self._offered += hint - start
            if self._offered < self._after:
                return None
            self._start()
        end = hinted_end(buf, start, hint)
        last = end
        while last > start and buf[last - 1] in WHITESPACE:
            last -= 1
        if last <= start or buf[last - 1] != _CLOSE:
            return None
        if self._inbox.full():  # the helper is busy: parse this one here (qsize() fails on macOS)
            return None
        if buf.count(b"{", start, last) != buf.count(b"}", start, last):
            return None  # ends inside the item (its own { is open), unless strings hold braces
        self._batch += memoryview(buf)[start:end]
        self._spans.append(len(self._batch))
        self.handed += 1
        if len(self._batch) >= BATCH_BYTES:
            self._send()
        return end

    def _send(self) -> None:
        if not self._outbox.empty():  # the helper only speaks when asked, unless it failed: stop early
            raise SplitFailed(self._receive()[1])
        if self._spans:
            self._put((bytes(self._batch), self._spans))
            self._batch, self._spans = bytearray(), []

    def sync(self) -> set[str]:
        """The reference ids the helper's items use so far (it has taken every item handed over)."""
        if self._process is None:
            return set()
        self._send()
        self._put(_SYNC)
        reply = self._receive()
        if reply[0] != _SYNC:
            raise SplitFailed(reply[1])
        ids: set[str] = reply[1]
        return ids

    def join(self) -> Export | None:
        """Wait for the helper to finish its items and close its prices file; its state (None: it was
        never started)."""
        if self._process is None:
            return None
        try:
            self._send()
            self._put(None)
            reply = self._receive()
        finally:
            self.stop()
        if reply[0] != "done":
            raise SplitFailed(reply[1])
        export: Export = reply[1]
        return export

    def _put(self, message: object) -> None:
        """Queue a message; a helper that died (killed, out of memory) no longer takes any: fail."""
        while True:
            try:
                self._inbox.put(message, timeout=0.2)
                return
            except queue.Full:
                if not self._process.is_alive():
                    raise SplitFailed(
                        f"the helper process ended (exit code {self._process.exitcode})"
                    ) from None

    def _receive(self) -> tuple[str, Any]:
        while True:
            try:
                reply: tuple[str, Any] = self._outbox.get(timeout=0.2)
                return reply
            except queue.Empty:
                if not self._process.is_alive():
                    try:  # its last reply may have come between the timeout and the check
                        late: tuple[str, Any] = self._outbox.get_nowait()
                        return late
                    except queue.Empty:
                        return "failed", f"the helper process ended (exit code {self._process.exitcode})"

    def stop(self) -> None:
        """End the helper now (after join it has ended already)."""
        if self._process is None:
            return
        cut_short = self._process.is_alive()
        if cut_short:
            self._process.terminate()
        self._process.join()
        if cut_short or self._process.exitcode != 0:
            # with no reader left, a batch still in the inbox's pipe would block its feeder thread
            # forever (and keep the batch and the pipe): take back what is queued before closing
            try:
                while True:
                    self._inbox.get(timeout=0.05)
            except (queue.Empty, OSError, ValueError):
                pass
        for box in (self._inbox, self._outbox):
            box.cancel_join_thread()
            box.close()


def _work(keep_code: Callable[[str], bool], directory: str, inbox: Any, outbox: Any) -> None:
    """The helper process: parse each handed item exactly as the main process would, stage its prices."""
    from .columns import ColumnCollector, system_memory_pool
    from .model import StagedRates

    gc.disable()  # as in the main process: parsed items make no cycles
    system_memory_pool()
    try:
        collector = ColumnCollector(keep_code, StagedRates(Path(directory)), part=1)
        try:
            while (message := inbox.get()) is not None:
                if message == _SYNC:
                    outbox.put((_SYNC, set(collector.wanted_ids)))
                    continue
                blob, ends = message
                begin = 0
                for end in ends:
                    item = blob[begin:end]
                    begin = end
                    if collector.decoded(item):
                        continue
                    try:
                        parsed = parse_object(item, 0, True, hint=len(item))
                    except BadJson as exc:
                        raise SplitFailed(exc.message) from None
                    if parsed is None or parsed[1] != len(item):
                        raise SplitFailed("an item's bytes are not one JSON object")
                    collector.on_object(parsed[0], 0, item)
        finally:
            collector.close()
        outbox.put(("done", collector.export()))
    except BaseException as exc:  # the main process reads the file again alone, which reports it exactly
        outbox.put(("failed", f"{type(exc).__name__}: {exc}"))
