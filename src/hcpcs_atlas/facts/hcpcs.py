"""Facts from the HCPCS Level II file: descriptor, status, administrative detail (changes: facts/history.py)."""

from __future__ import annotations

from typing import Any

from ..data import meaning
from .model import Descriptor, HcpcsDetail, Status
from .snapshot import VersionedRow

__all__ = ["descriptor", "detail", "status"]


def descriptor(v: VersionedRow) -> Descriptor:
    return Descriptor(long=v.row["long_description"], short=v.row["short_description"])


def status(v: VersionedRow) -> Status:
    row = v.row
    terminated = row["termination_date"]
    return Status(
        active=terminated is None,
        added=row["add_date"],
        action_effective=row["action_effective_date"],
        terminated=terminated,
        action_code=row["action_code"],
        action_meaning=meaning("action_code", row["action_code"]),
        replacement_codes=list(row["xrefs"] or []) if terminated else [],
        as_of_file=v.file.file_name,
    )


def detail(v: VersionedRow) -> HcpcsDetail:
    row = v.row
    return HcpcsDetail(
        pricing_indicators=list(row["pricing_indicators"] or []),
        multiple_pricing_indicator=row["multiple_pricing_indicator"],
        coverage_code=row["coverage_code"],
        coverage_meaning=meaning("coverage_code", row["coverage_code"]),
        betos=row["betos"],
        type_of_service=list(row["type_of_service"] or []),
        asc_group=row["asc_group"],
        opps_status_indicator=row["opps_status_indicator"],
        processing_note=row["processing_note"],
        statute=row["statute"],
        xrefs=list(row["xrefs"] or []),
        code_meanings=_meanings(row),
    )


# Record-layout fields whose values have documented meanings, and the column holding them.
_CODED = {
    "betos": "betos",
    "type_of_service": "type_of_service",
    "coverage_code": "coverage_code",
    "pricing_indicator": "pricing_indicators",
    "multiple_pricing_indicator": "multiple_pricing_indicator",
    "action_code": "action_code",
}


def _meanings(row: dict[str, Any]) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for field, column in _CODED.items():
        value = row[column]
        for v in value if isinstance(value, list) else [value]:
            if m := meaning(field, v):
                found.setdefault(field, {})[v] = m
    return found
