"""A hospital file's kept charges, staged on disk while it streams, then stored with one statement each.

Python touches as little per charge as it can (profiled on UNC's tall CSV: building a record per charge
and writing it cost more than reading the file with the csv module):

- **tall CSV**: each kept record's *text*, as the file holds it, goes to a staging CSV behind three
  cells (its line, its kept codes, its (code, type) pairs); DuckDB's CSV reader then trims, parses the
  amounts and splits the modifiers of all of them at once (:func:`tall_select`). A record whose quoting
  DuckDB could read otherwise than the csv module did (a stray ``"``) is written again by the csv
  writer from the cells the csv module read, so both read the same cells.
- **wide CSV and JSON**: :class:`HospitalCharge` records, every :data:`BATCH` turned into a Parquet row
  group by pyarrow's C converter (:func:`charge_schema`: the Spark data source's columns).

Either way the store reads the staging into one temporary table of charges (the same columns), from
which one statement makes the items (distinct code ... maximum) and one the charges.
"""

from __future__ import annotations

import csv
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from ..sources.hospital import HospitalCharge
from ..sources.hospital.csvfile import NUMBER_FIELDS
from ..sources.hospital.model import KeptCodes, split_list

__all__ = [
    "ROW_CHARGES",
    "ROW_ITEMS",
    "ROW_PAYER_NAMES",
    "HospitalStaging",
    "StagedCharges",
    "charge_schema",
    "stage_select",
]

_US, _RS = "\x1f", "\x1e"  # join codes, and (code, type) pairs, in the staging CSV's prefix cells
#: What str.strip() removes (DuckDB's trim() alone removes spaces): trimmed cells equal the csv path's.
WHITESPACE = "".join(c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace())
#: The cells missing amounts are written with (csvfile._MISSING).
_MISSING = ("", "n/a", "na", "null", "none", "-")
#: A record whose every quote opens or closes a field (or is doubled inside one): read alike by both.
_FIELD = r'(?:"[^"]*+(?:""[^"]*+)*+"|[^",\r\n]*+)'
_WELL_QUOTED = re.compile(f"{_FIELD}(?:,{_FIELD})*+")
#: The cells that make an item (with its kept codes): rows of the same item number share them as written.
ITEM_FIELDS = ("description", "billing_class", "setting", "drug_unit", "drug_type", "modifiers", "gross",
               "discounted_cash", "minimum", "maximum")  # fmt: skip
_ITEM_CACHE = 1 << 18


@dataclass
class StagedCharges:
    """Where a file's kept charges are staged: a Parquet file of :func:`charge_schema`, or a tall CSV's
    records (``tall`` is then the file's width and the cell of each field)."""

    path: Path
    tall: tuple[int, dict[str, int]] | None = None
    rows: bool = False  # ``path`` is a folder of items.csv and charges.csv (wide CSV and JSON)


def charge_schema() -> Any:
    """The pyarrow schema of staged charges: :class:`HospitalCharge`'s fields (Spark writes the same)."""
    import pyarrow as pa

    pair = pa.list_(pa.struct([("code", pa.string()), ("type", pa.string())]))
    kinds = {"codes": pair, "modifiers": pa.list_(pa.string()), "row": pa.int64()}
    kinds |= dict.fromkeys(NUMBER_FIELDS, pa.float64())
    return pa.schema([(f, kinds.get(f, pa.string())) for f in HospitalCharge._fields])


@dataclass
class HospitalStaging:
    """The sink a reader hands kept charges to (and a tall file's records: a ``TallSink``)."""

    folder: Path
    _rows: _RowFiles | None = None
    _tall: tuple[int, dict[str, int]] | None = None
    _text: TextIO | None = None
    _csv: Any = None
    _prefixes: dict[int, tuple[KeptCodes, str]] = field(default_factory=dict)
    _lines: list[str] = field(default_factory=list)
    _items: dict[tuple[str, tuple[str, ...]], int] = field(default_factory=dict)
    _item_base: int = 0
    _item_cells: Any = None
    _modifiers: int | None = None

    # -- wide CSV and JSON: items and charges, as CSV rows ------------------------------------------------

    def __call__(self, charges: list[HospitalCharge]) -> None:
        """An item (code ... maximum) is written once, however many payers price it; a charge when it
        names a payer or has a negotiated value. The C csv writer: measured cheaper than building
        Parquet batches (pyarrow's conversion plus an item sort in DuckDB) for a JSON file's charges."""
        if self._rows is None:
            self._rows = _RowFiles(self.folder)
        rows = self._rows
        for c in charges:
            item = rows.item_id(c)
            if c.payer_name or c.dollar is not None or c.percentage is not None or c.algorithm:
                rows.write_charge((item, c.payer_name, c.plan_name, c.dollar, c.percentage, c.algorithm,
                                   c.methodology, c.row))  # fmt: skip

    # -- tall CSV: the records' text ------------------------------------------------------------------------

    def tall(self, width: int, columns: dict[str, int]) -> None:
        from operator import itemgetter

        self._tall = (width, dict(columns))
        self._text = (self.folder / "tall.csv").open("w", encoding="utf-8", newline="")
        self._csv = csv.writer(self._text, lineterminator="\n")
        absent = width  # rows get one empty cell appended when rewritten: absent fields read it
        self._item_cells = itemgetter(*(columns.get(f, absent) for f in ITEM_FIELDS))
        self._modifiers = columns.get("modifiers")

    def record(self, line: int, kept: KeptCodes, row: list[str], text: list[str]) -> None:
        prefix = self._prefixes.get(id(kept))
        if prefix is None or prefix[0] is not kept:  # held: the id is not reused while it is cached
            if len(self._prefixes) > _ITEM_CACHE:
                self._prefixes.clear()
            prefix = self._prefixes[id(kept)] = (kept, "".join(f"{_quoted(cell)}," for cell in _cells(kept)))
        row.append("")
        item = self._items.setdefault((prefix[1], self._item_cells(row)), len(self._items))
        if len(self._items) > _ITEM_CACHE:
            self._items.clear()  # bounded; an item seen again later gets a new number, harmlessly
            self._item_base += _ITEM_CACHE + 1
        item += self._item_base
        body = text[0] if len(text) == 1 else "".join(text)
        body = body[: len(body) - (2 if body.endswith("\r\n") else 1 if body[-1:] in "\r\n" else 0)]
        # Every whitespace but the space is unprintable (a line end inside a quoted cell too): such a
        # record goes through Python's strip(), since DuckDB's trim() removes only spaces.
        if not body.isprintable() or ('"' in body and _WELL_QUOTED.fullmatch(body) is None):
            row.pop()
            self._flush_lines()
            self._csv.writerow((line, item, *_cells(kept), *self._stripped(row)))
            return
        self._lines.append(f"{line},{item},{prefix[1]}{body}\n")
        if len(self._lines) >= 4096:
            self._flush_lines()

    def _items_seen(self) -> bool:
        return bool(self._items) or self._item_base > 0

    def _flush_lines(self) -> None:
        assert self._text is not None
        self._text.writelines(self._lines)
        self._lines.clear()

    def _stripped(self, row: list[str]) -> list[str]:
        """Cells as str.strip() leaves them (and a modifier list's parts), for whitespace DuckDB's trim()
        would leave; the csv writer quotes what needs it."""
        cells = [cell.strip() for cell in row]
        if self._modifiers is not None:
            cells[self._modifiers] = "|".join(split_list(cells[self._modifiers]))
        return cells

    def close(self) -> StagedCharges | None:
        """The staging, or None when nothing was kept."""
        if self._rows is not None:
            self._rows.close()
            self._rows = None
            return StagedCharges(self.folder, rows=True)
        if self._text is not None:
            self._flush_lines()
            self._text.close()
            self._text = None
            return StagedCharges(self.folder / "tall.csv", self._tall) if self._items_seen() else None
        return None


#: HospitalCharge's leading fields that describe the item (code ... maximum), not the payer's charge.
_ITEM_END = HospitalCharge._fields.index("payer_name")


class _RowFiles:
    """items.csv and charges.csv of one file (floats written as repr, which reads back exactly)."""

    def __init__(self, folder: Path) -> None:
        self._items_fh = (folder / "items.csv").open("w", encoding="utf-8", newline="")
        self._charges_fh = (folder / "charges.csv").open("w", encoding="utf-8", newline="")
        self._write_item = csv.writer(self._items_fh).writerow
        self.write_charge = csv.writer(self._charges_fh).writerow
        self._ids: dict[tuple[object, ...], int] = {}
        self._next_id = 0

    def item_id(self, c: HospitalCharge) -> int:
        key = c[:_ITEM_END]  # a C-level slice: code ... maximum
        found = self._ids.get(key)
        if found is not None:
            return found
        if len(self._ids) >= _ITEM_CACHE:
            self._ids.clear()  # bounded; an item seen again later is written again, harmlessly
        self._next_id += 1
        self._ids[key] = self._next_id
        self._write_item((
            self._next_id, c.code, _US.join(code for code, _ in c.codes), _US.join(kind for _, kind in c.codes),
            c.ndc, c.description, c.billing_class, c.setting, c.drug_unit, c.drug_type,
            _US.join(c.modifiers) or None, c.gross, c.discounted_cash, c.minimum, c.maximum, c.row,
        ))  # fmt: skip
        return self._next_id

    def close(self) -> None:
        self._items_fh.close()
        self._charges_fh.close()


def _read_rows(columns: str) -> str:
    spec = ", ".join(f"'{name}': '{kind}'" for name, kind in (c.split() for c in columns.split(", ")))
    return (f"read_csv($path, header = false, auto_detect = false, quote = '\"', escape = '\"', delim = ',', "
            f"columns = {{{spec}}})")  # fmt: skip


_ITEM_COLUMNS = (
    "item_id BIGINT, code VARCHAR, codes VARCHAR, code_types VARCHAR, ndc VARCHAR, description VARCHAR, "
    "billing_class VARCHAR, setting VARCHAR, drug_unit DOUBLE, drug_type VARCHAR, modifiers VARCHAR, "
    "gross_usd DOUBLE, discounted_cash_usd DOUBLE, minimum_usd DOUBLE, maximum_usd DOUBLE, source_row BIGINT"
)
_CHARGE_COLUMNS = (
    "item_id BIGINT, payer_name VARCHAR, plan_name VARCHAR, negotiated_usd DOUBLE, negotiated_pct DOUBLE, "
    "negotiated_algorithm VARCHAR, methodology VARCHAR, source_row BIGINT"
)
#: The statements of a rows staging (``$path`` the CSV file each reads): payer names, items, charges.
ROW_PAYER_NAMES = (
    f"SELECT DISTINCT payer_name, plan_name FROM {_read_rows(_CHARGE_COLUMNS)} WHERE payer_name IS NOT NULL"
)
ROW_ITEMS = f"""
INSERT INTO core_hospital_items
SELECT $file_id, item_id, code, string_split(codes, chr(31)), string_split(code_types, chr(31)), ndc, description,
       billing_class, setting, drug_unit, drug_type, coalesce(string_split(modifiers, chr(31)), []),
       gross_usd, discounted_cash_usd, minimum_usd, maximum_usd, source_row
FROM {_read_rows(_ITEM_COLUMNS)}
"""
ROW_CHARGES = f"""
INSERT INTO core_hospital_charges
SELECT $file_id, s.item_id, s.payer_name, s.plan_name, n.payer, n.segment, s.negotiated_usd, s.negotiated_pct,
       s.negotiated_algorithm, s.methodology, s.source_row
FROM {_read_rows(_CHARGE_COLUMNS)} s
LEFT JOIN payer_names n ON n.payer_name = s.payer_name AND n.plan_name IS NOT DISTINCT FROM s.plan_name
"""


def _cells(kept: KeptCodes) -> tuple[str, str]:
    return _US.join(kept[0]), _RS.join(f"{c}{_US}{t}" for c, t in kept[1])


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


# -- the staged charges as one table ------------------------------------------------------------------------

_CHARGE_COLUMNS = ", ".join(f'"{f}"' for f in HospitalCharge._fields)


def stage_select(staged: StagedCharges) -> tuple[str, dict[str, object]]:
    """A SELECT of the staged charges: :class:`HospitalCharge`'s columns, ``item_id`` (one per distinct
    item: its kept code and cells), ``bad`` (the first amount field that is not a number, else NULL) and
    ``bad_text`` (that cell), with its parameters."""
    if staged.tall is None:
        return _PARQUET_SELECT, {"path": str(staged.path)}
    return _tall_select(*staged.tall), {"path": str(staged.path)}


_PARQUET_SELECT = f"""
SELECT {", ".join(f'"{f}"' for f in HospitalCharge._fields)}, NULL AS bad, NULL AS bad_text,
       dense_rank() OVER (ORDER BY code, codes, description, billing_class, setting, drug_unit, drug_type,
                                   modifiers, gross, discounted_cash, minimum, maximum) AS item_id
FROM read_parquet($path)
"""


def _tall_select(width: int, columns: dict[str, int]) -> str:
    spec = ", ".join([f"'{n}': '{t}'" for n, t in (("line", "BIGINT"), ("item", "BIGINT"), ("kept", "VARCHAR"),
                                                   ("pairs", "VARCHAR"))]
                     + [f"'c{i}': 'VARCHAR'" for i in range(width)])  # fmt: skip
    cells = {name: f"c{i}" for name, i in columns.items()}

    def text(name: str) -> str:
        return f"nullif(trim({cells[name]}), '')" if name in cells else "NULL"

    def amount(name: str) -> str:  # the csv path's float(), then its "$1,234.50" and "N/A" path
        if name not in cells:
            return "NULL"
        c = cells[name]
        return (f"CASE WHEN {c} IS NULL THEN NULL ELSE coalesce(TRY_CAST({c} AS DOUBLE), "
                f"CASE WHEN lower(trim({c})) IN {_MISSING} THEN NULL ELSE {_cleaned(c)} END) END")  # fmt: skip

    def bad(name: str) -> str:
        c = cells[name]
        return (f"WHEN {c} IS NOT NULL AND TRY_CAST({c} AS DOUBLE) IS NULL AND lower(trim({c})) NOT IN "
                f"{_MISSING} AND {_cleaned(c)} IS NULL THEN")  # fmt: skip

    numbers = [n for n in NUMBER_FIELDS if n in cells]
    bad_field = " ".join(f"{bad(n)} '{n}'" for n in numbers)
    bad_text = " ".join(f"{bad(n)} trim({cells[n]})" for n in numbers)
    mods = cells.get("modifiers")
    modifiers = (
        f"coalesce(list_sort(list_filter(list_transform(string_split({mods}, '|'), lambda p: trim(p)), "
        "lambda p: p <> '')), [])"
        if mods
        else "[]::VARCHAR[]"
    )
    return f"""
SELECT unnest(string_split(kept, chr(31))) AS code,
       list_transform(string_split(pairs, chr(30)),
                      lambda p: {{'code': split_part(p, chr(31), 1), 'type': split_part(p, chr(31), 2)}}) AS codes,
       {text("description")} AS description, {text("billing_class")} AS billing_class,
       {text("setting")} AS setting, {amount("drug_unit")} AS drug_unit, {text("drug_type")} AS drug_type,
       {modifiers} AS modifiers, {amount("gross")} AS gross, {amount("discounted_cash")} AS discounted_cash,
       {amount("minimum")} AS minimum, {amount("maximum")} AS maximum,
       {text("payer_name")} AS payer_name, {text("plan_name")} AS plan_name, {amount("dollar")} AS dollar,
       {amount("percentage")} AS percentage, {text("algorithm")} AS algorithm,
       {text("methodology")} AS methodology, line AS "row",
       {f"CASE {bad_field} END" if numbers else "NULL"} AS bad,
       {f"CASE {bad_text} END" if numbers else "NULL"} AS bad_text,
       (item << 16) + generate_subscripts(string_split(kept, chr(31)), 1) AS item_id
FROM read_csv($path, header = false, auto_detect = false, delim = ',', quote = '"', escape = '"',
              columns = {{{spec}}})
"""


def _cleaned(cell: str) -> str:
    return f"TRY_CAST(replace(replace(trim({cell}), '$', ''), ',', '') AS DOUBLE)"
