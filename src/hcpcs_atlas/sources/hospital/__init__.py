"""Hospital price-transparency files (45 CFR 180.50): CMS template v2.0-v3.0, tall CSV, wide CSV, JSON.

The layout and version are read from the content, never from the name: the first decompressed bytes
tell JSON (``{``), an HTML page served in place of the file (refused), a ``cms-hpt.txt`` discovery file,
or CSV; the CSV header tells tall (``payer_name`` column) from wide (payer and plan in column names).
Files are streamed from :class:`..tic_io.ChunkStream` (local path or URL; plain, gzip or zip; sha256 of
the stored bytes; inflated on a background thread): memory is flat in the file size.

- :mod:`.csvfile`: tall and wide CSV through the csv module (UTF-8, BOM, cp1252 bytes: :mod:`.text`);
- :mod:`.jsonfile`: JSON through the TiC byte scanner, orjson for kept items only;
- :mod:`.discovery`: ``cms-hpt.txt``.

A file is one unit of work: any defect raises :class:`~hcpcs_atlas.errors.InputError` naming the file
and the row (CSV) or byte (JSON, compressed stream), and nothing partial is returned.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import chain
from pathlib import Path

from ...errors import InputError
from ...progress import Progress
from ..tic.scan import HEADROOM
from ..tic.stream import ChunkStream, file_name, is_url
from .csvfile import read_csv
from .discovery import DiscoveryEntry, parse_discovery
from .jsonfile import JsonScan
from .model import HospitalCharge, HospitalFile, iso_date
from .sniffing import sniff
from .text import ChunkReader, text_lines

__all__ = [
    "DiscoveryEntry",
    "HospitalCharge",
    "HospitalFile",
    "is_discovery",
    "iso_date",
    "read_discovery",
    "read_hospital_file",
    "sniff",
]


def _first(stream: ChunkStream) -> tuple[bytearray | None, Iterator[bytearray]]:
    chunks = iter(stream)
    return next(chunks, None), chunks


def is_discovery(source: str | Path) -> bool:
    with ChunkStream(source, HEADROOM) as stream:
        first, _ = _first(stream)
        return first is not None and sniff(str(source), first[HEADROOM:]) == "discovery"


def read_discovery(source: str | Path) -> list[DiscoveryEntry]:
    """The price files a ``cms-hpt.txt`` lists (location name, URL or path)."""
    with ChunkStream(source) as stream:
        data = b"".join(bytes(chunk) for chunk in stream)
    return parse_discovery(str(source), data.decode("utf-8-sig", "replace"))


def read_hospital_file(
    source: str | Path,
    keep_code: Callable[[str], bool],
    progress: Progress | None = None,
    sink: Callable[[list[HospitalCharge]], None] | None = None,
) -> HospitalFile:
    """Stream one hospital file and keep the charges of rows or items whose codes pass ``keep_code``.

    ``keep_code`` gets each code of a row (``code|N`` columns, or ``code_information[]``), trimmed and
    upper-cased, whatever its type. With ``sink``, each row's charges go there as they are read instead
    of into ``charges`` (flat memory whatever the number kept).
    """
    label = str(source)
    with ChunkStream(source, HEADROOM) as stream:
        first, rest = _first(stream)
        kind = sniff(label, first[HEADROOM:] if first is not None else b"")
        if kind == "discovery":
            raise InputError(label, "a cms-hpt.txt discovery file: ingest it as a source of its own", byte=0)
        into = HospitalFile(label, file_name(label), "", 0, kind, None, None, None, sink=sink)
        chunks = chain([first] if first is not None else [], rest)
        tick = _ticker(stream, into, progress)
        if kind == "json":
            _read_json(label, chunks, stream, keep_code, into, tick)
        else:
            reader = ChunkReader(chunks, HEADROOM, stream.pool.put, tick)
            read_csv(label, text_lines(reader), keep_code, into)
        for _ in rest:  # the CSV reader may stop before the stream's end: drain it (hash, gzip CRC)
            pass
        into.sha256, into.bytes_read = stream.sha256, stream.bytes_read
    tick()
    return into


def _ticker(stream: ChunkStream, into: HospitalFile, progress: Progress | None) -> Callable[[], None]:
    def tick() -> None:
        if progress is not None:
            progress.update(bytes_done=stream.bytes_read, items=into.rows_seen, kept=into.n_charges)

    return tick


def _read_json(
    label: str,
    chunks: Iterator[bytearray],
    stream: ChunkStream,
    keep_code: Callable[[str], bool],
    into: HospitalFile,
    tick: Callable[[], None],
) -> None:
    scan = JsonScan(label, keep_code, into, recycle=stream.pool.put)
    for chunk in chunks:
        scan.feed(chunk)
        tick()
    scan.finish()


def source_name(source: str | Path) -> str:
    return str(source) if is_url(source) else Path(source).name
