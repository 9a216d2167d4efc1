"""Facts from the ASP Pricing File: the Medicare Part B payment limit per billing unit, and its changes."""

from __future__ import annotations

import re

from .model import AspFacts, UnitRule
from .snapshot import VersionedRow

__all__ = ["asp_facts", "parse_dosage", "unit_rule"]

_DOSAGE = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*([A-Za-z][A-Za-z .]*?)\s*$")
# A drug descriptor ends with its billing unit: "Injection, belinostat, 10 mg".
_DESCRIPTOR_UNIT = re.compile(
    r",\s*([0-9]*\.?[0-9]+)\s*(mg|mcg|g|ml|units?|iu|meq|mci|sq cm)\s*$", re.IGNORECASE
)


def parse_dosage(text: str | None) -> tuple[float, str] | None:
    """ "10 MG" -> (10.0, "MG"); free text such as "1 EACH" parses too; None when there is no amount."""
    if not text:
        return None
    match = _DOSAGE.match(text)
    return (float(match.group(1)), match.group(2).strip()) if match else None


def asp_facts(v: VersionedRow) -> AspFacts:
    row = v.row
    parsed = parse_dosage(row["dosage"])
    return AspFacts(
        payment_limit=row["payment_limit_usd"],
        dosage=row["dosage"],
        dosage_amount=parsed[0] if parsed else None,
        dosage_unit=parsed[1] if parsed else None,
        coinsurance_pct=row["coinsurance_pct"],
        notes=row["notes"],
        effective_start=v.file.effective_start,
        effective_end=v.file.effective_end,
        source_file=v.file.file_name,
    )


def unit_rule(asp: AspFacts | None, long_descriptor: str | None) -> UnitRule | None:
    """The billing unit: from the ASP dosage when loaded, else from the end of the long descriptor."""
    if asp and asp.dosage_amount and asp.dosage_unit:
        return UnitRule(asp.dosage_amount, asp.dosage_unit, "ASP Pricing File dosage")
    match = _DESCRIPTOR_UNIT.search(long_descriptor or "")
    if match and float(match.group(1)) > 0:
        return UnitRule(float(match.group(1)), match.group(2), "HCPCS long descriptor")
    return None
