"""The ASP NDC-HCPCS crosswalk: which NDC packages bill under which code, and how many units each holds.

Column spellings live in ``data/crosswalk_columns.csv`` (the code column is renamed every year, e.g.
``_2025_CODE``; the January 2024 file says ``_2023_CODE``, the year before its quarter). The NOC crosswalk names drugs instead of codes; its rows get the code ``NOC``.
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

__all__ = ["CrosswalkRow", "read_crosswalk"]

KIND = "ASP NDC-HCPCS crosswalk"


@dataclass(frozen=True, slots=True)
class CrosswalkRow:
    code: str
    short_description: str | None
    labeler: str | None
    ndc: str  # 5-4-2 with dashes
    drug_name: str | None
    dosage: str | None
    package_size: float | None
    package_quantity: float | None
    billing_units: float | None
    billing_units_per_package: float | None


def read_crosswalk(path: Path) -> ParsedFile[CrosswalkRow]:
    """Parse an ASP (or NOC) NDC-HCPCS crosswalk; the effective period comes from its preamble."""
    path = Path(path)
    table = read_tabular(path, "crosswalk_columns.csv", KIND)
    start, end = effective_period(table.preamble)
    rows = unique_rows(path, "crosswalk_columns.csv", ((record, _row(record)) for record in table.records))
    meta = table.meta | drug_series(table) | edition_meta("crosswalk", path.name, table.preamble)
    return ParsedFile("crosswalk", path, rows, effective_start=start, effective_end=end, meta=meta)


def _row(record: Record) -> CrosswalkRow:
    code = drug_code(record)
    return CrosswalkRow(
        code=code,
        short_description=drug_description(record, code),
        labeler=record.text("labeler"),
        ndc=_ndc(record),
        drug_name=record.text("drug_name"),
        dosage=record.text("dosage"),
        package_size=record.amount("package_size"),
        package_quantity=record.amount("package_quantity"),
        billing_units=record.amount("billing_units"),
        billing_units_per_package=record.amount("billing_units_per_package"),
    )


def _ndc(record: Record) -> str:
    # Kept as written: besides 5-4-2 NDCs the file lists alternate ids (e.g. "PS12345") in free form.
    ndc = record.text("ndc")
    if ndc is None:
        raise record.error("ndc", "missing NDC")
    return ndc
