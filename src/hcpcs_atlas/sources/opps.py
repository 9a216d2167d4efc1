"""OPPS Addendum B: status indicator, APC and payment rate per code (CMS .xlsx or a CSV conversion).

Column spellings live in ``data/opps_columns.csv``; the period comes from a ``Source`` column, the file
name or the title (``data/effective_dates.csv``); a release date in CMS's file name
(``Addendum_B.04.24.24.csv``: January 2024 re-posted on 2024-04-24) dates the edition (``meta["edition"]``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from . import ParsedFile
from ._tabular import Record, TableFile, edition_meta, effective_clue, level2_text, read_tabular, unique_rows

__all__ = ["OppsRow", "read_opps"]

KIND = "OPPS Addendum B"


@dataclass(frozen=True, slots=True)
class OppsRow:
    code: str
    short_descriptor: str | None  # None for CPT codes
    status_indicator: str | None
    apc: str | None
    relative_weight: float | None
    payment_rate_usd: float | None
    national_copay_usd: float | None
    minimum_copay_usd: float | None
    changed: bool


def read_opps(path: Path) -> ParsedFile[OppsRow]:
    """Parse an OPPS Addendum B file."""
    path = Path(path)
    table = read_tabular(path, "opps_columns.csv", KIND)
    rows = unique_rows(path, "opps_columns.csv", ((record, _row(record)) for record in table.records))
    start, period_from = _period(path, table)
    meta = table.meta | edition_meta("opps", path.name, table.preamble) | {"period_from": period_from}
    return ParsedFile("opps", path, rows, effective_start=start, meta=meta)


def _period(path: Path, table: TableFile) -> tuple[date | None, str | None]:
    """The quarter, and where it was read: a ``Source`` column, the title row or the file name."""
    releases = sorted({release for record in table.records if (release := record.text("source"))})
    clue = effective_clue("opps", path.name, [*releases, *table.preamble[:1]])
    if clue is None:
        return None, None
    start, text = clue
    where = "file name" if text == path.name else "Source column" if text in releases else "title row"
    return start, where


def _row(record: Record) -> OppsRow:
    code = _code(record)
    return OppsRow(
        code=code,
        short_descriptor=level2_text(code, record.text("short_descriptor")),
        status_indicator=record.text("status_indicator"),
        apc=_apc(record),
        relative_weight=record.amount("relative_weight"),
        payment_rate_usd=record.amount("payment_rate"),
        national_copay_usd=record.amount("national_copay"),
        minimum_copay_usd=record.amount("minimum_copay"),
        changed=record.flag("changed"),
    )


def _code(record: Record) -> str:
    code = record.text("code")
    if code is None:
        raise record.error("code", "missing HCPCS code")
    return code.upper()


def _apc(record: Record) -> str | None:
    # APCs are 4-digit identifiers; a numeric cell drops the leading zeros ("12" for "0012").
    apc = record.text("apc")
    return apc.zfill(4) if apc is not None and apc.isdigit() else apc
