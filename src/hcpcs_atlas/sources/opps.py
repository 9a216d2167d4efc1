"""OPPS Addendum B: status indicator, APC and payment rate per code."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import ParsedFile

__all__ = ["OppsRow", "read_opps"]


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
    raise NotImplementedError
