"""Load CMS files into the store: parse fully first, then write in one transaction per file.

A file may come as CMS ships it: plain, gzip-compressed, or inside a zip archive (the one member of the
source's kind is chosen by ``data/source_files.csv``); a folder stands for the files of the source's kind
in it. Each file is its own unit of work: a bad one is named and the others still load. Given an opener
rather than an open store, the store is opened only to check a file and to write it, so that readers
(``serve``) and other loaders are not locked out while a file is read and parsed.
"""

from __future__ import annotations

import gzip
import shutil
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from ..errors import AtlasError, InputError
from ..sources import ParsedFile, file_sha256
from .db import FileRecord, LoadResult, StoreOrOpener, writing
from .registry import member_rank, source

__all__ = ["LoadOutcome", "input_files", "load_file", "load_files"]

ZIP_MAGIC = b"PK\x03\x04"
GZIP_MAGIC = b"\x1f\x8b"
#: A CMS file is tens of MB; a member that inflates past this is refused rather than filling the disk.
MAX_INFLATED_BYTES = 4 << 30


@dataclass(frozen=True)
class LoadOutcome:
    """What happened to one input file of a multi-file load."""

    name: str
    result: LoadResult | None = None
    error: str | None = None
    note: str | None = None  # e.g. which member of a zip was loaded


@dataclass(frozen=True)
class _Input:
    path: Path  # a plain file the parser can read (maybe extracted to a temporary folder)
    name: str  # as shown to the user and kept in provenance: "archive.zip:member.txt"
    location: str
    note: str | None = None
    meta: dict[str, Any] | None = None


def input_files(source_name: str, paths: Sequence[Path]) -> tuple[list[Path], list[Path]]:
    """(files to load, files skipped): a folder stands for its files of the source's kind, by name."""
    chosen: list[Path] = []
    skipped: list[Path] = []
    for path in paths:
        if not path.is_dir():
            chosen.append(path)
            continue
        for entry in sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")):
            kind_ok = member_rank(source_name, _inner_name(entry)) is not None or _is_archive(entry)
            (chosen if kind_ok else skipped).append(entry)
    return chosen, skipped


def _inner_name(path: Path) -> str:
    return path.name[:-3] if path.name.lower().endswith(".gz") else path.name


def _is_archive(path: Path) -> bool:
    return path.suffix.lower() == ".zip"


def load_files(
    store: StoreOrOpener, source_name: str, paths: Sequence[Path], effective_start: date | None = None
) -> Iterator[LoadOutcome]:
    """Load each file in its own transaction; a failure is reported and the next file goes on."""
    spec = source(source_name)
    for path in paths:
        try:
            if spec.loader:  # reads its own containers (an NPPES zip is streamed, never extracted)
                with writing(store) as opened:
                    result = spec.load(opened, path, effective_start)
                yield LoadOutcome(str(path), result, note=result.note)
                continue
            with _opened(source_name, path) as item:
                result = _load(store, source_name, item, effective_start)
            notes = [note for note in (item.note, result.note) if note]
            yield LoadOutcome(item.name, result, note="; ".join(notes) or None)
        except AtlasError as exc:
            yield LoadOutcome(str(path), error=str(exc))


def load_file(
    store: StoreOrOpener, source_name: str, path: Path, effective_start: date | None = None
) -> LoadResult:
    """Load one file (plain, .gz or a CMS .zip) unless a byte-identical one is already loaded."""
    spec = source(source_name)
    if spec.loader:
        with writing(store) as opened:
            result: LoadResult = spec.load(opened, path, effective_start)
        return result
    with _opened(source_name, path) as item:
        return _load(store, source_name, item, effective_start)


def _load(store: StoreOrOpener, source_name: str, item: _Input, effective_start: date | None) -> LoadResult:
    spec = source(source_name)
    sha256 = file_sha256(item.path)
    with writing(store) as opened:
        existing = opened.find_file(source_name, sha256)
    if existing is not None:
        return LoadResult(existing, item.name, 0, already_loaded=True)
    parsed = _parse(spec.parse, item)  # the slow part: no lock held here
    if not parsed.rows:
        raise InputError(item.name, f"no {source_name} rows found")
    record = _file_record(source_name, item, sha256, parsed)
    if effective_start is not None:
        record = replace(record, effective_start=effective_start)
    main_table, *extra_tables = spec.tables
    with writing(store) as opened:
        existing = opened.find_file(source_name, sha256)  # another process may have loaded it meanwhile
        if existing is not None:
            return LoadResult(existing, item.name, 0, already_loaded=True)
        with opened.transaction():
            file_id = opened.add_file(record, len(parsed.rows))
            opened.insert_rows(main_table, parsed.rows, file_id=file_id)
            for table in extra_tables:
                opened.insert_rows(table, parsed.extra, file_id=file_id)
    return LoadResult(
        file_id, item.name, len(parsed.rows), already_loaded=False, note=_decoding_note(item, parsed)
    )


def _decoding_note(item: _Input, parsed: ParsedFile[Any]) -> str | None:
    """A text file not read as plain UTF-8 says how it was read: a fallback is never silent."""
    decoding = parsed.meta.get("decoding")
    if not decoding or decoding == "utf-8":
        return None
    return f"{item.name}: text decoded as {decoding}"


def _parse(parse: Any, item: _Input) -> ParsedFile[Any]:
    try:
        parsed: ParsedFile[Any] = parse(item.path)
    except InputError as exc:
        exc.path = item.name  # never a temporary path: name the file the user gave
        raise
    return parsed


def _file_record(source_name: str, item: _Input, sha256: str, parsed: ParsedFile[Any]) -> FileRecord:
    return FileRecord(
        source=source_name,
        file_name=item.name,
        location=item.location,
        sha256=sha256,
        size_bytes=item.path.stat().st_size,
        format=parsed.meta.get("format") or item.path.suffix.lstrip(".").lower(),
        effective_start=parsed.effective_start,
        effective_end=parsed.effective_end,
        meta={**parsed.meta, **(item.meta or {})},
    )


@contextmanager
def _opened(source_name: str, path: Path) -> Iterator[_Input]:
    if path.is_dir():
        raise InputError(path, "is a folder, not a file")
    if not path.is_file():
        raise InputError(path, "no such file")
    with path.open("rb") as fh:
        magic = fh.read(4)
    if magic.startswith(ZIP_MAGIC) and path.suffix.lower() == ".zip":
        with _zip_member(source_name, path) as item:
            yield item
    elif magic.startswith(GZIP_MAGIC):
        with _gunzipped(path) as item:
            yield item
    else:
        yield _Input(path, path.name, str(path.resolve()))


@contextmanager
def _zip_member(source_name: str, path: Path) -> Iterator[_Input]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(path, f"not a readable zip archive ({exc})") from None
    with archive, tempfile.TemporaryDirectory(prefix="hcpcs-atlas-") as tmp:
        member = _choose_member(source_name, path, archive)
        target = Path(tmp) / Path(member.filename).name  # the base name only: no path from the archive
        _extract(path, archive, member, target)
        name = f"{path.name}:{member.filename}"
        note = f"{path.name}: loading {member.filename} (the {source_name} file in the archive)"
        meta = {"archive": path.name, "archive_sha256": file_sha256(path), "member": member.filename}
        yield _Input(target, name, f"{path.resolve()}:{member.filename}", note, meta)


def _choose_member(source_name: str, path: Path, archive: zipfile.ZipFile) -> zipfile.ZipInfo:
    ranked = [
        (rank, info)
        for info in archive.infolist()
        if not info.is_dir()
        and not info.filename.startswith("__MACOSX/")
        and (rank := member_rank(source_name, info.filename)) is not None
    ]
    if not ranked:
        names = ", ".join(i.filename for i in archive.infolist()[:8]) or "nothing"
        raise InputError(path, f"no {source_name} file in the archive (it holds {names})")
    best = min(rank for rank, _ in ranked)
    top = [info for rank, info in ranked if rank == best]
    if len(top) > 1:
        names = ", ".join(i.filename for i in top)
        raise InputError(
            path, f"several {source_name} files in the archive ({names}); extract the one to load"
        )
    return top[0]


def _extract(path: Path, archive: zipfile.ZipFile, member: zipfile.ZipInfo, target: Path) -> None:
    if member.file_size > MAX_INFLATED_BYTES:
        raise InputError(path, f"{member.filename} inflates to {member.file_size:,} bytes; refused")
    try:
        with archive.open(member) as src, target.open("wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise InputError(path, f"{member.filename}: cannot be extracted ({exc})") from None


@contextmanager
def _gunzipped(path: Path) -> Iterator[_Input]:
    with tempfile.TemporaryDirectory(prefix="hcpcs-atlas-") as tmp:
        target = Path(tmp) / _inner_name(path)
        try:
            with gzip.open(path, "rb") as src, target.open("wb") as dst:
                _copy_bounded(path, src, dst)
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise InputError(path, f"not a complete gzip file ({exc})") from None
        meta = {"compressed": path.name, "compressed_sha256": file_sha256(path)}
        yield _Input(target, path.name, str(path.resolve()), None, meta)


def _copy_bounded(path: Path, src: Any, dst: Any) -> None:
    total = 0
    while block := src.read(1 << 20):
        total += len(block)
        if total > MAX_INFLATED_BYTES:
            raise InputError(path, f"inflates to more than {MAX_INFLATED_BYTES:,} bytes; refused")
        dst.write(block)
