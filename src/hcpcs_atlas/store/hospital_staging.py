"""A hospital file's kept charges, staged on disk while it streams, then stored with one statement each.

The kept charges of the csv-module and JSON paths arrive as :class:`HospitalCharge` records (a JSON item
as its parts, :meth:`HospitalStaging.stage_parts`) and go to two Parquet files as they come, in row
groups of 65,536 (memory stays flat): an item (code ... maximum: a row's codes and prices) once, however
many payers price it, and a charge for each payer-specific value; items are numbered here, in Python, by
first appearance. DuckDB reads them back inside the file's transaction. Measured:

- these batches (rows gathered as tuples, columns converted by pyarrow) against the C csv writer with
  DuckDB's CSV reader: 11.3-13.9 s against 13.5-15.7 s CPU for the whole ingest of the 639 K charges of a
  1 GB JSON file (machine at load average 5: interleaved runs); the csv writer formats every cell, floats
  by repr, one by one;
- Parquet batches built by pyarrow with the items numbered by a sort in DuckDB (an earlier try): 9.6 s
  CPU against 3.6 s for the staging alone (the sort over twelve columns).

A tall CSV read through DuckDB (:mod:`.hospital_tall`) stages its own Parquet; a Spark job's charges come
in through :mod:`.hospital_parquet`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..sources.hospital import HospitalCharge
from ..sources.hospital.jsonfile import ItemParts

__all__ = [
    "PARQUET_ITEMS",
    "ROW_CHARGES",
    "ROW_CHARGES_FILE",
    "ROW_ITEMS",
    "ROW_ITEMS_FILE",
    "ROW_PAYER_NAMES",
    "HospitalStaging",
    "StagedCharges",
]

_US = "\x1f"  # joins list cells (no code or modifier holds a unit separator)
_ITEM_CACHE = 1 << 17
_BATCH = 1 << 16
ROW_ITEMS_FILE, ROW_CHARGES_FILE = "row_items.parquet", "row_charges.parquet"


@dataclass
class StagedCharges:
    """Where a file's kept charges are staged: a folder of items.csv and charges.csv, or of items.parquet
    and charges.parquet (a tall CSV read by DuckDB: :mod:`.hospital_tall`)."""

    path: Path
    parquet: bool = False


@dataclass
class HospitalStaging:
    """The sink a reader hands each row's or item's kept charges to."""

    folder: Path
    _rows: _RowFiles | None = None

    def __call__(self, charges: list[HospitalCharge]) -> None:
        """An item is written once, however many payers price it; a charge when it names a payer or has
        a negotiated value. This runs for every kept charge: a reader's consecutive charges mostly share
        their item's fields (the same objects: the comparison is by identity, no hash), and a call's
        charge rows go to the C writer at once."""
        if self._rows is None:
            self._rows = _RowFiles(self.folder)
        rows = self._rows
        ids, new_item, last, item = rows.ids, rows.new_item, None, 0
        out = []
        for c in charges:
            key = c[:_ITEM_END]  # a C-level slice: code ... maximum
            if key != last:
                item = ids.get(key) or new_item(key, c.row)
                last = key
            if c[_PAYER] or c[_DOLLAR] is not None or c[_PERCENTAGE] is not None or c[_ALGORITHM]:
                out.append((item, *c[_ITEM_END:]))  # payer_name ... row
        rows.write_charges(out)

    def stage_parts(self, kept: list[str], parts: ItemParts, row: int) -> int:
        """A JSON item's charges for each kept code, from its parts (:func:`item_parts`); how many."""
        if self._rows is None:
            self._rows = _RowFiles(self.folder)
        rows = self._rows
        ids, new_item, n, out = rows.ids, rows.new_item, 0, []
        for code in kept:
            for head, payers in parts:
                key = (code, *head)
                item = ids.get(key) or new_item(key, row)
                n += len(payers)
                out += [
                    (item, *p, row) for p in payers if p[0] or p[2] is not None or p[3] is not None or p[4]
                ]
        rows.write_charges(out)
        return n

    def close(self) -> StagedCharges | None:
        """The staging, or None when nothing was kept."""
        if self._rows is not None:
            self._rows.close()
            self._rows = None
            return StagedCharges(self.folder)
        return None


#: HospitalCharge's leading fields that describe the item (code ... maximum), not the payer's charge.
_ITEM_END = HospitalCharge._fields.index("payer_name")
_PAYER, _DOLLAR, _PERCENTAGE, _ALGORITHM = (
    HospitalCharge._fields.index(name) for name in ("payer_name", "dollar", "percentage", "algorithm")
)


class _RowFiles:
    """The items and charges of one file, as Parquet written in batches (:class:`_Batches`)."""

    def __init__(self, folder: Path) -> None:
        self._items = _Batches(folder / ROW_ITEMS_FILE, _ITEM_COLUMNS)
        self._charges = _Batches(folder / ROW_CHARGES_FILE, _CHARGE_COLUMNS)
        self._write_item = self._items.add
        self.write_charges = self._charges.extend
        self.ids: dict[tuple[Any, ...], int] = {}
        self._codes: object = None
        self._joined: tuple[str | None, str | None, str | None] = (None, None, None)
        self._next_id = 0

    def new_item(self, key: tuple[Any, ...], row: int) -> int:
        """Write the item ``key`` (code ... maximum: HospitalCharge's leading fields) first seen at ``row``."""
        if len(self.ids) >= _ITEM_CACHE:
            self.ids.clear()  # bounded; an item seen again later is written again, harmlessly
        self._next_id += 1
        self.ids[key] = self._next_id
        code, codes, description, bclass, setting, unit, unit_type, modifiers, gross, cash, low, high = key
        if codes is not self._codes:  # an item's standard charges and kept codes share its codes tuple
            self._codes, self._joined = codes, _joined(codes)
        self._write_item((self._next_id, code, *self._joined, description, bclass, setting, unit, unit_type,
                          _US.join(modifiers) or None, gross, cash, low, high, row))  # fmt: skip
        return self._next_id

    def close(self) -> None:
        self._items.close()
        self._charges.close()


class _Batches:
    """Rows gathered as tuples and written as Parquet row groups every ``_BATCH``: pyarrow converts a
    batch's columns in C, where the csv module formatted every cell (floats by repr) one by one."""

    def __init__(self, path: Path, columns: str) -> None:
        import pyarrow as pa

        kinds = {"BIGINT": pa.int64(), "VARCHAR": pa.string(), "DOUBLE": pa.float64()}
        self.path, self.rows = path, list[tuple[Any, ...]]()
        self.schema = pa.schema(
            [(name, kinds[kind]) for name, kind in (c.split() for c in columns.split(", "))]
        )
        self._writer: Any = None

    def add(self, row: tuple[Any, ...]) -> None:
        self.rows.append(row)
        if len(self.rows) >= _BATCH:
            self._flush()

    def extend(self, rows: list[tuple[Any, ...]]) -> None:
        self.rows += rows
        if len(self.rows) >= _BATCH:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self._writer is None:
            self._writer = pq.ParquetWriter(self.path, self.schema, compression="none")
        columns = zip(*self.rows, strict=True) if self.rows else ([] for _ in self.schema)
        self._writer.write_table(pa.table(
            [pa.array(values, field.type) for values, field in zip(columns, self.schema, strict=True)],
            schema=self.schema,
        ))  # fmt: skip
        self.rows = []

    def close(self) -> None:
        if self.rows or self._writer is None:
            self._flush()  # an empty file still gets its schema
        self._writer.close()


def _joined(codes: tuple[tuple[str, str], ...]) -> tuple[str | None, str | None, str | None]:
    """A row's codes and their types as staged (joined by a unit separator; empty as NULL, as the CSV
    staging read them), and its NDC."""
    if not codes:
        return None, None, None
    values, kinds = zip(*codes, strict=True)
    ndc = next((c for c, kind in codes if kind.upper() == "NDC"), None)
    return _US.join(values) or None, _US.join(kinds) or None, ndc


_ITEM_COLUMNS = (
    "item_id BIGINT, code VARCHAR, codes VARCHAR, code_types VARCHAR, ndc VARCHAR, description VARCHAR, "
    "billing_class VARCHAR, setting VARCHAR, drug_unit DOUBLE, drug_type VARCHAR, modifiers VARCHAR, "
    "gross_usd DOUBLE, discounted_cash_usd DOUBLE, minimum_usd DOUBLE, maximum_usd DOUBLE, source_row BIGINT"
)
_CHARGE_COLUMNS = (
    "item_id BIGINT, payer_name VARCHAR, plan_name VARCHAR, negotiated_usd DOUBLE, negotiated_pct DOUBLE, "
    "negotiated_algorithm VARCHAR, methodology VARCHAR, source_row BIGINT"
)
#: The statements of a rows staging (``$path`` the Parquet file each reads): payer names, items, charges.
ROW_PAYER_NAMES = (
    "SELECT DISTINCT payer_name, plan_name FROM read_parquet($path) WHERE payer_name IS NOT NULL"
)
ROW_ITEMS = """
INSERT INTO core_hospital_items
SELECT $file_id, item_id, code, string_split(codes, chr(31)), string_split(code_types, chr(31)), ndc, description,
       billing_class, setting, drug_unit, drug_type, coalesce(string_split(modifiers, chr(31)), []),
       gross_usd, discounted_cash_usd, minimum_usd, maximum_usd, source_row
FROM read_parquet($path)
"""
ROW_CHARGES = """
INSERT INTO core_hospital_charges
SELECT $file_id, s.item_id, s.payer_name, s.plan_name, n.payer, n.segment, s.negotiated_usd, s.negotiated_pct,
       s.negotiated_algorithm, s.methodology, s.source_row
FROM read_parquet($path) s
LEFT JOIN payer_names n ON n.payer_name = s.payer_name AND n.plan_name IS NOT DISTINCT FROM s.plan_name
"""

#: A tall CSV's items, staged as stored (:mod:`.hospital_tall`); its charges share ROW_PAYER_NAMES and ROW_CHARGES.
PARQUET_ITEMS = "INSERT INTO core_hospital_items SELECT $file_id, * FROM read_parquet($path)"
