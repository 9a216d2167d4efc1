"""Load one parsed CMS file into the store: parse fully first, then write in one transaction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..sources import ParsedFile, file_sha256
from .db import FileRecord, LoadResult, Store

__all__ = ["load_parsed_file"]


def load_parsed_file(
    store: Store,
    source: str,
    path: Path,
    parse: Callable[[Path], ParsedFile[Any]],
    tables: tuple[str, str | None],
    effective_start: date | None = None,
) -> LoadResult:
    """Load ``path`` unless a byte-identical file of this source is already loaded (then nothing changes)."""
    if not path.is_file():
        raise InputError(path, "no such file")
    sha256 = file_sha256(path)
    existing = store.find_file(source, sha256)
    if existing is not None:
        return LoadResult(existing, path.name, 0, already_loaded=True)
    parsed = parse(path)
    if not parsed.rows:
        raise InputError(path, f"no {source} rows found")
    record = _file_record(source, path, sha256, parsed)
    if effective_start is not None:
        record = replace(record, effective_start=effective_start)
    main_table, extra_table = tables
    with store.transaction():
        file_id = store.add_file(record, len(parsed.rows))
        store.insert_rows(main_table, parsed.rows, file_id=file_id)
        if extra_table:
            store.insert_rows(extra_table, parsed.extra, file_id=file_id)
    return LoadResult(file_id, path.name, len(parsed.rows), already_loaded=False)


def _file_record(source: str, path: Path, sha256: str, parsed: ParsedFile[Any]) -> FileRecord:
    return FileRecord(
        source=source,
        file_name=path.name,
        location=str(path.resolve()),
        sha256=sha256,
        size_bytes=path.stat().st_size,
        format=parsed.meta.get("format") or path.suffix.lstrip(".").lower(),
        effective_start=parsed.effective_start,
        effective_end=parsed.effective_end,
        meta=parsed.meta,
    )
