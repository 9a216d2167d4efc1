"""Ingest hospital price files (45 CFR 180.50): one file, one transaction; failures don't stop the rest.

Payer and segment are resolved from package data as a file is stored: ``hospital_payer_aliases.csv``
maps a hospital's payer name to Aetna, Blue Cross Blue Shield, Cigna or UnitedHealthcare when one of its
``letters`` keys is a substring of the name with everything but letters removed, lower-cased (others keep
their own name); ``hospital_plan_segments.csv`` gives the segment from the plan name, else the payer name,
the same way ("unknown" when neither says).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from ..data import read_table
from ..errors import AtlasError
from ..progress import Progress
from ..sources.hospital import HospitalFile, is_discovery, read_discovery, read_hospital_file
from ..sources.hospital.pipe import pipe_tall_csv
from ..sources.tic.net import DEFAULT_OPTIONS
from .db import FileRecord, Store, StoreOrOpener, memory_limit, not_stored, writing
from .hospital_staging import (
    PARQUET_ITEMS,
    ROW_CHARGES,
    ROW_CHARGES_FILE,
    ROW_ITEMS,
    ROW_ITEMS_FILE,
    ROW_PAYER_NAMES,
    HospitalStaging,
    StagedCharges,
)
from .hospital_tall import PARQUET_CHARGES as TALL_CHARGES
from .hospital_tall import PARQUET_ITEMS as TALL_ITEMS
from .hospital_tall import load_tall
from .tic import IngestSummary, Readers, worker_tally

__all__ = [
    "HospitalPlace",
    "HospitalRateRow",
    "codes_with_hospital_rates",
    "hospital_file_row",
    "hospital_payer",
    "hospital_places",
    "hospital_rate_rows",
    "ingest_hospital",
    "plan_segment",
    "store_hospital_file",
]

UNKNOWN_SEGMENT = "unknown"
_NOT_LETTERS = re.compile(r"[^a-z]+")


def _letters(text: str) -> str:
    return _NOT_LETTERS.sub("", text.lower())


@cache
def _rules(table: str, value: str) -> tuple[tuple[str, str], ...]:
    return tuple((row["letters"], row[value]) for row in read_table(table))


def _first_match(table: str, value: str, text: str | None) -> str | None:
    letters = _letters(text or "")
    return next((v for key, v in _rules(table, value) if key in letters), None) if letters else None


def hospital_payer(name: str | None) -> str | None:
    """Aetna, Blue Cross Blue Shield, Cigna, UnitedHealthcare, or the name as written (spaces tidied)."""
    if not name or not name.strip():
        return None
    return _first_match("hospital_payer_aliases.csv", "payer", name) or " ".join(name.split())


def plan_segment(payer_name: str | None, plan_name: str | None) -> str:
    """Commercial, Medicare Advantage, Medicaid managed care, Exchange, or unknown."""
    for text in (plan_name, payer_name):
        if segment := _first_match("hospital_plan_segments.csv", "segment", text):
            return segment
    return UNKNOWN_SEGMENT


@dataclass(frozen=True)
class _Target:
    location: str
    discovery_location: str | None = None  # location-name of the cms-hpt.txt entry


def _expand(source: str) -> Iterator[_Target]:
    """A cms-hpt.txt file stands for the price files it lists."""
    if not is_discovery(source):
        yield _Target(source)
        return
    for entry in read_discovery(source):
        yield _Target(entry.mrf_url, entry.location_name)


def _file_record(hf: HospitalFile) -> FileRecord:
    return FileRecord(
        source="hospital",
        file_name=hf.file_name,
        location=hf.source,
        sha256=hf.sha256,
        size_bytes=hf.bytes_read,
        format=f"{hf.layout} v{hf.version}" if hf.version else hf.layout,
        effective_start=hf.last_updated,
        effective_end=None,
        meta={"hospital_name": hf.hospital_name, "version": hf.version, "layout": hf.layout},
    )


def hospital_file_row(hf: HospitalFile) -> dict[str, object]:
    return {
        "hospital_name": hf.hospital_name,
        "location_names": list(hf.location_names),
        "addresses": list(hf.addresses),
        "type_2_npis": list(hf.type_2_npis),
        "license_number": hf.license_number,
        "license_state": hf.license_state,
        "last_updated_on": hf.last_updated,
        "last_updated_on_text": hf.last_updated_on,
        "version": hf.version,
        "layout": hf.layout,
        "discovery_location": hf.discovery_location,
        "rows_seen": hf.rows_seen,
        "charges_kept": hf.n_charges,
    }


def _payer_names(names: Iterable[tuple[str | None, str | None]]) -> dict[str, list[str | None]]:
    """(payer_name, plan_name) -> canonical payer and segment, resolved once per distinct pair."""
    rows = [(payer, plan, hospital_payer(payer), plan_segment(payer, plan) if payer else None)
            for payer, plan in names]  # fmt: skip
    columns = list(zip(*rows, strict=True)) if rows else [(), (), (), ()]
    return {name: list(col) for name, col in zip(_PAYER_COLUMNS, columns, strict=True)}


_PAYER_COLUMNS = ("payer_name", "plan_name", "payer", "segment")
#: A few hundred distinct pairs a file: as query parameters (pyarrow's import alone cost more).
_PAYER_NAMES = "CREATE TEMP TABLE payer_names AS SELECT " + ", ".join(
    f"unnest(${n}::VARCHAR[]) AS {n}" for n in _PAYER_COLUMNS
)


def store_hospital_file(store: Store, hf: HospitalFile, staged: StagedCharges | None) -> int:
    """Store one file read, its kept charges staged (:mod:`.hospital_staging`): one transaction."""
    with memory_limit(store, INSERT_MEMORY), store.transaction():
        file_id = store.add_file(_file_record(hf), hf.n_charges)
        store.insert_rows("core_hospital_files", [hospital_file_row(hf)], file_id=file_id)
        if staged is not None:
            _insert_rows(store, file_id, staged)
    return file_id


#: DuckDB's cap while a file's charges are inserted (TiC's is 200 MB): with the reader's own memory
#: still held, a 1 GB JSON file kept whole peaked at 409 MB with 200 MB, 314 MB with this.
INSERT_MEMORY = "100MB"


def _insert_rows(store: Store, file_id: int, staged: StagedCharges) -> None:
    """A file's items and charges, staged as Parquet (:mod:`.hospital_staging`, :mod:`.hospital_tall`)."""
    con, folder = store.con, staged.path
    if staged.parquet:
        items, charges, insert_items = folder / TALL_ITEMS, folder / TALL_CHARGES, PARQUET_ITEMS
    else:
        items, charges, insert_items = folder / ROW_ITEMS_FILE, folder / ROW_CHARGES_FILE, ROW_ITEMS
    con.execute(insert_items, {"file_id": file_id, "path": str(items)})
    con.execute(_PAYER_NAMES, _payer_names(con.execute(ROW_PAYER_NAMES, {"path": str(charges)}).fetchall()))
    try:
        con.execute(ROW_CHARGES, {"file_id": file_id, "path": str(charges)})
    finally:
        with suppress(Exception):  # after a failure too, when the aborted transaction may refuse it
            con.execute("DROP TABLE IF EXISTS temp.payer_names")


@dataclass
class _Read:
    """One file read by a worker: its fields, where its charges are staged, the payer names they hold."""

    file: HospitalFile
    staged: StagedCharges | None


def _stage(
    location: str,
    keep: Callable[[str], bool],
    staging_folder: str,
    _options: object,
    tally: Progress | None = None,
) -> _Read | str:
    """Read one file into its staging folder; a failure is its one-line message (the others go on)."""
    folder = Path(staging_folder)
    staging = HospitalStaging(folder)
    tally = tally or worker_tally()  # one tally: bytes read again after the tall path gives way add nothing
    try:
        tall = _stage_tall(location, keep, folder, tally)
        if tall is not None:
            return tall
        hf = read_hospital_file(location, keep, tally, sink=staging)
        staged = staging.close()
    except AtlasError as exc:
        staging.close()
        return str(exc)
    hf.sink = None  # pickled back to the writer (--jobs): no staging object in it
    return _Read(hf, staged)


def _stage_tall(location: str, keep: Callable[[str], bool], folder: Path, tally: Progress) -> _Read | None:
    """A tall CSV through DuckDB's CSV reader (:mod:`.hospital_tall`); None: the csv-module path reads it."""
    hf = pipe_tall_csv(location, lambda path, cols, lines: load_tall(path, cols, lines, keep, folder), tally)
    if hf is None:
        for name in (TALL_ITEMS, TALL_CHARGES):
            (folder / name).unlink(missing_ok=True)
        return None
    return _Read(hf, StagedCharges(folder, parquet=True) if hf.n_charges else None)


def ingest_hospital(
    store: StoreOrOpener,
    sources: Iterable[str],
    keep: Callable[[str], bool],
    progress: Callable[[str, int | None], Progress] | None = None,
    jobs: int = 1,
) -> IngestSummary:
    """Ingest each file (or each file a cms-hpt.txt lists); ``jobs`` > 1 parses that many files at once
    in worker processes (the csv module holds the GIL), while this process stores them one by one. The
    bar (as ``ingest tic``'s) shows bytes, items and rate over all readers, and files done. Given an
    opener, the store is opened for each file's commit only (docs/concurrency.md)."""
    summary = IngestSummary()
    targets: list[_Target] = []
    for source in sources:
        try:
            targets.extend(_expand(source))
        except AtlasError as exc:
            summary.failed.append(str(exc))
    sizes = [_size(t.location) for t in targets]
    label = Path(targets[0].location).name if len(targets) == 1 else f"0/{len(targets)} files"
    bar = progress(label, sum(s or 0 for s in sizes) or None) if progress and targets else None
    with Readers(jobs, len(targets), keep, DEFAULT_OPTIONS, stage=_stage) as readers:
        for done, (target, outcome) in enumerate(readers.read(targets, bar), start=1):
            with writing(store) as writer:
                _keep(writer, target, outcome, summary)
            if bar is not None and len(targets) > 1:
                bar.label = f"{done}/{len(targets)} files"
    if bar is not None:
        bar.close()
    return summary


def _size(location: str) -> int | None:
    local = Path(location)
    return local.stat().st_size if "://" not in location and local.is_file() else None


def _keep(store: Store, target: _Target, outcome: _Read | str, summary: IngestSummary) -> None:
    if isinstance(outcome, str):
        summary.failed.append(outcome)
        return
    hf = outcome.file
    hf.discovery_location = target.discovery_location
    if store.find_file("hospital", hf.sha256) is not None:
        summary.unchanged.append(hf.file_name)
        return
    import duckdb

    try:
        store_hospital_file(store, hf, outcome.staged)
    except duckdb.Error as exc:  # disk full, a limit: this file is rolled back, the others go on
        summary.failed.append(not_stored(target.location, exc))
        return
    summary.ingested.append((hf.file_name, hf.n_charges))


# -- queries -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HospitalRateRow:
    """One stored charge of a code, from the file in force for its hospital."""

    file_id: int
    hospital: str  # hospital_name, else the file name
    payer: str | None  # canonical (see hospital_payer); None for a row with prices but no payer
    payer_name: str | None  # as the hospital wrote it
    plan_name: str | None
    segment: str | None
    billing_class: str | None
    setting: str | None
    modifiers: tuple[str, ...]
    negotiated_usd: float | None
    negotiated_pct: float | None
    negotiated_algorithm: str | None
    ndc: str | None
    description: str | None
    gross_usd: float | None
    discounted_cash_usd: float | None


#: A newer file (last_updated_on, then load order) of the same hospital and locations supersedes older ones.
_IN_FORCE = """
WITH files AS (
    SELECT h.file_id, coalesce(h.hospital_name, f.file_name) AS hospital
    FROM core_hospital_files h JOIN source_files f USING (file_id)
    QUALIFY row_number() OVER (PARTITION BY coalesce(h.hospital_name, f.file_name), h.location_names
                               ORDER BY h.last_updated_on DESC NULLS LAST, h.file_id DESC) = 1
)
"""
_ROWS = (
    _IN_FORCE
    + """
SELECT i.file_id, files.hospital, c.payer, c.payer_name, c.plan_name, c.segment, i.billing_class, i.setting,
       i.modifiers, c.negotiated_usd, c.negotiated_pct, c.negotiated_algorithm, i.ndc, i.description,
       i.gross_usd, i.discounted_cash_usd
FROM core_hospital_items i JOIN files USING (file_id)
LEFT JOIN core_hospital_charges c ON c.file_id = i.file_id AND c.item_id = i.item_id
WHERE i.code = ?
ORDER BY i.file_id, coalesce(c.source_row, i.source_row)
"""
)


def hospital_rate_rows(store: Store, code: str) -> list[HospitalRateRow]:
    rows = store.con.execute(_ROWS, [code]).fetchall()
    return [_rate_row(r) for r in rows]


def _rate_row(r: tuple[Any, ...]) -> HospitalRateRow:
    return HospitalRateRow(
        file_id=r[0], hospital=r[1], payer=r[2], payer_name=r[3], plan_name=r[4], segment=r[5],
        billing_class=r[6], setting=r[7], modifiers=tuple(r[8] or ()), negotiated_usd=r[9],
        negotiated_pct=r[10], negotiated_algorithm=r[11], ndc=r[12], description=r[13], gross_usd=r[14],
        discounted_cash_usd=r[15],
    )  # fmt: skip


def codes_with_hospital_rates(store: Store) -> set[str]:
    rows = store.con.execute("SELECT DISTINCT code FROM core_hospital_items").fetchall()
    return {str(r[0]) for r in rows}


@dataclass(frozen=True)
class HospitalPlace:
    """Where a hospital file says the hospital is, and its type 2 NPIs, as written."""

    addresses: tuple[str, ...]
    license_state: str | None
    type_2_npis: tuple[str, ...]


def hospital_places(store: Store, file_ids: Iterable[int]) -> dict[int, HospitalPlace]:
    ids = sorted(set(file_ids))
    if not ids:
        return {}
    rows = store.con.execute(
        "SELECT file_id, addresses, license_state, type_2_npis FROM core_hospital_files"
        " WHERE list_contains(?, file_id)",
        [ids],
    ).fetchall()
    return {int(r[0]): HospitalPlace(tuple(r[1] or ()), r[2] or None, tuple(r[3] or ())) for r in rows}
