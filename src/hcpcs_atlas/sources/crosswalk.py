"""The ASP NDC-HCPCS crosswalk: which NDC packages bill under which code, and how many units each holds."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import ParsedFile

__all__ = ["CrosswalkRow", "read_crosswalk"]


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
    raise NotImplementedError
