"""The CMS HCPCS Level II alpha-numeric file: fixed-width text, legacy .xls and .xlsx.

All three shapes carry the same 320-byte record layout: the text file by position
(``data/hcpcs_fixed_width.csv``), the workbooks by header (``data/hcpcs_columns.csv``); both map to the
same field names, so one builder serves every shape. A code whose long description outgrows one record
continues on RIC 4 (procedure) or RIC 8 (modifier) records that follow its RIC 3 or RIC 7 record.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

from ..data import read_table as data_table
from ..errors import InputError, SchemaDriftError
from . import ParsedFile
from ._tabular import Record, Source, decode_text, effective_from, read_source, read_tabular, unique_rows

__all__ = ["HcpcsCode", "HcpcsModifier", "read_hcpcs"]

KIND = "HCPCS Level II"
CODE_RIC, CODE_MORE_RIC, MODIFIER_RIC, MODIFIER_MORE_RIC = "3", "4", "7", "8"
CONTINUES = {CODE_MORE_RIC: CODE_RIC, MODIFIER_MORE_RIC: MODIFIER_RIC}
CODE_PATTERN = re.compile(r"[A-Z0-9]{5}")
MODIFIER_PATTERN = re.compile(r"[A-Z0-9]{2}")
#: Code (or 3 blanks and a modifier), 5-digit sequence number, record id code: how every record starts.
RECORD_START = re.compile(r"(?:[A-Z0-9]{5}| {3}[A-Z0-9]{2})[0-9]{5}[3478]")


@dataclass(frozen=True, slots=True)
class HcpcsCode:
    code: str
    seq: str
    long_description: str
    short_description: str
    pricing_indicators: tuple[str, ...]
    multiple_pricing_indicator: str | None
    cim_refs: tuple[str, ...]
    mcm_refs: tuple[str, ...]
    statute: str | None
    lab_cert: tuple[str, ...]
    xrefs: tuple[str, ...]
    coverage_code: str | None
    asc_group: str | None
    asc_date: date | None
    opps_status_indicator: str | None
    opps_payment_indicator: str | None
    opps_date: date | None
    processing_note: str | None
    betos: str | None
    type_of_service: tuple[str, ...]
    anesthesia_base_units: int | None
    add_date: date | None
    action_effective_date: date | None
    termination_date: date | None
    action_code: str | None


@dataclass(frozen=True, slots=True)
class HcpcsModifier:
    modifier: str
    long_description: str
    short_description: str
    coverage_code: str | None
    add_date: date | None
    action_effective_date: date | None
    termination_date: date | None
    action_code: str | None


def read_hcpcs(path: Path) -> ParsedFile[HcpcsCode]:
    """Parse a HCPCS file (.txt fixed-width, .xls, .xlsx). Modifiers go to ``ParsedFile.extra``."""
    path = Path(path)
    records, meta = _records(read_source(path))
    entries = _entries(records)
    heads = [(entry[0], entry) for entry in entries]
    codes = unique_rows(path, "hcpcs_columns.csv", ((h, _code(e)) for h, e in heads if _ric(h) == CODE_RIC))
    modifiers = unique_rows(
        path, "hcpcs_modifiers", ((h, _modifier(e)) for h, e in heads if _ric(h) != CODE_RIC)
    )
    start, meta["period_from"] = _period(path, codes)
    return ParsedFile("hcpcs", path, codes, effective_start=start, extra=modifiers, meta=meta)


def _period(path: Path, codes: Sequence[HcpcsCode]) -> tuple[date | None, str | None]:
    """The file name's year and quarter, else the latest action effective date the file records.

    A quarterly update takes effect on the date of its newest actions (``anweb.xlsx`` of October 2020
    names no period, but its newest actions take effect 2020-10-01).
    """
    start = effective_from("hcpcs", path.name)
    if start is not None:
        return start, "file name"
    latest = max((c.action_effective_date for c in codes if c.action_effective_date), default=None)
    return latest, None if latest is None else "latest action effective date"


def _records(source: Source) -> tuple[list[Record], dict[str, object]]:
    if source.format != "txt":
        table = read_tabular(source.path, "hcpcs_columns.csv", KIND, source)
        return table.records, table.meta
    decoded = decode_text(source.data)
    return _fixed_width_records(source.path, decoded.text), {"format": "txt", **decoded.meta}


# --- the fixed-width text file -------------------------------------------------------------------------


@cache
def _layout() -> tuple[tuple[str, int, int], ...]:
    """(field, 0-based start, end) from the record layout, so ``line[start:end]`` is the field."""
    return tuple(
        (row["field"], int(row["start"]) - 1, int(row["end"])) for row in data_table("hcpcs_fixed_width.csv")
    )


@cache
def _layout_labels() -> dict[str, str]:
    return {name: f"{name} (cols {start + 1}-{end})" for name, start, end in _layout()}


def _fixed_width_records(path: Path, text: str) -> list[Record]:
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    first = _first_record(path, lines)
    # A terminated file splits into a final "" (skipped as blank), so only a cut-off last line is ``cut``.
    return [
        _fixed_width_record(path, number, line, cut=number == len(lines))
        for number, line in enumerate(lines[first:], start=first + 1)
        if line.strip()
    ]


def _first_record(path: Path, lines: Sequence[str]) -> int:
    """Index of the first record line: the free-text disclaimer CMS puts on top varies in length."""
    for index, line in enumerate(lines):
        if RECORD_START.match(line):
            return index
    message = f"no {KIND} fixed-width record (a line starting with code, sequence number and record id)"
    raise SchemaDriftError(path, message)


def _fixed_width_record(path: Path, number: int, line: str, cut: bool) -> Record:
    record = Record(path, number, {name: line[start:end] for name, start, end in _layout()}, _layout_labels())
    if not RECORD_START.match(line):
        raise record.error("code", f"not a HCPCS record: {line[:30]!r}")
    needed = _needed_length(record.cells["ric"], cut)
    if len(line) < needed:
        message = f"record has {len(line)} characters, a RIC {record.cells['ric']} record needs {needed}"
        raise InputError(path, f"{message} (truncated file?)", row=number)
    return record


def _needed_length(ric: str, cut: bool) -> int:
    """First records must reach the action code. Continuation records end after the description text
    and may be trimmed, so only a last line without a line ending must still reach column 91."""
    if ric in (CODE_RIC, MODIFIER_RIC):
        return _field_end("action_code")
    return _field_end("long_description") if cut else 0


def _field_end(name: str) -> int:
    return next(end for field, _, end in _layout() if field == name)


# --- records to codes and modifiers --------------------------------------------------------------------


def _entries(records: Sequence[Record]) -> list[list[Record]]:
    """Group each first record (RIC 3/7) with the continuation records (RIC 4/8) that follow it."""
    entries: list[list[Record]] = []
    for record in records:
        ric = _ric(record)
        if ric in CONTINUES:
            _continue(entries, record, ric)
        else:
            entries.append([record])
    return entries


def _ric(record: Record) -> str:
    ric = record.text("ric") or ""
    if ric not in (CODE_RIC, CODE_MORE_RIC, MODIFIER_RIC, MODIFIER_MORE_RIC):
        raise record.error("ric", f"unknown record id code {ric!r} (expected 3, 4, 7 or 8)")
    return ric


def _continue(entries: list[list[Record]], record: Record, ric: str) -> None:
    head = entries[-1][0] if entries else None
    if head is None or _ric(head) != CONTINUES[ric] or head.text("code") != record.text("code"):
        code = record.text("code")
        raise record.error("ric", f"continuation of {code!r} does not follow its RIC {CONTINUES[ric]} record")
    entries[-1].append(record)


def _long_description(entry: Sequence[Record]) -> str:
    # CMS breaks long descriptions between words, so parts join with one space.
    return " ".join(part for record in entry if (part := record.text("long_description")))


def _checked_code(record: Record, pattern: re.Pattern[str]) -> str:
    code = record.text("code") or ""
    if not pattern.fullmatch(code):
        raise record.error("code", f"not a HCPCS code or modifier: {code!r}")
    return code


def _seq(record: Record) -> str:
    # The workbooks print the layout's by-100s sequence number divided by ten ("0010" for "00100");
    # keep the layout's 5 digits so every shape of the same release agrees.
    seq = record.text("seq") or ""
    return f"{seq}0" if len(seq) == 4 and seq.isdigit() else seq


def _numbered(prefix: str, count: int) -> tuple[str, ...]:
    return tuple(f"{prefix}{n}" for n in range(1, count + 1))


def _code(entry: Sequence[Record]) -> HcpcsCode:
    head = entry[0]
    return HcpcsCode(
        code=_checked_code(head, CODE_PATTERN),
        seq=_seq(head),
        long_description=_long_description(entry),
        short_description=head.text("short_description") or "",
        pricing_indicators=head.texts(_numbered("price", 4)),
        multiple_pricing_indicator=head.text("mult_pi"),
        cim_refs=head.texts(_numbered("cim", 3)),
        mcm_refs=head.texts(_numbered("mcm", 3)),
        statute=head.text("statute"),
        lab_cert=head.texts(_numbered("labcert", 8)),
        xrefs=head.texts(_numbered("xref", 5)),
        coverage_code=head.text("coverage_code"),
        asc_group=head.text("asc_group"),
        asc_date=head.date_of("asc_date"),
        opps_status_indicator=head.text("opps"),
        opps_payment_indicator=head.text("opps_pi"),
        opps_date=head.date_of("opps_date"),
        processing_note=head.text("processing_note"),
        betos=head.text("betos"),
        type_of_service=head.texts(_numbered("tos", 5)),
        anesthesia_base_units=head.integer("anesthesia_base_units"),
        add_date=head.date_of("add_date"),
        action_effective_date=head.date_of("action_effective_date"),
        termination_date=head.date_of("termination_date"),
        action_code=head.text("action_code"),
    )


def _modifier(entry: Sequence[Record]) -> HcpcsModifier:
    head = entry[0]
    return HcpcsModifier(
        modifier=_checked_code(head, MODIFIER_PATTERN),
        long_description=_long_description(entry),
        short_description=head.text("short_description") or "",
        coverage_code=head.text("coverage_code"),
        add_date=head.date_of("add_date"),
        action_effective_date=head.date_of("action_effective_date"),
        termination_date=head.date_of("termination_date"),
        action_code=head.text("action_code"),
    )
