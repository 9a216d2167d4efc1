"""Decompressed chunks of a hospital file as text lines, for the csv module.

Hospitals write UTF-8 (often with a BOM) or, still, Windows-1252. A file is decoded as UTF-8; a byte
sequence that is not UTF-8 is read as cp1252 instead, byte by byte, so one stray curly quote (0x92) from a
spreadsheet neither refuses the file nor turns into U+FFFD. The decoder, line splitting and the csv
module run in C; Python only sees whole lines.
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["CP1252_FALLBACK", "ChunkReader", "text_lines"]

CP1252_FALLBACK = "hcpcs-atlas-cp1252"


def _cp1252(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    bad = error.object[error.start : error.end]
    # cp1252 leaves five bytes undefined (0x81 0x8D 0x8F 0x90 0x9D): latin-1 maps them to C1 controls.
    text = "".join(bytes([b]).decode("cp1252", "strict") if b not in b"\x81\x8d\x8f\x90\x9d" else chr(b)
                   for b in bad)  # fmt: skip
    return text, error.end


codecs.register_error(CP1252_FALLBACK, _cp1252)


class ChunkReader(io.RawIOBase):
    """A raw binary stream over an iterator of byte chunks; each chunk is copied once, then recycled."""

    def __init__(
        self,
        chunks: Iterator[bytearray],
        headroom: int = 0,
        recycle: Callable[[bytearray], None] | None = None,
        on_chunk: Callable[[], None] | None = None,
    ) -> None:
        self._chunks, self._headroom, self._recycle, self._on_chunk = chunks, headroom, recycle, on_chunk
        self._view = memoryview(b"")
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._view and not self._done:
            chunk = next(self._chunks, None)
            if chunk is None:
                self._done = True
                break
            self._view = memoryview(bytes(memoryview(chunk)[self._headroom :]))
            if self._on_chunk is not None:
                self._on_chunk()
            if self._recycle is not None:
                self._recycle(chunk)
        size = min(len(buffer), len(self._view))
        buffer[:size] = self._view[:size]
        self._view = self._view[size:]
        return size


def text_lines(raw: io.RawIOBase) -> io.TextIOWrapper:
    """Lines of ``raw`` decoded as UTF-8 (BOM dropped) with cp1252 for bytes that are not UTF-8.

    ``newline=""`` keeps line ends inside quoted fields for the csv module.
    """
    buffered = io.BufferedReader(raw, 1 << 20)
    return io.TextIOWrapper(buffered, encoding="utf-8-sig", errors=CP1252_FALLBACK, newline="")
