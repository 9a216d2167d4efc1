"""A second core for one file: a helper process parses and stages some of the kept items.

Reading one file is one thread of Python: inflate (a thread that releases the GIL), the byte scan, and
per kept item an orjson parse and the column work of :class:`.columns.ColumnCollector`. The last two are
most of the CPU time, and they need nothing but the item's bytes. So while the main process scans, it
hands the bytes of kept items to one helper process (spawned: no fork of a process holding DuckDB),
which parses them and writes its own prices file; the main process parses an item itself whenever the
helper is :data:`QUEUE` batches behind, so the split balances itself. At the end the helper's provider sets, code lists
and counts are taken in (their ids are numbered apart), and the store reads both prices files.

An item is handed over only when its end is known without parsing it: the scanner's hint (the ``{``
before the next ``billing_code``), its bytes ending in ``}`` with as many ``{`` as ``}`` (bytes that end
inside the item leave its own ``{`` open). The helper parses exactly those bytes, as
:func:`.scan.parse_object` would here. If they are not one JSON object (the hint fell inside an item, or the file is broken), or anything else fails in
the helper, the file is read again without a helper (:class:`SplitFailed`): results and error messages
with their byte offsets are those of the one-process read, at the cost of a second read in those cases.

Batches go through a pipe that the main thread writes itself, without blocking: a
``multiprocessing.Queue`` hands its items to a feeder thread, which needs the GIL (held by the scan) for
every batch, so batches waited in a full queue while the helper waited for them (1 GB realistic file,
instrumented at load 4-5: the main process parsed 27-30 K of the 83 K kept items itself, "queue full",
while the helper waited 2.4-4.0 s for batches; through the pipe 21.7 K and 0.7 s). Bytes the pipe does
not take at once wait in the main process, up to :data:`QUEUE` batches, and are written when the next
item is handed over.

Memory: at most :data:`QUEUE` batches of :data:`BATCH_BYTES` in flight (plus the pipe's own buffer);
each process's batch of prices is half the one-process batch.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import pickle
import queue
import select
import struct
from array import array
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from ... import accel
from .scan import WHITESPACE, BadJson, hinted_end, parse_object

__all__ = ["BATCH_BYTES", "QUEUE", "Export", "Helper", "SplitFailed", "may_split"]

BATCH_BYTES = 1 << 18
QUEUE = 16
PIPE_BYTES = 1 << 20  # asked of the kernel for the pipe (Linux; 64 KB by default)
_SYNC = "sync"
_CLOSE = ord("}")
#: the C accelerator's :func:`whole_end` in one call; None: pure Python
_WHOLE_END = getattr(accel.load("hcpcs_atlas.sources.tic._hits"), "whole_end", None)
#: A message's first byte: a batch (its item count, their end offsets, their bytes), a sync, the end.
_BATCH, _SYNC_MSG, _END = b"B", b"S", b"E"
_HEADER = struct.Struct("!i")  # multiprocessing.Connection's framing: recv_bytes reads what we write


def whole_end(buf: bytes | bytearray, start: int, hint: int) -> int:
    """The end of the object at ``buf[start]`` if the hint (the next object's start) is right and the
    bytes up to it hold one whole object: they end in ``}`` less blanks, with as many ``{`` as ``}`` (bytes
    that end inside the item leave its own ``{`` open, unless strings hold braces). Else -1."""
    end = hinted_end(buf, start, hint)
    last = end
    while last > start and buf[last - 1] in WHITESPACE:
        last -= 1
    if last <= start or buf[last - 1] != _CLOSE:
        return -1
    return end if buf.count(b"{", start, last) == buf.count(b"}", start, last) else -1


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
    """A helper may be started: a local file, two cores or more, a non-blocking pipe
    (:func:`nonblocking_pipe`), and not already a worker process of a multi-file ingest (those use the
    cores one file each)."""
    if after is None or multiprocessing.parent_process() is not None or not nonblocking_pipe():
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


def nonblocking_pipe() -> bool:
    """The helper's pipe can be written without blocking and waited on: POSIX. On Windows
    ``os.set_blocking`` takes a pipe only from Python 3.12 and ``select`` takes sockets only, so a file
    is read there by one process."""
    return os.name == "posix"


class Helper:
    """The main process's end: ``divert`` is the scanner's hook (:attr:`.scan.ObjectFinder.divert`)."""

    def __init__(self, keep_code: Callable[[str], bool], directory: Path, after: int) -> None:
        """The process starts once ``after`` bytes of wanted objects have been offered: below that its
        start costs more than it saves."""
        self._args = (keep_code, str(directory))
        self._after = after
        self._offered = 0
        self._process: Any = None
        self._inbox: Any = None  # the helper's end of the pipe (closed here once it has started)
        self._fd = -1  # our end, non-blocking
        self._pending: deque[memoryview] = deque()  # framed messages the pipe has not taken yet
        self._pending_bytes = 0
        self._outbox: Any = None
        self._batch = bytearray()
        self._spans: list[int] = []  # end offsets in the batch
        self.handed = 0  # items handed over
        self._busy = 0  # bytes of items to parse here before the full pipe is tried again

    def start(self) -> None:
        """Start the process now (else it starts once ``after`` bytes of wanted objects were offered)."""
        context = multiprocessing.get_context("spawn")
        self._inbox, writer = context.Pipe(duplex=False)
        self._fd = os.dup(writer.fileno())
        writer.close()
        os.set_blocking(self._fd, False)
        try:  # fewer, larger writes; not available everywhere
            import fcntl

            fcntl.fcntl(self._fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), PIPE_BYTES)
        except (ImportError, OSError):
            pass
        self._outbox = context.Queue()
        process = context.Process(target=_work, args=(*self._args, self._inbox, self._outbox), daemon=True)
        try:
            process.start()
        except Exception as exc:  # no process to be had (a limit, a script without a __main__ guard)
            os.close(self._fd)
            self._fd = -1
            self._inbox.close()
            self._outbox.close()
            raise SplitFailed(f"the helper process could not start ({type(exc).__name__}: {exc})") from None
        self._process = process
        self._inbox.close()  # the helper has its own copy

    def divert(self, buf: bytearray, start: int, hint: int) -> int | None:
        if self._process is None:
            self._offered += hint - start
            if self._offered < self._after:
                return None
            self.start()
        # a write is tried per batch sent (in _send): one per item made the pipe's "full" answers (an
        # exception each) a sixth of the main process's samples while streaming (py-spy). Once the pipe
        # and the queue are full, the next write is tried after BATCH_BYTES of items parsed here (the
        # helper drains about as much meanwhile; its pipe holds four times that): one try per item was
        # 31 K failed writes on the 1 GB realistic file. Checked first: an item parsed here needs no end.
        if self._pending_bytes >= QUEUE * BATCH_BYTES:
            if self._busy > 0:
                self._busy -= hint - start
                return None  # the helper is busy: parse this one here
            if not self._write():
                self._busy = BATCH_BYTES
                return None
        end = _WHOLE_END(buf, start, hint) if _WHOLE_END is not None else whole_end(buf, start, hint)
        if end < 0:
            return None
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
            ends = array("q", self._spans)
            self._frame(_BATCH + _HEADER.pack(len(ends)) + ends.tobytes(), self._batch)
            self._batch, self._spans = bytearray(), []
            self._write()

    def _frame(self, *parts: bytes | bytearray) -> None:
        """Queue one message (its parts are not copied: appending them to one buffer, from which the
        written bytes were cut, copied the whole buffer on most appends)."""
        size = sum(map(len, parts))
        self._pending.extend(map(memoryview, (_HEADER.pack(size), *parts)))
        self._pending_bytes += _HEADER.size + size

    def _write(self) -> bool:
        """Write what the pipe takes now; True if nothing is left waiting."""
        pending = self._pending
        try:
            while pending:
                written = os.writev(self._fd, list(islice(pending, 64)))
                self._pending_bytes -= written
                while written:
                    if len(pending[0]) <= written:
                        written -= len(pending.popleft())
                    else:
                        pending[0], written = pending[0][written:], 0
        except BlockingIOError:
            return False
        except OSError as exc:  # the helper ended: its reply (or exit code) says why
            raise SplitFailed(f"the helper process stopped reading ({exc.strerror})") from None
        return True

    def sync(self) -> set[str]:
        """The reference ids the helper's items use so far (it has taken every item handed over)."""
        if self._process is None:
            return set()
        self._send()
        self._put(_SYNC_MSG)
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
            self._put(_END)
            reply = self._receive()
        finally:
            self.stop()
        if reply[0] != "done":
            raise SplitFailed(reply[1])
        export: Export = reply[1]
        return export

    def _put(self, message: bytes) -> None:
        """Send a message and everything before it; a helper that died (killed, out of memory) no longer
        reads any: fail."""
        self._frame(message)
        while not self._write():
            select.select([], [self._fd], [], 0.2)
            if not self._process.is_alive():
                raise SplitFailed(f"the helper process ended (exit code {self._process.exitcode})")

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
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        self._pending.clear()
        self._pending_bytes = 0
        self._outbox.cancel_join_thread()
        self._outbox.close()


def _work(keep_code: Callable[[str], bool], directory: str, inbox: Any, outbox: Any) -> None:
    """The helper process: parse each handed item exactly as the main process would, stage its prices."""
    from .columns import ColumnCollector, system_memory_pool
    from .model import StagedRates

    gc.disable()  # as in the main process: parsed items make no cycles
    system_memory_pool()
    try:
        collector = ColumnCollector(keep_code, StagedRates(Path(directory)), part=1)
        try:
            while (message := inbox.recv_bytes())[:1] != _END:
                if message[:1] == _SYNC_MSG:
                    outbox.put((_SYNC, set(collector.wanted_ids)))
                    continue
                count = _HEADER.unpack_from(message, len(_BATCH))[0]
                ends = array("q")
                head = len(_BATCH) + _HEADER.size  # as _send frames it: kind, count, ends, items
                ends.frombytes(message[head : head + ends.itemsize * count])
                blob = head + ends.itemsize * count  # items are cut from the message: one copy each
                begin = blob
                for end in ends:
                    item = message[begin : blob + end]
                    begin = blob + end
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
