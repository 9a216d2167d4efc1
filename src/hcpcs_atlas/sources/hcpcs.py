"""The CMS HCPCS Level II alpha-numeric file: fixed-width text, legacy .xls and .xlsx."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from . import ParsedFile

__all__ = ["HcpcsCode", "HcpcsModifier", "read_hcpcs"]


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
    raise NotImplementedError
