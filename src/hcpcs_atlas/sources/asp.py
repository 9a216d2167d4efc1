"""The quarterly Medicare Part B ASP Pricing File (payment allowance limits), CSV or .xlsx.

CMS re-posts a quarter's file when it corrects it; ``meta["edition"]`` dates this edition from the release
date in CMS's file name or the latest "Updated January 2026" note (``data/edition_dates.csv``).

Column spellings live in ``data/asp_columns.csv``. The NOC pricing file has the same shape but names
drugs instead of codes; its rows get the code ``NOC`` and the generic drug name as description.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import ParsedFile
from ._tabular import (
    Record,
    drug_code,
    drug_description,
    drug_series,
    edition_meta,
    effective_period,
    read_tabular,
    unique_rows,
)

__all__ = ["AspPrice", "read_asp"]

KIND = "ASP pricing"


@dataclass(frozen=True, slots=True)
class AspPrice:
    code: str
    short_description: str | None  # None for CPT codes: AMA text is never stored
    dosage: str | None  # "10 MG"
    payment_limit_usd: float | None
    coinsurance_pct: float | None
    vaccine_awp_pct: float | None
    vaccine_limit_usd: float | None
    blood_awp_pct: float | None
    blood_limit_usd: float | None
    clotting_factor: str | None
    notes: str | None


def read_asp(path: Path) -> ParsedFile[AspPrice]:
    """Parse an ASP (or NOC) pricing file; the effective period comes from its preamble."""
    path = Path(path)
    table = read_tabular(path, "asp_columns.csv", KIND)
    start, end = effective_period(table.preamble)
    rows = unique_rows(path, "asp_columns.csv", ((record, _price(record)) for record in table.records))
    notes = [*table.preamble, *(row.notes for row in rows if row.notes)]
    meta = table.meta | drug_series(table) | edition_meta("asp", path.name, notes)
    return ParsedFile("asp", path, rows, effective_start=start, effective_end=end, meta=meta)


def _price(record: Record) -> AspPrice:
    code = drug_code(record)
    return AspPrice(
        code=code,
        short_description=drug_description(record, code),
        dosage=record.text("dosage"),
        payment_limit_usd=record.amount("payment_limit"),
        coinsurance_pct=record.amount("coinsurance_pct"),
        vaccine_awp_pct=record.amount("vaccine_awp_pct"),
        vaccine_limit_usd=record.amount("vaccine_limit"),
        blood_awp_pct=record.amount("blood_awp_pct"),
        blood_limit_usd=record.amount("blood_limit"),
        clotting_factor=record.text("clotting_factor"),
        notes=record.text("notes"),
    )
