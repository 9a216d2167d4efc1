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
from dataclasses import dataclass, replace
from typing import TextIO

from ...data import read_table
from ...errors import InputError, SchemaDriftError
from .model import HospitalCharge, HospitalFile, split_list

__all__ = ["read_csv"]

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


def read_csv(label: str, lines: TextIO, keep_code: Callable[[str], bool], into: HospitalFile) -> None:
    """Fill ``into`` (layout, hospital fields, rows seen, kept charges) from a CSV file's lines."""
    reader = csv.reader(lines)
    names, values = _next(reader, label, "hospital-level field names"), _next(reader, label, "their values")
    _hospital_fields(label, names, values, into)
    layout = _layout(label, _next(reader, label, "the header row"))
    into.layout = layout.name
    rows = 0
    for row in reader:
        rows += 1
        if len(row) != layout.width and not (len(row) == 1 and not row[0]):
            raise InputError(label, f"{len(row)} fields, the header has {layout.width}", row=reader.line_num)
        for code in _kept(row, layout, keep_code):
            into.charges.extend(_charges(label, row, reader.line_num, code, layout))
    into.rows_seen = rows


def _next(reader: Iterator[list[str]], label: str, what: str) -> list[str]:
    row = next(reader, None)
    if row is None:
        raise InputError(label, f"ends before {what}: not a hospital standard charge file", row=0)
    return row


def _hospital_fields(label: str, names: list[str], values: list[str], into: HospitalFile) -> None:
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


def _layout(label: str, header: list[str]) -> _Layout:
    fields, norm = _fields(), [_norm(h) for h in header]
    columns = {fields[n]: i for i, n in enumerate(norm) if n in fields}
    positions = {n: i for i, n in enumerate(norm)}
    codes = tuple(
        (i, positions.get(f"{n}|type")) for i, n in enumerate(norm) if _CODE.fullmatch(n)
    )
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


def _kept(row: list[str], layout: _Layout, keep_code: Callable[[str], bool]) -> list[str]:
    kept = []
    for i, _type in layout.codes:
        value = row[i]
        if value and keep_code(code := value.strip().upper()) and code not in kept:
            kept.append(code)
    return kept


def _cell(row: list[str], columns: dict[str, int], name: str) -> str | None:
    i = columns.get(name)
    value = row[i].strip() if i is not None else ""
    return value or None


def _number(label: str, row: list[str], i: int | None, line: int, header: str) -> float | None:
    if i is None:
        return None
    text = row[i].strip()
    if text.lower() in _MISSING:
        return None
    try:
        return float(text.replace("$", "").replace(",", ""))
    except ValueError:
        raise InputError(label, f"not a number: {text[:40]!r}", row=line, column=header) from None


def _charges(label: str, row: list[str], line: int, code: str, layout: _Layout) -> Iterator[HospitalCharge]:
    cols = layout.columns

    def num(name: str) -> float | None:
        return _number(label, row, cols.get(name), line, name)

    base = HospitalCharge(
        code=code,
        codes=tuple((row[i].strip(), row[t].strip() if t is not None else "") for i, t in layout.codes
                    if row[i].strip()),  # fmt: skip
        description=_cell(row, cols, "description"),
        billing_class=_cell(row, cols, "billing_class"),
        setting=_cell(row, cols, "setting"),
        drug_unit=num("drug_unit"),
        drug_type=_cell(row, cols, "drug_type"),
        modifiers=tuple(sorted(split_list(_cell(row, cols, "modifiers")))),
        gross=num("gross"),
        discounted_cash=num("discounted_cash"),
        minimum=num("minimum"),
        maximum=num("maximum"),
        payer_name=None, plan_name=None, dollar=None, percentage=None, algorithm=None, methodology=None,
        row=line,
    )  # fmt: skip
    if not layout.payers:
        yield replace(
            base, payer_name=_cell(row, cols, "payer_name"), plan_name=_cell(row, cols, "plan_name"),
            dollar=num("dollar"), percentage=num("percentage"), algorithm=_cell(row, cols, "algorithm"),
            methodology=_cell(row, cols, "methodology"),
        )  # fmt: skip
        return
    yield from _wide_charges(label, row, line, layout, base)


def _text(row: list[str], i: int | None) -> str | None:
    return (row[i].strip() or None) if i is not None else None


def _wide_charges(
    label: str, row: list[str], line: int, layout: _Layout, base: HospitalCharge
) -> Iterator[HospitalCharge]:
    """One charge per payer and plan with a dollar, percentage or algorithm; none: the bare prices."""
    any_payer = False
    for p in layout.payers:
        dollar = _number(label, row, p.dollar, line, f"{p.payer}|{p.plan}|negotiated_dollar")
        pct = _number(label, row, p.percentage, line, f"{p.payer}|{p.plan}|negotiated_percentage")
        algorithm = _text(row, p.algorithm)
        if dollar is None and pct is None and algorithm is None:
            continue
        any_payer = True
        yield replace(base, payer_name=p.payer, plan_name=p.plan, dollar=dollar, percentage=pct,
                      algorithm=algorithm, methodology=_text(row, p.methodology))  # fmt: skip
    if not any_payer:
        yield base
