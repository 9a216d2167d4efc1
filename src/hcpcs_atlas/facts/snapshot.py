"""Read what the facts builder needs from the store in a few bulk queries, grouped by code and version.

Building facts for every code one query at a time is slow; a snapshot reads each table once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ..store import Store

__all__ = ["Comparable", "FileInfo", "Snapshot", "VersionedRow"]

_CODE_TABLES = {
    "hcpcs": "core_hcpcs_codes",
    "asp": "core_asp_prices",
    "crosswalk": "core_asp_crosswalk",
    "opps": "core_opps_rates",
}


@dataclass(frozen=True)
class FileInfo:
    file_id: int
    source: str
    file_name: str
    sha256: str
    effective_start: date | None
    effective_end: date | None
    loaded_at: datetime
    format: str | None

    @property
    def order(self) -> tuple[date, int]:
        """Versions sort by the period the publisher says the file covers, then by load order."""
        return (self.effective_start or date.min, self.file_id)


@dataclass(frozen=True)
class VersionedRow:
    file: FileInfo
    row: dict[str, Any]


#: Whether a field can be compared between two versions (both files carry it).
Comparable = Callable[["VersionedRow", "VersionedRow", str], bool]


class Snapshot:
    """Rows of every CMS source, ``rows[source][code]`` = versions oldest first (crosswalk: all rows)."""

    def __init__(self, store: Store) -> None:
        # Everything is read, even for one code: related codes need the whole crosswalk and file list.
        self.store = store
        self.files = self._read_files()
        self.rows = {source: self._read_rows(table) for source, table in _CODE_TABLES.items()}
        self.modifiers = self._read_rows("core_hcpcs_modifiers", key="modifier")
        self.carried: dict[int, set[str]] = {}
        for table in _CODE_TABLES.values():
            self.carried.update(self._carried_fields(table))

    def _carried_fields(self, table: str) -> dict[int, set[str]]:
        """Per file, the columns it fills at all: a file format without a column (e.g. no APC) is no change."""
        names = [
            n
            for (n,) in self.store.con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ? AND column_name <> 'file_id'",
                [table],
            ).fetchall()
        ]
        counts = ", ".join(f'count("{n}")' for n in names)
        rows = self.store.con.execute(f"SELECT file_id, {counts} FROM {table} GROUP BY file_id").fetchall()
        return {row[0]: {n for n, c in zip(names, row[1:], strict=True) if c} for row in rows}

    def both_carry(self, old: VersionedRow, new: VersionedRow, field: str) -> bool:
        return field in self.carried.get(old.file.file_id, set()) and field in self.carried.get(
            new.file.file_id, set()
        )

    def _read_files(self) -> dict[int, FileInfo]:
        cursor = self.store.con.execute(
            "SELECT file_id, source, file_name, sha256, effective_start, effective_end, loaded_at, format "
            "FROM source_files"
        )
        return {row[0]: FileInfo(*row) for row in cursor.fetchall()}

    def _read_rows(self, table: str, key: str = "code") -> dict[str, list[VersionedRow]]:
        cursor = self.store.con.execute(f"SELECT * FROM {table}")
        names = [d[0] for d in cursor.description]
        grouped: dict[str, list[VersionedRow]] = defaultdict(list)
        for values in cursor.fetchall():
            row = dict(zip(names, values, strict=True))
            grouped[row[key]].append(VersionedRow(self.files[row["file_id"]], row))
        for versions in grouped.values():
            versions.sort(key=lambda v: v.file.order)
        return dict(grouped)

    def versions(self, source: str, code: str) -> list[VersionedRow]:
        return self.rows[source].get(code, [])

    def latest(self, source: str, code: str) -> VersionedRow | None:
        versions = self.versions(source, code)
        return versions[-1] if versions else None

    def files_of(self, source: str) -> list[FileInfo]:
        return sorted((f for f in self.files.values() if f.source == source), key=lambda f: f.order)

    def codes(self) -> list[str]:
        return sorted(self.rows["hcpcs"])
