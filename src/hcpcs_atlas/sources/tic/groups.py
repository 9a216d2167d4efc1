"""Provider groups as the rules read them (a TIN and its NPIs), inline or fetched from a reference's
location; the fetched ones staged to Parquet (:class:`GroupTable`) so that millions of NPIs are never
Python objects. Kept apart from :mod:`.rows` so that :mod:`.refs` can name the table without a cycle."""

from __future__ import annotations

import shutil
import tempfile
import weakref
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["GroupTable", "Provider", "provider", "text"]


@dataclass(frozen=True, slots=True)
class Provider:
    tin_type: str | None
    tin_value: str | None
    npis: tuple[int, ...]


def text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    return value if isinstance(value, str) else str(value)


def provider(group: Any) -> Provider:
    if not isinstance(group, dict):
        return Provider(None, None, ())
    tin = group.get("tin")
    if isinstance(tin, dict):
        tin_type, tin_value = text(tin.get("type")), text(tin.get("value"))
    else:  # early drafts wrote the TIN as a bare string
        tin_type, tin_value = None, text(tin)
    npis = group.get("npi")
    return Provider(tin_type, tin_value, tuple(_npis(npis if isinstance(npis, list) else [npis])))


class GroupTable:
    """The provider groups of a remote reference file, staged to a Parquet file of their own while the
    file streams: a file of 10 million NPIs held as Python ints took 1.1 GB; here one chunk at a time
    is in memory, whatever the number of groups.

    Each group is read by :func:`provider` (the rules of inline groups); every ``CHUNK`` groups the
    pending values become one row group (tin_type, tin_value, npis). ``OverflowError``: an NPI beyond
    64 bits. The file lives in a temporary folder removed with the table."""

    CHUNK = 1 << 16

    def __init__(self) -> None:
        folder = tempfile.mkdtemp(prefix="tic-groups-")
        weakref.finalize(self, shutil.rmtree, folder, ignore_errors=True)
        self.path = Path(folder) / "groups.parquet"
        self._writer: Any = None
        self._types: list[str | None] = []
        self._values: list[str | None] = []
        self._npis: array[int] = array("q")
        self._offsets: array[int] = array("q", [0])
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def add(self, group: Any) -> None:
        group_read = provider(group)
        self._types.append(group_read.tin_type)
        self._values.append(group_read.tin_value)
        self._npis.extend(group_read.npis)
        self._offsets.append(len(self._npis))
        self._count += 1
        if len(self._types) >= self.CHUNK:
            self._write()

    def _write(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        values = pa.Array.from_buffers(pa.int64(), len(self._npis), [None, pa.py_buffer(self._npis)])
        npis = pa.ListArray.from_arrays(pa.array(self._offsets, pa.int32()), values)  # no copy of the NPIs
        batch = pa.record_batch(
            [pa.array(self._types, pa.string()), pa.array(self._values, pa.string()), npis],
            names=["tin_type", "tin_value", "npis"],
        )
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.path, batch.schema, compression="none")
        self._writer.write_batch(batch)
        self._types, self._values, self._npis, self._offsets = [], [], array("q"), array("q", [0])

    def seal(self) -> None:
        """Write the pending groups and close the file: the table is complete."""
        self._write()
        self._writer.close()

    def chunks(self) -> Iterator[Any]:
        """The groups as pyarrow RecordBatches, one row group at a time."""
        import pyarrow.parquet as pq

        groups = pq.ParquetFile(self.path)  # row group by row group: iter_batches read ahead (+55 MB at 2 M)
        for index in range(groups.num_row_groups):
            yield from groups.read_row_group(index).to_batches()

    def providers(self) -> Iterator[Provider]:
        """The groups as :class:`Provider` objects (the exact path; small selections)."""
        for chunk in self.chunks():
            rows = zip(*(chunk.column(i).to_pylist() for i in range(3)), strict=True)
            yield from (Provider(t, v, tuple(n)) for t, v, n in rows)


def _npis(values: list[Any]) -> Iterator[int]:
    for value in values:
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, int):
            yield value
        elif isinstance(value, float) and value.is_integer():
            yield int(value)
        elif isinstance(value, str) and value.strip().isdigit():
            yield int(value.strip())
