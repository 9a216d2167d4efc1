"""Ingest hospital price files (45 CFR 180.50): one file, one transaction; failures don't stop the rest.

Payer and segment are resolved from package data as a file is stored: ``hospital_payer_aliases.csv``
maps a hospital's payer name to Aetna, Blue Cross Blue Shield, Cigna or UnitedHealthcare when one of its
``letters`` keys is a substring of the name with everything but letters removed, lower-cased (others keep
their own name); ``hospital_plan_segments.csv`` gives the segment from the plan name, else the payer name,
the same way ("unknown" when neither says).
"""

from __future__ import annotations

import csv
import multiprocessing
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, TextIO, cast

from ..data import read_table
from ..errors import AtlasError, InputError
from ..progress import Progress
from ..sources.hospital import HospitalCharge, HospitalFile, is_discovery, read_discovery, read_hospital_file
from .db import FileRecord, Store
from .tic import IngestSummary

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


_SEP = "\x1f"  # joins list cells in the staged CSV (no code or modifier holds a unit separator)
#: Kept items and charges are staged as CSV (the C csv writer; floats as repr, which reads back exactly)
#: and read by DuckDB: several times faster than JSON lines for the 10^5-10^6 charges of a big file.
_ITEM_COLUMNS = (
    "item_id BIGINT, code VARCHAR, codes VARCHAR, code_types VARCHAR, ndc VARCHAR, description VARCHAR, "
    "billing_class VARCHAR, setting VARCHAR, drug_unit DOUBLE, drug_type VARCHAR, modifiers VARCHAR, "
    "gross_usd DOUBLE, discounted_cash_usd DOUBLE, minimum_usd DOUBLE, maximum_usd DOUBLE, source_row BIGINT"
)
_CHARGE_COLUMNS = (
    "item_id BIGINT, payer_name VARCHAR, plan_name VARCHAR, payer VARCHAR, segment VARCHAR, "
    "negotiated_usd DOUBLE, negotiated_pct DOUBLE, negotiated_algorithm VARCHAR, methodology VARCHAR, "
    "source_row BIGINT"
)


def _read_staged(columns: str) -> str:
    spec = ", ".join(f"'{name}': '{kind}'" for name, kind in (c.split() for c in columns.split(", ")))
    return (f"read_csv(?, header = false, auto_detect = false, quote = '\"', escape = '\"', delim = ',', "
            f"columns = {{{spec}}})")  # fmt: skip


_INSERT_ITEMS = f"""
INSERT INTO core_hospital_items
SELECT ?, item_id, code, string_split(codes, chr(31)), string_split(code_types, chr(31)), ndc, description,
       billing_class, setting, drug_unit, drug_type, coalesce(string_split(modifiers, chr(31)), []),
       gross_usd, discounted_cash_usd, minimum_usd, maximum_usd, source_row
FROM {_read_staged(_ITEM_COLUMNS)}
"""
_INSERT_CHARGES = f"INSERT INTO core_hospital_charges SELECT ?, * FROM {_read_staged(_CHARGE_COLUMNS)}"
_ITEM_CACHE = 1 << 17
#: HospitalCharge's leading fields that describe the item (code ... maximum), not the payer's charge.
_ITEM_FIELDS = HospitalCharge._fields.index("payer_name")


class _Staging:
    """The kept items and charges of one file, written to two CSV files as the reader hands them over
    (memory stays flat). An item (a row's codes and prices) is written once, however many payers price it;
    payer and segment are resolved once per name pair."""

    def __init__(self) -> None:
        self.items, self._items_fh = _temp_csv()
        self.charges, self._charges_fh = _temp_csv()
        self._write_item = csv.writer(self._items_fh).writerow
        self._write_charge = csv.writer(self._charges_fh).writerow
        self._ids: dict[tuple[object, ...], int] = {}
        self._next_id = 0
        self._payers: dict[tuple[str | None, str | None], tuple[str | None, str | None]] = {}

    def __call__(self, charges: list[HospitalCharge]) -> None:
        for c in charges:
            item = self._item_id(c)
            if c.payer_name or c.dollar is not None or c.percentage is not None or c.algorithm:
                self._write_charge(self._charge(c, item))

    def _item_id(self, c: HospitalCharge) -> int:
        key = c[:_ITEM_FIELDS]  # a C-level slice: code ... maximum
        found = self._ids.get(key)
        if found is not None:
            return found
        if len(self._ids) >= _ITEM_CACHE:
            self._ids.clear()  # bounded; an item seen again later is written again, harmlessly
        self._next_id += 1
        self._ids[key] = self._next_id
        self._write_item((
            self._next_id, c.code, _SEP.join(code for code, _ in c.codes), _SEP.join(kind for _, kind in c.codes),
            c.ndc, c.description, c.billing_class, c.setting, c.drug_unit, c.drug_type,
            _SEP.join(c.modifiers) or None, c.gross, c.discounted_cash, c.minimum, c.maximum, c.row,
        ))  # fmt: skip
        return self._next_id

    def _charge(self, c: HospitalCharge, item: int) -> tuple[object, ...]:
        names = (c.payer_name, c.plan_name)
        resolved = self._payers.get(names)
        if resolved is None:
            resolved = self._payers[names] = (
                hospital_payer(c.payer_name),
                plan_segment(*names) if c.payer_name else None,
            )
        return (item, c.payer_name, c.plan_name, *resolved, c.dollar, c.percentage, c.algorithm,
                c.methodology, c.row)  # fmt: skip

    def close(self) -> tuple[Path, Path]:
        self._items_fh.close()
        self._charges_fh.close()
        return self.items, self.charges


def _temp_csv() -> tuple[Path, TextIO]:
    fh = tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False, encoding="utf-8", newline="")  # noqa: SIM115
    return Path(fh.name), cast(TextIO, fh)


def _store_file(store: Store, hf: HospitalFile, staged: tuple[Path, Path]) -> int:
    with store.transaction():
        file_id = store.add_file(_file_record(hf), hf.n_charges)
        store.insert_rows("core_hospital_files", [hospital_file_row(hf)], file_id=file_id)
        for sql, path in zip((_INSERT_ITEMS, _INSERT_CHARGES), staged, strict=True):
            if path.stat().st_size:
                store.con.execute(sql, [file_id, str(path)])
    return file_id


def _read(
    target: _Target, keep: Callable[[str], bool], progress: Progress | None
) -> tuple[HospitalFile, tuple[Path, Path]]:
    """Read one file, its items and charges staged on disk; the caller deletes the staged files."""
    staging = _Staging()
    try:
        hf = read_hospital_file(target.location, keep, progress, sink=staging)
    except BaseException:
        _unlink(staging.close())
        raise
    hf.sink = None  # the result is pickled (--jobs): no open file in it
    hf.discovery_location = target.discovery_location
    return hf, staging.close()


def ingest_hospital(
    store: Store,
    sources: Iterable[str],
    keep: Callable[[str], bool],
    progress: Callable[[str, int | None], Progress] | None = None,
    jobs: int = 1,
) -> IngestSummary:
    """Ingest each file (or each file a cms-hpt.txt lists); ``jobs`` > 1 parses that many files at once
    in worker processes (the csv module holds the GIL), while this process stores them one by one."""
    summary = IngestSummary()
    targets: list[_Target] = []
    for source in sources:
        try:
            targets.extend(_expand(source))
        except AtlasError as exc:
            summary.failed.append(str(exc))
    if jobs > 1 and len(targets) > 1:
        _ingest_parallel(store, targets, keep, jobs, summary)
    else:
        for target in targets:
            _ingest_one(store, target, keep, progress, summary)
    return summary


def _size(location: str) -> int | None:
    local = Path(location)
    return local.stat().st_size if "://" not in location and local.is_file() else None


def _ingest_one(
    store: Store,
    target: _Target,
    keep: Callable[[str], bool],
    progress: Callable[[str, int | None], Progress] | None,
    summary: IngestSummary,
) -> None:
    bar = progress(Path(target.location).name, _size(target.location)) if progress else None
    try:
        hf, staged = _read(target, keep, bar)
    except InputError as exc:
        summary.failed.append(str(exc))
        return
    finally:
        if bar:
            bar.close()
    _keep(store, hf, staged, summary)


def _unlink(paths: tuple[Path, Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def _keep(store: Store, hf: HospitalFile, staged: tuple[Path, Path], summary: IngestSummary) -> None:
    try:
        if store.find_file("hospital", hf.sha256) is not None:
            summary.unchanged.append(hf.file_name)
            return
        _store_file(store, hf, staged)
        summary.ingested.append((hf.file_name, hf.n_charges))
    finally:
        _unlink(staged)


def _ingest_parallel(
    store: Store, targets: list[_Target], keep: Callable[[str], bool], jobs: int, summary: IngestSummary
) -> None:
    # spawn, not fork: this process holds DuckDB's threads and the reader threads of other files
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures: list[Future[tuple[HospitalFile, tuple[Path, Path]]]] = [
            pool.submit(_read, t, keep, None) for t in targets
        ]
        for future in futures:
            try:
                hf, staged = future.result()
            except InputError as exc:
                summary.failed.append(str(exc))
                continue
            _keep(store, hf, staged, summary)


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
