"""The NUCC Health Care Provider Taxonomy code set (CSV): what each NPPES taxonomy code means.

Column spellings live in ``data/nucc_columns.csv``; ``Display Name`` and ``Section`` arrived in later
versions of the code set, so they are optional.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from . import ParsedFile
from ._tabular import Record, read_tabular

__all__ = ["TAXONOMY_CODE", "Taxonomy", "read_nucc"]

KIND = "NUCC taxonomy"
#: Nine characters and a closing X, e.g. 207RH0003X.
TAXONOMY_CODE = re.compile(r"^[0-9]{3}[0-9A-Z]{6}X$")
_VERSION = re.compile(r"nucc_taxonomy_(\d)(\d+)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Taxonomy:
    code: str
    grouping: str | None
    classification: str | None
    specialization: str | None
    definition: str | None
    notes: str | None
    display_name: str | None
    section: str | None


def read_nucc(path: Path) -> ParsedFile[Taxonomy]:
    """Parse a NUCC taxonomy CSV; the version (e.g. 25.1) is read from the file name when it has one."""
    path = Path(path)
    table = read_tabular(path, "nucc_columns.csv", KIND)
    rows = [_taxonomy(record) for record in table.records]
    version = _VERSION.search(path.name)
    meta = {**table.meta, "version": f"{version[1]}{version[2][:1]}.{version[2][1:]}" if version else None}
    return ParsedFile("nucc", path, rows, meta=meta)


def _taxonomy(record: Record) -> Taxonomy:
    code = (record.text("code") or "").upper()
    if not TAXONOMY_CODE.match(code):
        raise record.error("code", f"not a taxonomy code: {code!r}")
    return Taxonomy(
        code=code,
        grouping=record.text("grouping"),
        classification=record.text("classification"),
        specialization=record.text("specialization"),
        definition=record.text("definition"),
        notes=record.text("notes"),
        display_name=record.text("display_name"),
        section=record.text("section"),
    )
