"""A tall CSV's data rows handed, as decompressed bytes through a pipe, to a bulk CSV reader (DuckDB's).

The csv module's pass and a Python loop over every row are what a tall CSV's ingest cost (most rows are
dropped). Here Python reads only the three head rows (hospital fields, header: as :mod:`.csvfile` does),
then writes the rest of the stream's bytes into a pipe that ``load`` reads on a thread of its own; Python
decides per distinct value only (:mod:`hcpcs_atlas.store.hospital_tall`). The stream is the same
:class:`..tic.stream.ChunkStream` (path or URL, gzip or zip, sha256, gzip CRC) as the csv-module path.

The bulk path must give exactly what the csv module would, record for record, or give way: None means
"read it with the csv module" (:mod:`.csvfile`), which then reads or refuses the file as it always has.
It gives way on anything it cannot match exactly:

- not a tall CSV, or a head row over several lines;
- a field that starts with one space and a quote (DuckDB drops the space and unquotes it, the csv
  module keeps both): any `` "`` after a comma or line end, even inside a quoted field;
- line counts that do not add up: the pipe counts the lines it writes, ``load`` the records and the line
  ends inside fields (the csv module's line numbers count those), and lines = records + those; an empty
  line in the data (the csv module counts it as a record, DuckDB's reader skips it) is one of these;
- commas that do not add up: the pipe counts those it writes, ``load`` (:class:`Loaded` ``commas``)
  those between and inside the fields it read; DuckDB's reader takes a record with empty fields past
  the header's width, which the csv-module path refuses naming its row;
- whatever ``load`` refuses (bytes that are not UTF-8: a cp1252 file; a row of the wrong width; an
  amount the package cannot read): the csv-module pass then names the row, or reads the file.

With the C scanner built (``_csvscan.c``, optional) and only Level II codes kept, the pipe carries what
it picks instead of the data rows (:class:`TallColumns` ``scan``); a file it does not read exactly is
read again without it, and a record of another width goes to the csv-module path (DuckDB's reader takes
a record with empty fields past the header's width).
"""

from __future__ import annotations

import csv
import os
import re
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import IO, Any

from ... import accel
from ...errors import AtlasError
from ...progress import Progress
from ..tic.scan import HEADROOM
from ..tic.stream import ChunkStream, file_name
from .csvfile import hospital_fields, layout_of
from .model import HospitalFile
from .sniffing import sniff
from .text import CP1252_FALLBACK

__all__ = ["Load", "Loaded", "TallColumns", "pipe_tall_csv"]

_LINE_END = re.compile(rb"\r\n|\r|\n")
_SPACE_QUOTE = (b', "', b'\n "', b'\r "')
_HEAD_LIMIT = 16 << 20  # three head rows longer than this: not a price file's head, leave it to csvfile


#: The fields of a tall CSV's row that are the payer's; the others are the item's, repeated on its rows.
PAYER_FIELDS = ("payer_name", "plan_name", "dollar", "percentage", "algorithm", "methodology")


def _no_scan(level2_only: bool) -> bool:
    return False


@dataclass(frozen=True)
class TallColumns:
    """Where a tall CSV's fields are: ``codes`` (code column, its type column), ``columns`` field -> column;
    ``end``: the first field of the line the pipe writes after the data (a nonce, the rest empty), so a
    reader that keeps only some records still learns the number of records and where the data ended.

    ``scan(level2_only)``, called once by ``load`` before it opens the pipe: True when the pipe writes
    what the C scanner picks instead of the data rows (when ``level2_only`` and the scanner is built):
    per record that may hold a Level II code, its record number - 1, the csv module's line number, its
    run and whether it is the run's first record, then its ``picked()`` fields as written, those not
    in PAYER_FIELDS (the item's) empty but in a run's first record; no end line. ``lines()`` is then
    the number of records."""

    width: int
    codes: tuple[tuple[int, int | None], ...]
    columns: dict[str, int]
    end: str
    scan: Callable[[bool], bool] = _no_scan

    def picked(self) -> list[int]:
        """The columns ``load`` reads: the code and type cells and the fields it knows, in file order."""
        found = {c for c, _ in self.codes} | {t for _, t in self.codes if t is not None}
        return sorted(found | set(self.columns.values()))


@dataclass(frozen=True)
class Loaded:
    """What ``load`` read: line ends inside fields, and charges kept (one per kept row and kept code);
    ``commas``, when it reads the data rows: the commas its reader met, between fields and inside them,
    the end line's included (the pipe gives way unless it wrote as many: DuckDB's reader takes a record
    with empty fields past the header's width)."""

    breaks: int
    charges: int
    commas: int | None = None


Load = Callable[[str, TallColumns, Callable[[], "int | None"]], Loaded]


class _GiveWay(Exception):
    """The file is for the csv-module path."""


class _NotMine(Exception):
    """The C scanner met something it does not read exactly as the csv module: the pure path reads it."""


_SCANNER = "hcpcs_atlas.sources.hospital._csvscan"


def pipe_tall_csv(
    source: str | Path,
    load: Load,
    progress: Progress | None = None,
) -> HospitalFile | None:
    """Read a tall CSV's head, pipe its data rows to ``load``: the file, or None to give way.

    ``load(path, columns, lines)`` runs on another thread and reads the pipe at ``path`` to its end;
    ``lines()`` is then the number of data lines piped (None: giving way). An exception from ``load``
    (any) means give way. Errors of the stream itself (a truncated gzip) are raised, as the csv-module
    path raises them. With the C scanner built, ``load`` may take its pick of the records instead
    (:class:`TallColumns` ``scan``); when the scanner finds the file is not one it reads exactly, the
    file is read again without it, so the outcome is the pure-Python path's."""
    scanner = accel.load(_SCANNER)
    if scanner is not None:
        try:
            return _pipe_tall_csv(source, load, progress, scanner)
        except _NotMine:
            pass
    return _pipe_tall_csv(source, load, progress, None)


def _pipe_tall_csv(
    source: str | Path, load: Load, progress: Progress | None, scanner: ModuleType | None
) -> HospitalFile | None:
    label = str(source)
    with ChunkStream(source, HEADROOM) as stream:
        chunks = iter(stream)
        head = bytearray()
        for n, chunk in enumerate(chunks):
            head += memoryview(chunk)[HEADROOM:]
            stream.pool.put(chunk)
            if n == 0 and not _is_csv(label, head):
                return None  # JSON, a discovery file, or refused with its reason by the csv-module path
            if len(head) > _HEAD_LIMIT or _after_head(head) is not None:
                break
        into = HospitalFile(label, file_name(label), "", 0, "tall", None, None, None)
        try:
            columns, start = _head(label, head, into)
        except (_GiveWay, AtlasError, csv.Error):
            return None
        tick = _ticker(stream, into, progress)
        offer = _Offer(scanner)
        columns = replace(columns, scan=offer.take)
        loaded = _pipe(
            head[start:], head[start - 1 : start], chunks, stream, columns, load, tick, offer, into
        )
        if loaded is None:
            return None
        into.rows_seen, into.n_charges = loaded
        into.sha256, into.bytes_read = stream.sha256, stream.bytes_read
    tick()
    return into


def _is_csv(label: str, first: bytearray) -> bool:
    try:
        return sniff(label, first[:65536]) == "csv"
    except AtlasError:
        return False


def _after_head(head: bytearray) -> int | None:
    """The offset just past the third line end, once the byte after it is in (a ``\\r`` may be ``\\r\\n``)."""
    for ends, match in enumerate(_LINE_END.finditer(head), start=1):
        if ends == 3:
            return match.end() if match.end() < len(head) or match.group() == b"\r\n" else None
    return None


def _head(label: str, head: bytearray, into: HospitalFile) -> tuple[TallColumns, int]:
    start = _after_head(head)
    if start is None:
        start = len(head)  # the file ends within its head: csvfile says what is wrong, or reads it
        if len(head) > _HEAD_LIMIT or not head:
            raise _GiveWay
    text = bytes(head[:start]).decode("utf-8-sig", CP1252_FALLBACK)
    reader = csv.reader(text.splitlines(keepends=True))
    rows = list(reader)
    if len(rows) != 3 or reader.line_num != 3:
        raise _GiveWay  # a head row over two lines
    hospital_fields(label, rows[0], rows[1], into)
    layout = layout_of(label, rows[2])
    if layout.payers:
        raise _GiveWay  # the wide layout: csvfile
    into.layout = layout.name
    end = f"hcpcs-atlas-end-{secrets.token_hex(8)}"
    return TallColumns(layout.width, layout.codes, layout.columns, end), start


class _Offer:
    """The C scanner offered to ``load`` (:class:`TallColumns` ``scan``), and whether it took it."""

    def __init__(self, scanner: ModuleType | None) -> None:
        self.scanner, self.taken, self.answered = scanner, False, threading.Event()

    def take(self, level2_only: bool) -> bool:
        self.taken = self.scanner is not None and level2_only
        self.answered.set()
        return self.taken


def _pipe(
    first: bytearray,
    before: bytes | bytearray,
    chunks: Iterator[bytearray],
    stream: ChunkStream,
    columns: TallColumns,
    load: Load,
    tick: Callable[[], None],
    offer: _Offer,
    into: HospitalFile,
) -> tuple[int, int] | None:
    """Write the data bytes into a pipe ``load`` reads; count line ends, watch for a space before a quote.
    Or, when ``load`` takes the scanner's offer, write what it picks."""
    read_end, write_end = os.pipe()
    outcome: list[Loaded | BaseException] = []
    counted = threading.Event()
    lines: list[int | None] = [None]
    commas = [0]

    def line_count() -> int | None:
        counted.wait()
        return lines[0]

    def run() -> None:
        try:
            outcome.append(load(f"/dev/fd/{read_end}", columns, line_count))
        except BaseException as exc:  # any: give way
            outcome.append(exc)
        finally:
            offer.answered.set()  # a load that failed before answering: the writer goes on to EPIPE
            os.close(read_end)  # a writer still writing gets EPIPE

    thread = threading.Thread(target=run, name="hospital-pipe", daemon=True)
    thread.start()
    out = os.fdopen(write_end, "wb", buffering=0)
    try:
        if offer.scanner is not None:
            offer.answered.wait()  # in the try: an interrupt here still closes the pipe, so the load ends
        if offer.taken:  # _NotMine passes up once the load has stopped
            lines[0] = _write_scanned(first, chunks, stream, tick, columns, offer.scanner, out, into)
        else:
            lines[0] = _write_data(first, before, chunks, stream, tick, columns, out, commas)
    except BrokenPipeError:
        lines[0] = None  # load stopped early: it has failed
    finally:
        counted.set()
        out.close()  # the load reads the pipe's end
        thread.join()
    result = outcome[0] if outcome else None
    if lines[0] is None or not isinstance(result, Loaded):
        return None
    if not offer.taken and result.commas is not None and result.commas != commas[0]:
        return None  # a record with more fields than the header: the csv-module path names it
    return (lines[0] if offer.taken else lines[0] - result.breaks), result.charges


def _write_data(
    first: bytearray,
    before: bytes | bytearray,
    chunks: Iterator[bytearray],
    stream: ChunkStream,
    tick: Callable[[], None],
    columns: TallColumns,
    out: IO[bytes],
    commas: list[int],
) -> int | None:
    """Write the data bytes, then the end line; the number of lines, or None: give way. ``commas[0]``:
    the commas written."""
    ends, last, tail = 0, bytes(before[-1:]), bytes(before[-2:])
    for buf, at in _buffers(first, chunks, stream, tick):
        if _space_quote(buf, at, tail):
            return None
        tail = bytes(buf[-2:])
        ends += buf.count(b"\n", at)
        commas[0] += buf.count(b",", at)
        if buf.find(b"\r", at) >= 0 or last == b"\r":  # Windows or old Mac line ends
            ends += buf.count(b"\r", at) - buf.count(b"\r\n", at)
            ends -= last == b"\r" and buf[at : at + 1] == b"\n"
        _write_all(out, memoryview(buf)[at:])
        last = bytes(buf[-1:])
    open_line = last not in (b"\r", b"\n", b"")  # a last line without its line end
    end = ("\n" if open_line else "") + columns.end + "," * (columns.width - 1) + "\n"
    _write_all(out, memoryview(end.encode()))
    commas[0] += columns.width - 1
    return ends + open_line


#: The bytes of item fields the scanner's table of items holds at most (then it starts again empty).
ITEMS_LIMIT = 64 << 20

#: What the scanner gives: (kept records, where the rest starts, records, lines, runs).
_Scanned = tuple[bytes, int, int, int, int]


def _write_scanned(
    first: bytearray,
    chunks: Iterator[bytearray],
    stream: ChunkStream,
    tick: Callable[[], None],
    columns: TallColumns,
    scanner: Any,
    out: IO[bytes],
    into: HospitalFile,
) -> int | None:
    """Write the records the C scanner picks; the number of records, None for a record of another width
    (the csv-module path names it), or raise _NotMine.

    A record cut by a chunk's end is carried into the next chunk's headroom (or, longer than that,
    joined to it) and read again whole."""
    codes = bytes(any(c == i for c, _ in columns.codes) for i in range(columns.width))
    payer = {columns.columns[f] for f in PAYER_FIELDS if f in columns.columns}
    picked = set(columns.picked())
    picks = bytes((i in picked) + (i in picked and i not in payer) for i in range(columns.width))
    width, limit = columns.width, csv.field_size_limit()
    record, line, run, carry, items = 0, 3, 0, b"", scanner.items(ITEMS_LIMIT)
    for buf, at in _buffers(first, chunks, stream, tick):
        data: bytes | bytearray = buf
        if len(carry) <= at:
            buf[at - len(carry) : at] = carry
            at -= len(carry)
        else:
            data, at = carry + bytes(memoryview(buf)[at:]), 0
        found = _scanned(scanner.scan(data, at, False, width, codes, picks, record, line, run, limit, items))
        if found is None:
            return None
        kept, consumed, record, line, run = found
        carry = bytes(memoryview(data)[consumed:])
        into.rows_seen = record
        _write_all(out, memoryview(kept))
    found = _scanned(scanner.scan(carry, 0, True, width, codes, picks, record, line, run, limit, items))
    if found is None:
        return None
    _write_all(out, memoryview(found[0]))
    return found[2]


def _scanned(found: _Scanned | bool | None) -> _Scanned | None:
    if found is None or found is True:
        raise _NotMine
    return found or None


def _space_quote(buf: bytearray, at: int, tail: bytes) -> bool:
    """A field that starts with one space and a quote: DuckDB's reader drops the space and unquotes the
    field, the csv module keeps both (` "b"`)."""
    window = tail + bytes(buf[at : at + 2])
    if any(pattern in window for pattern in _SPACE_QUOTE):
        return True
    hit = buf.find(b' "', at + 1)
    while hit >= 0:
        if buf[hit - 1] in b",\r\n":
            return True
        hit = buf.find(b' "', hit + 1)
    return False


def _buffers(
    first: bytearray, chunks: Iterator[bytearray], stream: ChunkStream, tick: Callable[[], None]
) -> Iterator[tuple[bytearray, int]]:
    """(buffer, where its data starts): the head's rest, then each chunk, given back once written."""
    if first:
        yield first, 0
    for chunk in chunks:
        if len(chunk) > HEADROOM:
            yield chunk, HEADROOM
        stream.pool.put(chunk)
        tick()


def _ticker(stream: ChunkStream, into: HospitalFile, progress: Progress | None) -> Callable[[], None]:
    def tick() -> None:
        if progress is not None:
            progress.update(bytes_done=stream.bytes_read, items=into.rows_seen, kept=into.n_charges)

    return tick


def _write_all(out: IO[bytes], view: memoryview) -> None:
    """Write every byte: an unbuffered write to a pipe may take only part of them (a signal arriving)."""
    while view:
        view = view[out.write(view) or 0 :]
