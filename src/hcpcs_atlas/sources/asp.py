"""The quarterly Medicare Part B ASP Pricing File (payment allowance limits)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import ParsedFile

__all__ = ["AspPrice", "read_asp"]


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
    raise NotImplementedError
