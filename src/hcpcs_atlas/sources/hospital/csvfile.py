"""Tall and wide CSV layouts of the CMS hospital price template (v2.0-v3.0), one record at a time.

Rows 1-2 are hospital-level fields (names, then values; the attestation sentence itself is a column
name); row 3 is the header. Column names are compared with spaces around ``|`` removed and in lower
case (``code | 1 | type`` = ``code|1|type``); the wide layout names payer and plan inside the column
(``standard_charge|Aetna|HMO_Inpatient|negotiated_dollar``), written as the hospital wrote them.
The field each column holds is package data (``data/hospital_columns.csv``).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from operator import itemgetter
from typing import TextIO

from ...data import read_table
from ...errors import InputError, SchemaDriftError
from .model import HospitalCharge, HospitalFile, split_list

__all__ = ["CodeJudge", "amount", "hospital_fields", "layout_of", "read_csv"]

_PIPE = re.compile(r"\s*\|\s*")
_CODE = re.compile(r"code\|(\d+)")
_PAYER_FIELDS = {"negotiated_dollar": "dollar", "negotiated_percentage": "percentage",
                 "negotiated_algorithm": "algorithm", "methodology": "methodology"}  # fmt: skip
_MISSING = frozenset({"", "n/a", "na", "null", "none", "-"})


def _norm(name: str) -> str:
    return _PIPE.sub("|", name.strip()).lower()


def _fields() -> dict[str, str]:
    """{normalized column name: field}."""
    return {row["column"]: row["field"] for row in read_table("hospital_columns.csv")}


@dataclass(frozen=True)
class _PayerColumns:
    payer: str
    plan: str
    dollar: int | None = None
    percentage: int | None = None
    algorithm: int | None = None
    methodology: int | None = None


@dataclass(frozen=True)
class _Layout:
    width: int
    codes: tuple[tuple[int, int | None], ...]  # (code column, its type column)
    columns: dict[str, int]  # field -> column
    payers: tuple[_PayerColumns, ...]  # wide only

    @property
    def name(self) -> str:
        return "wide" if self.payers else "tall"

    def code_cells(self) -> Callable[[list[str]], tuple[str, ...]]:
        """A C-level getter of the code cells, then their type cells, as one tuple."""
        columns = [i for i, _ in self.codes] + [t for _, t in self.codes if t is not None]
        get = itemgetter(*columns)
        return get if len(columns) > 1 else lambda row: (get(row),)


def read_csv(label: str, lines: TextIO, keep_code: Callable[[str], bool], into: HospitalFile) -> None:
    """Fill ``into`` (layout, hospital fields, rows seen, kept charges) from a CSV file's lines.

    The loop is the hot path (every row of a multi-GB file): the csv module splits, one C-level getter
    takes the code cells, and rows repeat their item's codes (one row per payer in the tall layout),
    so the codes are judged once per distinct set of code cells."""
    reader = csv.reader(lines)
    names, values = _next(reader, label, "hospital-level field names"), _next(reader, label, "their values")
    hospital_fields(label, names, values, into)
    layout = layout_of(label, _next(reader, label, "the header row"))
    into.layout = layout.name
    width, code_cells, judge = layout.width, layout.code_cells(), CodeJudge(layout.codes, keep_code)
    build = _Builder(label, layout)
    keep, rows, last, kept = into.keep, 0, None, _NOTHING
    try:
        for row in reader:
            rows += 1
            if len(row) != width:
                if len(row) <= 1 and not any(row):
                    continue  # a blank line
                raise InputError(label, f"{len(row)} fields, the header has {width}", row=reader.line_num)
            key = code_cells(row)
            if key != last:
                last, kept = key, judge(key)
            if kept[0]:
                keep(build(row, reader.line_num, kept))
            if not rows & 0xFFFF:
                into.rows_seen = rows
    except csv.Error as exc:  # a field past the size limit, data ending inside quotes: a one-line refusal
        raise InputError(label, str(exc), row=reader.line_num) from None
    into.rows_seen = rows


_NOTHING: tuple[tuple[str, ...], tuple[tuple[str, str], ...]] = ((), ())


class CodeJudge:
    """Which codes of a row's code cells are kept, and the row's (code, type) pairs; cached."""

    def __init__(self, codes: tuple[tuple[int, int | None], ...], keep_code: Callable[[str], bool]) -> None:
        self.keep_code, self.n = keep_code, len(codes)
        self.typed = tuple(t is not None for _, t in codes)
        self.cache: dict[tuple[str, ...], tuple[tuple[str, ...], tuple[tuple[str, str], ...]]] = {}

    def __call__(self, key: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
        found = self.cache.get(key)
        if found is None:
            if len(self.cache) > 1 << 18:
                self.cache.clear()  # a file of unique CDM codes: bounded memory
            found = self.cache[key] = self._judge(key)
        return found

    def _judge(self, key: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
        codes, types = key[: self.n], iter(key[self.n :])
        pairs = tuple((c.strip(), next(types).strip() if typed else "")
                      for c, typed in zip(codes, self.typed, strict=True))  # fmt: skip
        kept: list[str] = []
        for code, _ in pairs:
            norm = code.upper()
            if norm and norm not in kept and self.keep_code(norm):
                kept.append(norm)
        if not kept:
            return _NOTHING
        return tuple(kept), tuple(p for p in pairs if p[0])


def _next(reader: Iterator[list[str]], label: str, what: str) -> list[str]:
    row = next(reader, None)
    if row is None:
        raise InputError(label, f"ends before {what}: not a hospital standard charge file", row=0)
    return row


def hospital_fields(label: str, names: list[str], values: list[str], into: HospitalFile) -> None:
    fields = _fields()
    got: dict[str, str] = {}
    for name, value in zip(names, values, strict=False):
        norm = _norm(name)
        if norm.startswith("license_number"):
            into.license_number = value.strip() or None
            into.license_state = name.split("|", 1)[1].strip() if "|" in name else None
        elif norm in fields:
            got[fields[norm]] = value.strip()
    if "hospital_name" not in got:
        raise SchemaDriftError(label, "row 1 has no hospital_name: not a CMS hospital price file", row=1)
    into.hospital_name = got["hospital_name"] or None
    into.last_updated_on = got.get("last_updated_on") or None
    into.version = got.get("version") or None
    into.location_names = split_list(got.get("location_name"))
    into.addresses = split_list(got.get("hospital_address"))
    into.type_2_npis = split_list(got.get("type_2_npi"))


def layout_of(label: str, header: list[str]) -> _Layout:
    fields, norm = _fields(), [_norm(h) for h in header]
    columns = {fields[n]: i for i, n in enumerate(norm) if n in fields}
    positions = {n: i for i, n in enumerate(norm)}
    codes = tuple((i, positions.get(f"{n}|type")) for i, n in enumerate(norm) if _CODE.fullmatch(n))
    if "description" not in columns or not codes:
        missing = "description" if "description" not in columns else "code|1"
        raise SchemaDriftError(label, "no such column in the header row", row=3, column=missing)
    return _Layout(len(header), codes, columns, _payer_columns(header))


def _payer_columns(header: list[str]) -> tuple[_PayerColumns, ...]:
    found: dict[tuple[str, str], dict[str, int]] = {}
    for i, name in enumerate(header):
        parts = _PIPE.split(name.strip())
        if len(parts) == 4 and parts[0].lower() == "standard_charge" and parts[3].lower() in _PAYER_FIELDS:
            found.setdefault((parts[1], parts[2]), {})[_PAYER_FIELDS[parts[3].lower()]] = i
    return tuple(_PayerColumns(payer, plan, **cols) for (payer, plan), cols in found.items())


def _number(label: str, row: list[str], i: int | None, line: int, header: str) -> float | None:
    if i is None:
        return None
    try:
        return amount(row[i])
    except ValueError:
        raise InputError(label, f"not a number: {row[i].strip()[:40]!r}", row=line, column=header) from None


_TEXT = (
    "description",
    "billing_class",
    "setting",
    "drug_type",
    "modifiers",
    "payer_name",
    "plan_name",
    "algorithm",
    "methodology",
)
_NUMBERS = ("drug_unit", "gross", "discounted_cash", "minimum", "maximum", "dollar", "percentage")


class _Builder:
    """The charges of one kept row: one (tall) or one per payer and plan with a value (wide)."""

    def __init__(self, label: str, layout: _Layout) -> None:
        self.label, self.layout = label, layout
        absent = layout.width  # rows get one empty cell appended: absent columns read it
        self.get = itemgetter(*(layout.columns.get(f, absent) for f in _TEXT + _NUMBERS))

    def __call__(
        self, row: list[str], line: int, kept: tuple[tuple[str, ...], tuple[tuple[str, str], ...]]
    ) -> list[HospitalCharge]:
        row.append("")
        (
            desc,
            bclass,
            setting,
            dtype,
            mods,
            payer,
            plan,
            alg,
            meth,
            unit,
            gross,
            cash,
            low,
            high,
            dollar,
            pct,
        ) = self.get(row)
        numbers: tuple[float | None, ...]
        try:  # inline, not a helper per cell: this runs for every kept row
            numbers = (float(unit) if unit else None, float(gross) if gross else None,
                       float(cash) if cash else None, float(low) if low else None,
                       float(high) if high else None, float(dollar) if dollar else None,
                       float(pct) if pct else None)  # fmt: skip
        except ValueError:
            numbers = self._numbers(row, line)
        modifiers = tuple(sorted(split_list(mods))) if mods else ()
        out: list[HospitalCharge] = []
        for code in kept[0]:
            base = HospitalCharge(
                code, kept[1], desc.strip() or None, bclass.strip() or None, setting.strip() or None,
                numbers[0], dtype.strip() or None, modifiers, numbers[1], numbers[2], numbers[3], numbers[4],
                payer.strip() or None,
                plan.strip() or None, numbers[5], numbers[6], alg.strip() or None, meth.strip() or None, line,
            )  # fmt: skip
            out.extend(
                _wide_charges(self.label, row, line, self.layout, base) if self.layout.payers else [base]
            )
        return out

    def _numbers(self, row: list[str], line: int) -> tuple[float | None, ...]:
        """The slow path: "$1,234.50", "N/A"; anything else is refused with its row and column."""
        cols = self.layout.columns
        return tuple(_number(self.label, row, cols.get(name), line, name) for name in _NUMBERS)


def amount(text: str) -> float | None:
    """One amount cell as a row's reading gives it: ``float`` of the cell as written (the fast path), else
    trimmed, "N/A"-like as None, "$1,234.50" without its signs; ValueError for anything else."""
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        pass
    stripped = text.strip()
    if stripped.lower() in _MISSING:
        return None
    return float(stripped.replace("$", "").replace(",", ""))


def _text(row: list[str], i: int | None) -> str | None:
    return (row[i].strip() or None) if i is not None else None


def _wide_charges(
    label: str, row: list[str], line: int, layout: _Layout, base: HospitalCharge
) -> list[HospitalCharge]:
    """One charge per payer and plan with a dollar, percentage or algorithm; none: the bare prices.

    This runs for every payer column of every kept row (MD Anderson: 400 of them, most empty): empty
    cells are passed over before any call, the column's name is made only for an error, and a charge is
    built as a tuple (``_replace`` is a Python-level loop). ``row`` has one empty cell appended: absent
    columns read it, as ``amount`` and ``_text`` read an absent column."""
    head, absent, out = base[:_PAYER_AT], layout.width, []
    for p in layout.payers:
        d, pc, a = (row[absent if i is None else i] for i in (p.dollar, p.percentage, p.algorithm))
        if not (d or pc or a):
            continue
        dollar = _wide_amount(label, row, p.dollar, line, p, "negotiated_dollar") if d else None
        pct = _wide_amount(label, row, p.percentage, line, p, "negotiated_percentage") if pc else None
        algorithm = a.strip() or None
        if dollar is None and pct is None and algorithm is None:
            continue
        meth = _text(row, p.methodology)
        out.append(_new_charge(HospitalCharge, (*head, p.payer, p.plan, dollar, pct, algorithm, meth, line)))
    return out or [base]


def _wide_amount(
    label: str, row: list[str], i: int | None, line: int, p: _PayerColumns, what: str
) -> float | None:
    try:
        return float(row[i])  # type: ignore[index]  # a non-empty cell: its column is there
    except ValueError:
        return _number(label, row, i, line, f"{p.payer}|{p.plan}|{what}")


_PAYER_AT = HospitalCharge._fields.index("payer_name")
_new_charge = tuple.__new__
