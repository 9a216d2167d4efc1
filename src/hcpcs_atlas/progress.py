"""A small progress bar for long work: bytes, items and rate, on stderr.

It draws only when stderr is a terminal (or ``HCPCS_ATLAS_PROGRESS=1``), so logs and tests stay clean.
"""

from __future__ import annotations

import os
import sys
import time
from types import TracebackType
from typing import TextIO

__all__ = ["Progress"]


def _human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


class Progress:
    """Progress of one unit of work. Call :meth:`update` often; it redraws at most 10 times a second."""

    def __init__(self, label: str, total_bytes: int | None = None, stream: TextIO | None = None) -> None:
        self.label = label
        self.total_bytes = total_bytes
        self.bytes = 0
        self.items = 0
        self.kept = 0
        self._stream = stream or sys.stderr
        self._enabled = (
            stream is not None or self._stream.isatty() or os.environ.get("HCPCS_ATLAS_PROGRESS") == "1"
        )
        self._start = time.monotonic()
        self._last_draw = 0.0

    def update(
        self, *, bytes_done: int | None = None, items: int | None = None, kept: int | None = None
    ) -> None:
        if bytes_done is not None:
            self.bytes = bytes_done
        if items is not None:
            self.items = items
        if kept is not None:
            self.kept = kept
        now = time.monotonic()
        if self._enabled and now - self._last_draw >= 0.1:
            self._last_draw = now
            self._draw(now)

    def line(self, now: float | None = None) -> str:
        elapsed = max((now or time.monotonic()) - self._start, 1e-9)
        rate = self.bytes / elapsed / 1e6
        parts = [self.label]
        if self.total_bytes:
            pct = min(self.bytes / self.total_bytes, 1.0)
            filled = int(pct * 20)
            parts.append(f"[{'#' * filled}{'.' * (20 - filled)}] {pct:6.1%}")
            parts.append(f"{_human_bytes(self.bytes)}/{_human_bytes(self.total_bytes)}")
        else:
            parts.append(_human_bytes(self.bytes))
        parts.append(f"{self.items:,} items seen, {self.kept:,} kept, {rate:,.1f} MB/s")
        return "  ".join(parts)

    def _draw(self, now: float) -> None:
        self._stream.write("\r" + self.line(now)[:160] + "\x1b[K")
        self._stream.flush()

    def close(self) -> None:
        if self._enabled:
            self._draw(time.monotonic())
            self._stream.write("\n")
            self._stream.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
