"""Load NPPES NPI files (monthly full or weekly incremental) into one table, one row per NPI.

DuckDB parses the CSV as it streams through a named pipe (see :mod:`hcpcs_atlas.sources.nppes`); only the
kept columns are turned into values. Memory is capped for the load, so a 9 GB file costs the same as a
small one. A later file replaces the rows of the NPIs it lists (the last file loaded wins).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from ..errors import InputError
from ..progress import Progress
from ..sources import file_sha256
from ..sources.nppes import NppesColumns, NppesFile, open_nppes, stream_csv
from .db import FileRecord, LoadResult, Store, settings

__all__ = ["LOAD_MEMORY_LIMIT", "NppesProvider", "load_nppes", "providers"]

#: DuckDB's memory cap while loading (it spills to disk past it); Python and the pipe add ~100 MB.
LOAD_MEMORY_LIMIT = "384MB"


@dataclass(frozen=True)
class NppesProvider:
    npi: int
    entity_type: str | None
    primary_taxonomy: str | None
    taxonomies: list[str]
    practice_state: str | None
    practice_zip5: str | None
    practice_city: str | None
    deactivation_date: date | None


def _select(c: NppesColumns) -> str:
    """The kept fields of one CSV row; column ``cN`` is header column N."""
    slots = list(zip(c.taxonomies, c.primary_switches, strict=True))
    primary = " ".join(f"WHEN c{s} = 'Y' THEN c{t}" for t, s in slots if s is not None)
    listed = f"list_filter([{', '.join(f'c{t}' for t in c.taxonomies)}], lambda x: x IS NOT NULL)"
    return f"""
        CAST(c{c.npi} AS BIGINT),
        c{c.entity_type},
        coalesce(CASE {primary} END, {listed}[1]),
        {listed},
        c{c.practice_state},
        left(c{c.practice_postal_code}, 5),
        c{c.practice_city},
        try_strptime(c{c.deactivation_date}, '%m/%d/%Y')::DATE"""


def _read_csv(c: NppesColumns) -> str:
    columns = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(c.width))
    return (
        f"read_csv(?, columns = {{{columns}}}, header = true, auto_detect = false, delim = ',', "
        "quote = '\"', escape = '\"', strict_mode = true)"
    )


def load_nppes(
    store: Store,
    path: Path,
    effective_start: date | None = None,
    progress: Callable[[str, int | None], Progress] | None = Progress,
) -> LoadResult:
    """Load one NPPES file in one transaction; the same file again changes nothing.

    The progress bar draws only on a terminal (see :class:`Progress`).
    """
    nppes = open_nppes(path)
    bar = progress(Path(path).name, nppes.csv_size) if progress else None
    try:
        return _load(store, nppes, effective_start, bar)
    finally:
        if bar:
            bar.close()


def _load(store: Store, nppes: NppesFile, effective_start: date | None, bar: Progress | None) -> LoadResult:
    # A plain CSV is hashed as it streams (one read of 9 GB, not two); a container is hashed first.
    known = None if nppes.compression == "none" else file_sha256(nppes.path)
    existing = store.find_file("nppes", known) if known else None
    try:
        if existing is None:
            return _load_new(store, nppes, effective_start, bar, known)
    except _AlreadyLoaded as already:
        existing = already.file_id
    return LoadResult(existing, nppes.path.name, 0, already_loaded=True)


def _load_new(
    store: Store, nppes: NppesFile, effective_start: date | None, bar: Progress | None, sha256: str | None
) -> LoadResult:
    others = store.files("nppes")
    with _load_settings(store), store.transaction():
        file_id = store.add_file(_record(nppes, effective_start, sha256 or f"pending-{id(nppes)}"), 0)
        with stream_csv(nppes, (lambda n: bar.update(bytes_done=n)) if bar else None) as stream:
            count = _insert(store, nppes, file_id, stream.location)
        if sha256 is None:
            sha256 = stream.sha256()
            if (existing := store.find_file("nppes", sha256)) is not None:
                raise _AlreadyLoaded(existing)
        store.con.execute(
            "UPDATE source_files SET sha256 = ?, row_count = ? WHERE file_id = ?", [sha256, count, file_id]
        )
        if others:
            _supersede(store, file_id)
    return LoadResult(file_id, nppes.path.name, count, already_loaded=False)


class _AlreadyLoaded(Exception):
    """Raised inside the transaction so that it rolls back."""

    def __init__(self, file_id: int) -> None:
        super().__init__(file_id)
        self.file_id = file_id


def _insert(store: Store, nppes: NppesFile, file_id: int, location: str) -> int:
    sql = f"INSERT INTO core_nppes_providers SELECT {file_id}, {_select(nppes.columns)} FROM {_read_csv(nppes.columns)}"
    try:
        row = store.con.execute(sql, [location]).fetchone()
    except duckdb.Error as exc:
        raise _input_error(nppes, exc) from exc
    if not row or not row[0]:
        raise InputError(nppes.path, "no NPPES rows after the header row")
    return int(row[0])


_LINE = re.compile(r"CSV Error on Line: (\d+)")
_CAST = re.compile(r"(Could not convert string '.*?' to \w+) when casting from source column c(\d+)")
_COLUMNS = re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)")


def _input_error(nppes: NppesFile, exc: duckdb.Error) -> InputError:
    """One line from DuckDB's report: the row, and what is wrong with it (not its advice on options)."""
    text = str(exc)
    line, columns = _LINE.search(text), _COLUMNS.search(text)
    if line and columns:
        message = f"{columns[2]} columns where the header has {columns[1]}; truncated or malformed file?"
        return InputError(nppes.path, message, row=int(line[1]))
    first = text.strip().splitlines()[0].split("Error: ", 1)[-1]
    column = _CAST.search(first)
    if column:
        names = {getattr(nppes.columns, f): label for f, label in nppes.columns.labels.items()}
        name = names.get(int(column[2]), f"number {int(column[2]) + 1}")
        return InputError(nppes.path, f"{column[1]} in column {name!r}")
    return InputError(nppes.path, first)


def _supersede(store: Store, file_id: int) -> None:
    store.con.execute(
        "DELETE FROM core_nppes_providers WHERE file_id <> ? AND npi IN "
        "(SELECT npi FROM core_nppes_providers WHERE file_id = ?)",
        [file_id, file_id],
    )


def _load_settings(store: Store) -> AbstractContextManager[None]:
    """Cap DuckDB's memory for the load and let it insert out of order (less buffering)."""
    return settings(store, memory_limit=LOAD_MEMORY_LIMIT, preserve_insertion_order=False)


def _record(nppes: NppesFile, effective_start: date | None, sha256: str) -> FileRecord:
    return FileRecord(
        source="nppes",
        file_name=nppes.path.name,
        location=str(nppes.path.resolve()),
        sha256=sha256,
        size_bytes=nppes.path.stat().st_size,
        format="zip" if nppes.compression == "zip" else "csv",
        effective_start=effective_start or nppes.effective_start,
        effective_end=nppes.effective_end,
        meta={"member": nppes.member, "columns": nppes.columns.labels, "width": nppes.columns.width},
    )


def providers(store: Store, npis: Iterable[int]) -> dict[int, NppesProvider]:
    """The NPPES record of each NPI found (an NPI not in NPPES is simply absent)."""
    import pyarrow as pa

    # An Arrow column, not a list parameter: a code's 50,000 NPIs took ~45 ms CPU to pass as a list, ~5 ms so.
    wanted = pa.table({"npi": pa.array(list(set(npis)), pa.int64())})
    cursor = store.con.cursor()  # its own connection: registering on one with a result pending fails
    try:
        cursor.register("wanted_npis", wanted)
        rows = cursor.execute(
            """SELECT npi, entity_type, primary_taxonomy, taxonomies, practice_state, practice_zip5,
                      practice_city, deactivation_date
               FROM core_nppes_providers WHERE npi IN (SELECT npi FROM wanted_npis)"""
        ).fetchall()
    finally:
        cursor.close()
    return {int(row[0]): NppesProvider(*row) for row in rows}
