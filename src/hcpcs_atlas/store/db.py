"""The DuckDB store: open it, create its schema, and load one source file per transaction."""

from __future__ import annotations

import os
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from ..errors import StoreError
from .registry import source

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "DEFAULT_DB",
    "SCHEMA_VERSION",
    "FileRecord",
    "LoadResult",
    "SourceFile",
    "Store",
    "StoreOrOpener",
    "default_db_path",
    "memory_limit",
    "settings",
    "writing",
]

SCHEMA_VERSION = "4"
#: Earlier schemas a store opened for writing is brought from (one transaction): version -> what changed.
MIGRATIONS = {
    "1": "TiC rate rows carry list ids (core_tic_lists), in billing-code order",
    "2": "stored per-code TiC summaries (core_tic_code_summaries), written by the next ingest tic",
    "3": "TiC rate rows name a provider set of their file (core_tic_provider_sets), in billing-code order",
}
DEFAULT_DB = "atlas.duckdb"


def default_db_path() -> Path:
    return Path(os.environ.get("HCPCS_ATLAS_DB", DEFAULT_DB))


@dataclass(frozen=True)
class FileRecord:
    """What the store keeps about one loaded file (its provenance)."""

    source: str
    file_name: str
    location: str
    sha256: str
    size_bytes: int | None
    format: str | None
    effective_start: date | None
    effective_end: date | None
    meta: dict[str, Any]


@dataclass(frozen=True)
class SourceFile:
    """A loaded file as the facts see it: which source, which period, which bytes."""

    file_id: int
    source: str
    file_name: str
    sha256: str
    effective_start: date | None
    effective_end: date | None
    loaded_at: datetime
    format: str | None
    edition: date | None = None  # when this edition of its period was published (meta["edition"])
    edition_from: str | None = None  # what says so: a release date in the file name, an "Updated" note
    period_from: str | None = None  # where the period was read: file name, title row, ...
    series: str | None = None  # "NOC" for the NOC drug files published beside a quarter's main file

    @property
    def order(self) -> tuple[date, date, int]:
        """By the period the file covers, then edition (a re-posted correction comes later), then load order."""
        return (self.effective_start or date.min, self.edition or date.min, self.file_id)


@dataclass(frozen=True)
class LoadResult:
    file_id: int
    file_name: str
    rows: int
    already_loaded: bool
    note: str | None = None  # what the user should know besides the count (e.g. what a label links to)


def _as_dict(row: Any) -> dict[str, Any]:
    if isinstance(row, dict):
        return row
    return {name: getattr(row, name) for name in row.__dataclass_fields__}


#: How long opening a store waits for another process's lock (a load's transaction, a reader), seconds;
#: the environment variable HCPCS_ATLAS_LOCK_WAIT overrides it.
LOCK_WAIT_S = 30.0
_HOLDER = re.compile(r"held in (?P<program>\S+) \(PID (?P<pid>\d+)\)")


def _connect(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    """Open the store; while another process holds its lock, retry until LOCK_WAIT_S, then say who holds it.

    DuckDB lets one process write, or any number read, at a time: see docs/concurrency.md.
    """
    import duckdb  # here, not at the top: ``hcpcs-atlas --help`` should not pay for it

    wait = float(os.environ.get("HCPCS_ATLAS_LOCK_WAIT", LOCK_WAIT_S))
    give_up = time.monotonic() + wait
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            holder = _HOLDER.search(str(exc))
            if holder is None:
                raise StoreError(f"{path}: cannot open store: {exc}") from None
            if time.monotonic() >= give_up:
                who = f"process {holder['pid']} ({Path(holder['program']).name})"
                raise StoreError(
                    f"{path}: in use by {who} for {wait:g} s; try again when it is done "
                    "(HCPCS_ATLAS_LOCK_WAIT sets the wait)"
                ) from None
            time.sleep(0.2)
        except duckdb.Error as exc:
            raise StoreError(f"{path}: cannot open store: {exc}") from None


def schema_sql() -> str:
    """The store's DDL (every statement idempotent)."""
    return resources.files("hcpcs_atlas.store").joinpath("schema.sql").read_text(encoding="utf-8")


class Store:
    """An open hcpcs-atlas store. Use as a context manager, or call :meth:`close`."""

    def __init__(self, path: Path | str, *, read_only: bool = False) -> None:
        self.path = Path(path)
        if read_only and not self.path.exists():
            raise StoreError(f"{self.path}: no store here; load a file first (hcpcs-atlas load ...)")

        self.con = _connect(self.path, read_only)
        self._rollback_hooks: list[Callable[[], None]] = []
        try:
            if not read_only:
                self._migrate()
                self._ensure_schema()
            self._check_version()
        except BaseException:
            self.con.close()  # a failed migration or check must not keep the store's lock
            raise

    def _ensure_schema(self) -> None:
        self.con.execute(schema_sql())
        self.con.execute(
            "INSERT INTO atlas_meta VALUES ('schema_version', ?) ON CONFLICT DO NOTHING", [SCHEMA_VERSION]
        )

    def _stored_version(self) -> str | None:
        import duckdb

        try:
            row = self.con.execute("SELECT value FROM atlas_meta WHERE key = 'schema_version'").fetchone()
        except duckdb.CatalogException:
            return None
        return None if row is None else str(row[0])

    def _migrate(self) -> None:
        """A store of schema 1, 2 or 3 rewrites its TiC rates once (minutes at 100 M rows; docs/scale.md);
        one of schema 2 also gets the empty table of stored summaries (facts computes live until they are
        written)."""
        version = self._stored_version()
        if version not in MIGRATIONS:
            return
        from .tic import migrate_list_ids, migrate_provider_sets

        with self.transaction():
            if version == "1":
                migrate_list_ids(self, schema_sql())
            else:
                migrate_provider_sets(self, schema_sql())
            self.con.execute(schema_sql())
            self.con.execute("UPDATE atlas_meta SET value = ? WHERE key = 'schema_version'", [SCHEMA_VERSION])

    def _check_version(self) -> None:
        import duckdb

        try:
            row = self.con.execute("SELECT value FROM atlas_meta WHERE key = 'schema_version'").fetchone()
        except duckdb.Error as exc:
            raise StoreError(f"{self.path}: not an hcpcs-atlas store") from exc
        if row is None or row[0] != SCHEMA_VERSION:
            upgrade = row is not None and row[0] in MIGRATIONS
            raise StoreError(
                f"{self.path}: store schema {row and row[0]} is not {SCHEMA_VERSION}; "
                + ("any load or ingest upgrades it" if upgrade else "rebuild it")
            )

    def close(self) -> None:
        self.con.close()

    def cursor(self) -> Store:
        """The same open database through a new cursor: one per thread (a DuckDB connection is not
        thread-safe), closed with :meth:`close` without closing this store."""
        clone = object.__new__(Store)
        clone.path, clone.con = self.path, self.con.cursor()
        return clone

    def version(self) -> str:
        """Changes whenever a load or ingest committed anything: files and row counts of every table."""
        tables = [
            name
            for (name,) in self.con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'core_%' "
                "AND table_type = 'BASE TABLE' "
                "ORDER BY table_name"
            ).fetchall()
        ]
        counts = " || ':' || ".join(f"(SELECT count(*) FROM {t})" for t in ["source_files", *tables])
        row = self.con.execute(f"SELECT {counts}, (SELECT max(file_id) FROM source_files)").fetchone()
        assert row is not None
        return f"{row[0]}:{row[1]}"

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing: a failed load leaves the store exactly as it was."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self.con.execute("ROLLBACK")
            hooks, self._rollback_hooks = self._rollback_hooks, []
            for hook in hooks:
                hook()
            raise
        self.con.execute("COMMIT")

    def after_rollback(self, hook: Callable[[], None]) -> None:
        """Run ``hook`` once the failing transaction is rolled back (an aborted one refuses even SET)."""
        self._rollback_hooks.append(hook)

    def find_file(self, source: str, sha256: str) -> int | None:
        row = self.con.execute(
            "SELECT file_id FROM source_files WHERE source = ? AND sha256 = ?", [source, sha256]
        ).fetchone()
        return None if row is None else int(row[0])

    def add_file(self, record: FileRecord, row_count: int) -> int:
        """Register a file inside the current transaction; returns its file_id."""
        row = self.con.execute(
            """INSERT INTO source_files (source, file_name, location, sha256, size_bytes, format,
                   effective_start, effective_end, loaded_at, row_count, meta)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING file_id""",
            [
                record.source,
                record.file_name,
                record.location,
                record.sha256,
                record.size_bytes,
                record.format,
                record.effective_start,
                record.effective_end,
                datetime.now(UTC).replace(microsecond=0, tzinfo=None),
                row_count,
                orjson.dumps(record.meta, default=str).decode(),
            ],
        ).fetchone()
        assert row is not None
        return int(row[0])

    def insert_rows(self, table: str, rows: Iterable[Any], **constants: Any) -> int:
        """Bulk-insert dataclass rows (plus constant columns such as file_id) into ``table``.

        Rows are staged as JSON lines and read by DuckDB: ~100x faster than executemany.
        """
        columns = self._column_types(table)
        count = 0
        with tempfile.NamedTemporaryFile("wb", suffix=".jsonl", delete=False) as fh:
            staged = Path(fh.name)
            for row in rows:
                fh.write(orjson.dumps({**constants, **_as_dict(row)}) + b"\n")
                count += 1
        try:
            if count:
                spec = ", ".join(f"'{name}': '{kind}'" for name, kind in columns)
                names = ", ".join(name for name, _ in columns)
                self.con.execute(
                    f"INSERT INTO {table} ({names}) SELECT {names} FROM read_json(?, "
                    f"columns = {{{spec}}}, format = 'newline_delimited')",
                    [str(staged)],
                )
        finally:
            staged.unlink(missing_ok=True)
        return count

    def _column_types(self, table: str) -> list[tuple[str, str]]:
        rows = self.con.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
            "ORDER BY ordinal_position",
            [table],
        ).fetchall()
        return [(str(name), str(kind)) for name, kind in rows]

    def files(self, source: str | None = None) -> list[dict[str, Any]]:
        """Loaded files, oldest effective first (then load order)."""
        query = "SELECT * FROM source_files"
        params: list[Any] = []
        if source:
            query += " WHERE source = ?"
            params.append(source)
        query += " ORDER BY source, effective_start NULLS FIRST, file_id"
        cursor = self.con.execute(query, params)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def source_files(self) -> list[SourceFile]:
        """Every loaded file, typed (any order)."""
        rows = self.con.execute(
            "SELECT file_id, source, file_name, sha256, effective_start, effective_end, loaded_at, format, "
            "TRY_CAST(json_extract_string(meta, '$.edition') AS DATE), json_extract_string(meta, '$.edition_from'), "
            "json_extract_string(meta, '$.period_from'), json_extract_string(meta, '$.series') FROM source_files"
        ).fetchall()
        return [SourceFile(*row) for row in rows]

    def source_rows(self, source_name: str, part: int = 0) -> list[dict[str, Any]]:
        """All rows of a file source's table ``part`` (0: one row per code and file; 1: HCPCS modifiers)."""
        cursor = self.con.execute(f"SELECT * FROM {source(source_name).tables[part]}")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]

    def filled_columns(self, source_name: str) -> dict[int, set[str]]:
        """Per file of a source, the columns it fills at all: a format without a column (no APC) is no change."""
        table = source(source_name).tables[0]
        names = [n for n, _ in self._column_types(table) if n != "file_id"]
        counts = ", ".join(f'count("{n}")' for n in names)
        rows = self.con.execute(f"SELECT file_id, {counts} FROM {table} GROUP BY file_id").fetchall()
        return {row[0]: {n for n, c in zip(names, row[1:], strict=True) if c} for row in rows}

    def distinct_codes(self, source_name: str) -> set[str]:
        table = source(source_name).tables[0]
        return {row[0] for row in self.con.execute(f"SELECT DISTINCT code FROM {table}").fetchall()}

    def latest_descriptors(self) -> list[tuple[str, str | None, str | None, date | None]]:
        """(code, long descriptor, short descriptor, termination date) from each code's latest HCPCS file."""
        rows = self.con.execute(
            f"""SELECT c.code, c.long_description, c.short_description, c.termination_date
                FROM {source("hcpcs").tables[0]} c JOIN source_files f USING (file_id)
                QUALIFY row_number() OVER (PARTITION BY c.code
                                           ORDER BY f.effective_start DESC NULLS LAST, f.file_id DESC) = 1
                ORDER BY c.code"""
        ).fetchall()
        return [(str(code), long, short, term) for code, long, short, term in rows]

    def ndc_names(self) -> list[tuple[str, str, str | None]]:
        """(code, NDC 5-4-2, drug or brand name) of every crosswalk row of every loaded quarter."""
        table = source("crosswalk").tables[0]
        rows = self.con.execute(f"SELECT DISTINCT code, ndc, trim(drug_name) FROM {table} ORDER BY code, ndc")
        return [(str(code), str(ndc), name) for code, ndc, name in rows.fetchall()]


#: An open store, or a function that opens one: a long command passes the opener so that the write lock
#: is held for each file's transaction, not for the minutes it spends reading and parsing.
StoreOrOpener = Store | Callable[[], Store]


@contextmanager
def settings(store: Store, **values: object) -> Iterator[None]:
    """DuckDB settings changed for some statements, then RESET: a store's connection otherwise runs with
    DuckDB's defaults (reading a value back and setting it again would drift: DuckDB shows memory
    rounded). Inside a transaction a failure aborts, DuckDB then refuses even RESET: they are reset
    after the rollback, and the error raised stays the statement's own."""
    import duckdb

    for name, value in values.items():
        store.con.execute(f"SET {name} = {value!r}")

    def reset() -> None:
        for name in values:
            store.con.execute(f"RESET {name}")

    try:
        yield
    except BaseException:
        try:
            reset()
        except duckdb.Error:
            store.after_rollback(reset)
        raise
    reset()


def memory_limit(store: Store, limit: str) -> AbstractContextManager[None]:
    """DuckDB's memory capped for some statements' joins and sorts, which spill to disk past it: peak
    memory stays flat whatever the data's size."""
    return settings(store, memory_limit=limit)


@contextmanager
def writing(store: StoreOrOpener) -> Iterator[Store]:
    """The store to write one file to: the open one, or one opened for this write only."""
    if isinstance(store, Store):
        yield store
        return
    opened = store()
    try:
        yield opened
    finally:
        opened.close()


def not_stored(location: str, error: Exception) -> str:
    """The one line of a file the store could not take (disk full, a limit; its transaction rolled
    back): what every ingest prints for it, the others going on."""
    return f"{location}: not stored: {str(error).splitlines()[0]}"
