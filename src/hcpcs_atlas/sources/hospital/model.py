"""Typed rows of a hospital machine-readable file (45 CFR 180.50; CMS template v2.0-v3.0)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import NamedTuple

__all__ = ["HospitalCharge", "HospitalFile", "iso_date", "split_list"]

_SPLIT = re.compile(r"\s*\|\s*")


class HospitalCharge(NamedTuple):
    """One standard charge of a kept row (tall CSV), row and payer (wide CSV) or item and payer (JSON).

    A charge without a payer carries only the row's gross and discounted cash prices. A tuple: millions
    are made, and a tuple is the cheapest record Python builds."""

    code: str  # the kept code, trimmed and upper-cased
    codes: tuple[tuple[str, str], ...]  # every (code, type) of the row, as written
    description: str | None
    billing_class: str | None  # facility | professional
    setting: str | None  # inpatient | outpatient | both
    drug_unit: float | None  # drug_unit_of_measurement
    drug_type: str | None  # drug_type_of_measurement (ME, ML, UN, GR, EA ...)
    modifiers: tuple[str, ...]  # sorted
    gross: float | None
    discounted_cash: float | None
    minimum: float | None
    maximum: float | None
    payer_name: str | None  # as written (the wide CSV's payer part of the column name)
    plan_name: str | None
    dollar: float | None  # negotiated_dollar / standard_charge_dollar
    percentage: float | None
    algorithm: str | None
    methodology: str | None
    row: int  # CSV line where the record ends, or the JSON item's byte offset (decompressed)

    @property
    def ndc(self) -> str | None:
        return next((c for c, t in self.codes if t.upper() == "NDC"), None)


@dataclass
class HospitalFile:
    """One hospital file: its hospital-level fields and the kept charges (in ``charges`` unless the reader
    handed them to a sink as they came: memory then stays flat)."""

    source: str
    file_name: str
    sha256: str  # of the bytes as stored or fetched
    bytes_read: int
    layout: str  # tall | wide | json
    version: str | None
    hospital_name: str | None
    last_updated_on: str | None  # as written
    location_names: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()
    type_2_npis: tuple[str, ...] = ()
    license_number: str | None = None
    license_state: str | None = None
    rows_seen: int = 0  # data rows (CSV) or standard_charge_information items (JSON)
    charges: list[HospitalCharge] = field(default_factory=list)
    n_charges: int = 0  # charges kept, whether in ``charges`` or handed to a sink

    def keep(self, charges: list[HospitalCharge]) -> None:
        self.n_charges += len(charges)
        if self.sink is None:
            self.charges.extend(charges)
        else:
            self.sink(charges)

    discovery_location: str | None = None  # location-name of the cms-hpt.txt entry that listed the file
    sink: Callable[[list[HospitalCharge]], None] | None = field(default=None, repr=False, compare=False)

    @property
    def last_updated(self) -> date | None:
        return iso_date(self.last_updated_on)


def iso_date(text: str | None) -> date | None:
    """``2026-06-04``, ``07/01/2026`` or ``4/1/2026``: hospitals write both; None when neither."""
    if not text:
        return None
    text = text.strip()
    for fmt in ("%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def split_list(text: str | None) -> tuple[str, ...]:
    """A CSV cell listing several values with ``|`` (locations, addresses, NPIs, modifiers)."""
    if not text:
        return ()
    return tuple(part for part in _SPLIT.split(text.strip()) if part)
