"""Facts from the HCPCS Level II file: descriptor, status, administrative detail and their changes."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from ..data import meaning
from .changes import change_between
from .model import Change, Descriptor, HcpcsDetail, Status
from .snapshot import Comparable, VersionedRow

__all__ = ["descriptor", "detail", "hcpcs_changes", "status"]

# Fields compared between HCPCS file versions, with the label a reader sees.
_TRACKED = {
    "long_description": "long descriptor",
    "short_description": "short descriptor",
    "termination_date": "termination date",
    "pricing_indicators": "pricing indicator",
    "coverage_code": "coverage code",
    "betos": "BETOS",
    "type_of_service": "type of service",
}


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


def hcpcs_changes(
    versions: list[VersionedRow], files_in_order: list[str], comparable: Comparable
) -> list[Change]:
    """What changed for this code between consecutive loaded HCPCS files (including being added)."""
    changes: list[Change] = []
    first_file = versions[0].file.file_name
    if files_in_order and first_file != files_in_order[0]:
        previous = files_in_order[files_in_order.index(first_file) - 1]
        changes.append(_added(versions[0], previous))
    for old, new in pairwise(versions):
        for field, label in _TRACKED.items():
            before, after = _text(old.row[field]), _text(new.row[field])
            if before != after and comparable(old, new, field):
                changes.append(change_between("hcpcs", old, new, label, before, after))
    return changes


def _added(v: VersionedRow, previous_file: str) -> Change:
    return Change(
        "hcpcs", "code", None, "added", previous_file, v.file.file_name, None, v.file.effective_start
    )


def _text(value: Any) -> str | None:
    if value is None or value == []:
        return None
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return " ".join(str(value).split())
