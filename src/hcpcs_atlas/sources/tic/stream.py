"""Open a TiC source (local path or http(s) URL; plain JSON, gzip or zip) as decompressed chunks.

The kind is told by magic bytes, not the name: payers serve gzip as ``.json`` and HTML error pages as
``.json.gz``. Reading, hashing (sha256 of the bytes as stored or fetched) and inflating run on a
background thread: isal's inflate and hashlib release the GIL, so they overlap with the byte-level search
on the caller's thread. Chunks of 4 MB keep per-chunk overhead negligible while a chunk is still in the
CPU cache when the scan reads it (bigger chunks measured slower).
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import io
import queue
import shutil
import tempfile
import threading
import zipfile
import zlib
from collections.abc import Callable, Generator, Iterator
from contextlib import ExitStack, closing, suppress
from pathlib import Path
from types import TracebackType
from typing import IO, Any, cast
from urllib.parse import unquote, urlsplit

from isal import igzip, isal_zlib

from ...errors import InputError
from .net import DEFAULT_OPTIONS, FetchError, ReadOptions, is_url, open_url

__all__ = [
    "CHUNK",
    "BufferPool",
    "ChunkStream",
    "ZipMember",
    "file_name",
    "fill_chunks",
    "is_url",
    "open_url",
    "zip_members",
]

CHUNK = 4 << 20
GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")  # a local file header, or the end record of an empty zip
_DONE = object()
_ISAL_ERROR: Any = isal_zlib.error  # typed as an instance in isal's stubs


class ZipMember(str):
    """One JSON member of a local zip archive, read as a file of its own: ``archive.zip:member.json``.

    Its sha256 is that of the member's bytes, so each member is its own unit of work in the store.
    """

    archive: str
    member: str

    def __new__(cls, archive: str | Path, member: str) -> ZipMember:
        self = super().__new__(cls, f"{archive}:{member}")
        self.archive, self.member = str(archive), member
        return self

    def __getnewargs__(self) -> tuple[str, str]:  # type: ignore[override]  # pickled to worker processes
        return self.archive, self.member


def zip_members(path: str | Path) -> list[str]:
    """The JSON members of a local zip (all its files if none is named .json); [] if not a zip."""
    if is_url(path) or not zipfile.is_zipfile(path):
        return []
    try:
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if not n.endswith("/")]
    except (zipfile.BadZipFile, OSError):
        return []  # the read reports it, with its offset
    return [n for n in names if n.lower().endswith(".json")] or names


def file_name(source: str | Path) -> str:
    if isinstance(source, ZipMember):
        return f"{Path(source.archive).name}:{source.member}"
    if is_url(source):
        return unquote(urlsplit(str(source)).path.rsplit("/", 1)[-1]) or str(source)
    return Path(source).name


class _Tap(io.RawIOBase):
    """Counts and hashes the stored bytes as they pass; can give back a peeked prefix."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.count = 0
        self.digest = hashlib.sha256()
        self._prefix = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._prefix:
            size = min(len(view), len(self._prefix))
            view[:size], self._prefix = self._prefix[:size], self._prefix[size:]
            return size
        size = self.raw.readinto(view) if hasattr(self.raw, "readinto") else self._read_into(view)
        self.digest.update(view[:size])
        self.count += size
        return size

    def _read_into(self, view: memoryview) -> int:
        data = self.raw.read(len(view))
        view[: len(data)] = data
        return len(data)

    def peek_magic(self) -> bytes:
        """The first 4 bytes, read through the tap (hashed once) and replayed to the next reader."""
        magic = b""
        while len(magic) < 4:
            block = self.read(4 - len(magic))
            if not block:
                break
            magic += block
        self._prefix = magic
        return magic

    def drain(self) -> None:
        """Read to the end, so the hash covers the whole stored file."""
        while self.read(CHUNK):
            pass


class BufferPool:
    """Reusable chunk buffers. Fresh multi-MB allocations page-fault on every chunk and cost more than
    searching the chunk; a handful of buffers cycling between the reader thread and the consumer do not."""

    def __init__(self, size: int, keep: int = 6) -> None:
        self.size, self.keep = size, keep
        self._free: queue.SimpleQueue[bytearray] = queue.SimpleQueue()

    def get(self) -> bytearray:
        try:
            return self._free.get_nowait()
        except queue.Empty:
            return bytearray(self.size)

    def put(self, buf: bytearray) -> None:
        if len(buf) == self.size and self._free.qsize() < self.keep:
            self._free.put(buf)


def fill_chunks(
    readinto: Callable[[memoryview], int], pool: BufferPool, headroom: int
) -> Iterator[bytearray]:
    """Pool buffers filled from ``readinto`` after ``headroom`` free bytes; the last one may be shorter."""
    while True:
        buf = pool.get()
        filled = headroom
        with memoryview(buf) as view:
            while filled < len(buf) and (got := readinto(view[filled:])):
                filled += got
        if filled == len(buf):
            yield buf
            continue
        if filled > headroom:
            yield buf[:filled]  # the short last chunk: an exact-size copy, once
        pool.put(buf)
        return


def _gzip_reader(tap: _Tap) -> Any:
    """isal's raw gzip reader inflates straight into our buffer (GzipFile.readinto reads, then copies).
    It handles multi-member streams, zero padding and the CRC/size trailer like gzip.GzipFile. It reads
    the stored bytes in 4 MB blocks: each block is a call back into Python (the tap), which must wait for
    the GIL held by the scan, so few large blocks keep this thread inflating."""
    reader: Any = getattr(igzip, "_IGzipReader", None)
    if reader is None:  # a future isal without the private class: the public, copying reader
        reader = igzip.GzipFile
        return reader(fileobj=tap, mode="rb")
    return reader(tap, CHUNK)


class ChunkStream:
    """Decompressed chunks of one source. Use as a context manager; iterate once."""

    def __init__(
        self,
        source: str | Path,
        headroom: int = 0,
        chunk: int = CHUNK,
        options: ReadOptions = DEFAULT_OPTIONS,
    ) -> None:
        self.source = str(source)
        self.member = source if isinstance(source, ZipMember) else None
        self.options = options
        self.headroom = headroom
        self.pool = BufferPool(headroom + chunk)
        self.delivered = 0  # decompressed bytes handed to the caller
        self._inflated = 0  # decompressed bytes produced by the reader thread
        self.kind = "unknown"
        self._tap: _Tap | None = None
        self._size: int | None = None
        self._stop = threading.Event()
        self._queue: queue.Queue[object] = queue.Queue(maxsize=3)
        self._thread = threading.Thread(
            target=self._produce, name=f"tic-read {file_name(source)}", daemon=True
        )

    @property
    def bytes_read(self) -> int:
        """Stored (compressed) bytes read so far."""
        return self._tap.count if self._tap else 0

    @property
    def sha256(self) -> str:
        return self._tap.digest.hexdigest() if self._tap else hashlib.sha256().hexdigest()

    def __enter__(self) -> ChunkStream:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        while self._thread.is_alive():  # unblock a reader thread waiting to put a chunk
            with suppress(queue.Empty):
                self._queue.get(timeout=0.05)
        self._thread.join()

    def __iter__(self) -> Iterator[bytearray]:
        """Chunks with ``headroom`` free bytes in front; give each back with ``pool.put`` when done."""
        while True:
            item = self._queue.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise self._as_input_error(item)
            assert isinstance(item, bytearray)
            self.delivered += len(item) - self.headroom
            yield item

    # -- producer thread -----------------------------------------------------------------------------------
    def _produce(self) -> None:
        try:
            chunks = self._chunks()
            with closing(chunks):  # a stop mid-file still closes the source, now, not at collection
                for chunk in chunks:
                    if not self._put(chunk):
                        return
            self._put(_DONE)
        except BaseException as exc:  # handed to the consumer, which raises it as an InputError
            self._put(exc)

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _chunks(self) -> Generator[bytearray, None, None]:
        with ExitStack() as stack:
            raw = stack.enter_context(self._open_raw())
            tap = self._tap = _Tap(raw)
            magic = tap.peek_magic()
            if magic.startswith(GZIP_MAGIC):
                self.kind = "gzip"
                reader: Any = _gzip_reader(tap)
            elif magic in ZIP_MAGICS:
                self.kind = "zip"
                reader = self._zip_member(tap, stack)
            else:
                self.kind = "json"
                reader = tap
            yield from fill_chunks(self._counting(reader.readinto), self.pool, self.headroom)
            tap.drain()

    def _counting(self, readinto: Callable[[memoryview], int]) -> Callable[[memoryview], int]:
        """Count decompressed bytes as they are produced: an error's offset is where inflating stopped."""

        def counted(view: memoryview) -> int:
            got = readinto(view)
            self._inflated += got
            return got

        return counted

    def _open_raw(self) -> IO[bytes]:
        if self.member is not None:  # hashed and sniffed as the member's own bytes
            archive = zipfile.ZipFile(self.member.archive)
            try:
                return archive.open(self.member.member)
            finally:
                archive.close()  # the open member keeps the file open until it is closed
        if not is_url(self.source):
            return Path(self.source).open("rb", buffering=0)
        try:
            return cast(IO[bytes], open_url(self.source, self.options))
        except FetchError as exc:
            raise InputError(self.source, f"download failed: {exc}", byte=0) from None

    def _zip_member(self, tap: _Tap, stack: ExitStack) -> IO[bytes]:
        """Zip needs a seekable file: hash the local file whole, or spool a download to a temp file."""
        if is_url(self.source):
            spool = stack.enter_context(tempfile.TemporaryFile())  # noqa: SIM115 - closed by the stack
            shutil.copyfileobj(tap, spool, CHUNK)
            archive = stack.enter_context(zipfile.ZipFile(spool))
        else:
            tap.drain()
            archive = stack.enter_context(zipfile.ZipFile(self.source))
        names = [n for n in archive.namelist() if not n.endswith("/")]
        if not names:
            raise InputError(self.source, "zip archive holds no file", byte=0)
        json_names = [n for n in names if n.lower().endswith(".json")]
        if len(json_names) > 1:
            raise InputError(
                self.source,
                f"zip archive holds {len(json_names)} JSON files: download it and ingest the local "
                "archive (each member is then ingested as archive.zip:member.json)",
                byte=0,
            )
        return stack.enter_context(archive.open((json_names or names)[0]))

    def _as_input_error(self, exc: BaseException) -> BaseException:
        """Errors of the stored bytes become InputError at the decompressed offset reached; bugs pass."""
        if isinstance(exc, EOFError):
            message = "truncated: the compressed stream ends before its end-of-stream marker"
        elif isinstance(exc, (zipfile.BadZipFile, zlib.error, _ISAL_ERROR, gzip.BadGzipFile)):
            message = f"corrupt compressed data: {exc}"
        elif isinstance(exc, (OSError, http.client.HTTPException)):
            message = f"read failed: {exc}"
        else:
            return exc
        return InputError(self.source, message, byte=self._error_offset())

    def _error_offset(self) -> int:
        """The decompressed offset where a gzip stream broke. The reader thread only knows the bytes
        inflated before its last 4 MB request, so a local file is inflated again with zlib (error path)."""
        if self.kind != "gzip" or is_url(self.source) or self.member is not None:
            return self._inflated
        total = 0
        with suppress(zlib.error), Path(self.source).open("rb") as fh:
            inflater = zlib.decompressobj(wbits=31)
            pending = fh.read(CHUNK)
            while pending:
                total += len(inflater.decompress(pending, CHUNK))
                if not inflater.eof:
                    pending = inflater.unconsumed_tail or fh.read(CHUNK)
                    continue
                pending = inflater.unused_data or fh.read(CHUNK)
                if not pending.strip(b"\0"):
                    break  # zero padding after the last member
                inflater = zlib.decompressobj(wbits=31)  # the next member
        return max(total, self._inflated)
