"""The NPPES NPI data dissemination file (``npidata_pfile_*.csv``, or the monthly/weekly zip holding it).

The full file is ~9 GB (~8 million NPIs, 329-330 columns), too big to parse in Python: this module finds the
columns by name (``data/nppes_columns.csv``: the layout changes between years) and streams the CSV bytes
through a named pipe, and the store's CSV reader (DuckDB) parses them. Streaming keeps memory flat whatever
the size, counts bytes for the progress bar, and unpacks a zip or gzip on its own thread while the reader
parses on the other core.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import os
import re
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO, Any, cast

from ..errors import InputError, SchemaDriftError
from ._tabular import column_specs, header_name

__all__ = ["CsvStream", "NppesColumns", "NppesFile", "nppes_columns", "open_nppes", "stream_csv"]

KIND = "NPPES NPI data"
CHUNK = 1 << 20
ZIP_MAGIC = b"PK\x03\x04"
GZIP_MAGIC = b"\x1f\x8b"
#: The provider file in the NPPES zip; the zip also holds endpoint, other-name and location files.
MEMBER = re.compile(r"npidata_pfile_.*\.csv$", re.IGNORECASE)
#: ``npidata_pfile_20050523-20251109.csv``: the enumeration dates covered (a weekly file covers one week).
PERIOD = re.compile(r"(\d{8})-(\d{8})")


@dataclass(frozen=True)
class NppesColumns:
    """Where each kept field is, by index into the header; taxonomy slots in their number order."""

    width: int
    npi: int
    entity_type: int
    practice_city: int
    practice_state: int
    practice_postal_code: int
    deactivation_date: int
    taxonomies: tuple[int, ...]
    primary_switches: tuple[int | None, ...]  # the switch of each taxonomy slot (same number)
    labels: dict[str, str]  # field -> header as written, for the file's metadata


@dataclass(frozen=True)
class NppesFile:
    """An NPPES file ready to stream: where the CSV is, its columns, and the period its name gives."""

    path: Path
    member: str | None  # the CSV inside a zip
    compression: str  # "none", "gzip" or "zip"
    columns: NppesColumns
    csv_size: int | None  # uncompressed bytes, when the container says
    effective_start: date | None
    effective_end: date | None


def open_nppes(path: Path) -> NppesFile:
    """Check the file and its header; nothing but the header is read yet."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "no such file")
    with path.open("rb") as fh:
        magic = fh.read(4)
    if not magic:
        raise InputError(path, "file is empty")
    compression = "zip" if magic.startswith(ZIP_MAGIC) else "gzip" if magic.startswith(GZIP_MAGIC) else "none"
    member, size = _member(path) if compression == "zip" else (None, None)
    if compression == "none":
        size = path.stat().st_size
    with _open_csv(path, compression, member) as raw:
        header = _header(path, raw)
    start, end = _period(member or path.name)
    return NppesFile(path, member, compression, nppes_columns(path, header), size, start, end)


def _member(path: Path) -> tuple[str, int]:
    try:
        with zipfile.ZipFile(path) as archive:
            infos = [
                i for i in archive.infolist() if MEMBER.search(i.filename) and "fileheader" not in i.filename
            ]
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(path, f"not a readable zip archive ({exc})") from exc
    if not infos:
        raise InputError(path, "the zip holds no npidata_pfile_*.csv")
    return infos[0].filename, infos[0].file_size


def _open_csv(path: Path, compression: str, member: str | None) -> IO[bytes]:
    if compression == "zip":
        archive = zipfile.ZipFile(path)
        assert member is not None
        return _Closing(archive.open(member), archive)
    if compression == "gzip":
        from isal import igzip  # inflates ~2x faster than the stdlib gzip

        opener: Any = igzip.open  # untyped in isal's stubs
        return cast(IO[bytes], opener(path, "rb"))
    return path.open("rb")


class _Closing(io.BufferedReader):
    """A zip member that also closes its archive."""

    def __init__(self, raw: IO[bytes], archive: zipfile.ZipFile) -> None:
        super().__init__(raw, CHUNK)  # type: ignore[arg-type]
        self._archive = archive

    def close(self) -> None:
        super().close()
        self._archive.close()


def _header(path: Path, raw: IO[bytes]) -> list[str]:
    try:
        line = raw.readline(1 << 20)
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise InputError(path, f"cannot read the CSV ({exc})") from exc
    text = line.removeprefix(codecs.BOM_UTF8).decode("utf-8", errors="replace")
    cells = next(csv.reader([text]), [])
    if not line.endswith(b"\n") or len(cells) < 2:
        raise SchemaDriftError(
            path, "no NPPES header line (a CSV header naming NPI, Entity Type Code, ...)", row=1
        )
    return cells


def nppes_columns(path: Path, header: list[str]) -> NppesColumns:
    """Find the kept fields by name; numbered fields (``_1`` .. ``_15``) are found by their number."""
    found: dict[str, int] = {}
    slots: dict[str, dict[int, int]] = {"taxonomy_#": {}, "primary_switch_#": {}}
    specs = column_specs("nppes_columns.csv")
    for index, cell in enumerate(header):
        name = header_name(cell)
        for spec in specs:
            match = spec.pattern.fullmatch(name)
            if match and spec.field in slots:
                slots[spec.field].setdefault(int(match["n"]), index)
            elif match:
                found.setdefault(spec.field, index)
    missing = [s.required for s in specs if s.field not in found and not slots.get(s.field)]
    if missing:
        raise SchemaDriftError(
            path, f"not an NPPES file: no column {', '.join(missing)} in the header", row=1
        )
    taxonomy, switch = slots["taxonomy_#"], slots["primary_switch_#"]
    numbers = sorted(taxonomy)
    return NppesColumns(
        width=len(header),
        taxonomies=tuple(taxonomy[n] for n in numbers),
        primary_switches=tuple(switch.get(n) for n in numbers),
        labels={field: header[i] for field, i in found.items()},
        **found,
    )


def _period(name: str) -> tuple[date | None, date | None]:
    match = PERIOD.search(name)
    if not match:
        return None, None
    try:
        return tuple(date(int(d[:4]), int(d[4:6]), int(d[6:])) for d in match.groups())  # type: ignore[return-value]
    except ValueError:
        return None, None


@contextmanager
def stream_csv(nppes: NppesFile, progress: Callable[[int], None] | None = None) -> Iterator[CsvStream]:
    """A named pipe the CSV bytes flow through while the ``with`` block reads it (by ``location``).

    A thread copies (and unpacks) the file into the pipe, hashing what it copies. If the reader stops
    early the thread is drained and stopped; if the copy fails (a damaged zip) its error is raised here,
    after the reader saw only a short file, so the caller's transaction rolls back.
    """
    with tempfile.TemporaryDirectory(prefix="hcpcs-atlas-nppes-") as tmp:
        fifo = Path(tmp) / "npidata.csv"
        os.mkfifo(fifo)
        feeder = _Feeder(nppes, fifo, progress)
        feeder.start()
        stream = CsvStream(str(fifo), feeder)
        try:
            yield stream
        finally:
            feeder.finish()
        if feeder.error is not None:
            raise feeder.error


@dataclass(frozen=True)
class CsvStream:
    location: str
    _feeder: _Feeder

    def bytes_done(self) -> int:
        return self._feeder.done

    def sha256(self) -> str:
        """Of the bytes copied: the file's own hash for a plain CSV (a container is hashed by the caller)."""
        return self._feeder.digest.hexdigest()


class _Feeder(threading.Thread):
    def __init__(self, nppes: NppesFile, fifo: Path, progress: Callable[[int], None] | None) -> None:
        super().__init__(name="nppes-feeder", daemon=True)
        self.nppes, self.fifo, self.progress = nppes, fifo, progress
        self.error: InputError | None = None
        self.done = 0
        self.digest = hashlib.sha256()
        self._halt = threading.Event()

    def run(self) -> None:
        try:
            # The pipe first: a reader blocks until it has a writer, so a source that cannot be opened
            # must still leave the reader an (empty) pipe to finish on.
            with (
                self.fifo.open("wb") as out,
                _open_csv(self.nppes.path, self.nppes.compression, self.nppes.member) as src,
            ):
                while not self._halt.is_set() and (block := src.read(CHUNK)):
                    out.write(block)
                    if self.nppes.compression == "none":
                        self.digest.update(block)
                    self.done += len(block)
                    if self.progress:
                        self.progress(self.done)
        except BrokenPipeError:
            pass  # the reader stopped early: its own error says why
        except (OSError, EOFError, zipfile.BadZipFile) as exc:
            self.error = InputError(self.nppes.path, f"cannot read the CSV ({exc})", byte=self.done)

    def finish(self) -> None:
        """Stop and drain: a pipe with no reader would block the thread forever."""
        self._halt.set()
        fd = os.open(self.fifo, os.O_RDONLY | os.O_NONBLOCK)
        try:
            while self.is_alive():
                try:
                    os.read(fd, CHUNK)
                except BlockingIOError:
                    time.sleep(0.01)
        finally:
            os.close(fd)
        self.join()
