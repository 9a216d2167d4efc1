"""Read what the facts builder needs from the store in a few bulk queries, grouped by code and version.

Building facts for every code one query at a time is slow; a snapshot reads each table once.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from ..store import SourceFile, Store

__all__ = ["Snapshot", "VersionedRow"]

#: The CMS sources read per code (the crosswalk: every row of the code).
_CODE_SOURCES = ("hcpcs", "asp", "crosswalk", "opps")


@dataclass(frozen=True)
class VersionedRow:
    file: SourceFile
    row: dict[str, Any]


class Snapshot:
    """Rows of every CMS source, ``rows[source][code]`` = versions oldest first (crosswalk: all rows)."""

    def __init__(self, store: Store) -> None:
        # Everything is read, even for one code: related codes need the whole crosswalk and file list.
        self.store = store
        self.files = {f.file_id: f for f in store.source_files()}
        self.rows = {source: self._group(store.source_rows(source)) for source in _CODE_SOURCES}
        self.modifiers = self._group(store.source_rows("hcpcs", part=1), key="modifier")
        self.carried: dict[int, set[str]] = {}
        for source in _CODE_SOURCES:
            self.carried.update(store.filled_columns(source))

    def carries(self, v: VersionedRow, field: str) -> bool:
        """Whether ``v``'s file fills ``field`` for any code (its format has that column)."""
        return field in self.carried.get(v.file.file_id, set())

    def _group(self, rows: list[dict[str, Any]], key: str = "code") -> dict[str, list[VersionedRow]]:
        grouped: dict[str, list[VersionedRow]] = defaultdict(list)
        for row in rows:
            grouped[row[key]].append(VersionedRow(self.files[row["file_id"]], row))
        for versions in grouped.values():
            versions.sort(key=lambda v: v.file.order)
        return dict(grouped)

    def versions(self, source: str, code: str) -> list[VersionedRow]:
        return self.rows[source].get(code, [])

    def latest(self, source: str, code: str) -> VersionedRow | None:
        versions = self.versions(source, code)
        return versions[-1] if versions else None

    def files_of(self, source: str) -> list[SourceFile]:
        return sorted((f for f in self.files.values() if f.source == source), key=lambda f: f.order)

    def codes(self) -> list[str]:
        return sorted(self.rows["hcpcs"])
