"""Payer benchmarks from hospitals' price files (definitions: docs/methodology.md, "Hospital-reported").

An observation is one distinct (hospital file, code, payer as the hospital names it, plan_name,
billing_class, setting, sorted modifiers, negotiated dollar). It counts in the dollar figures when
0.05 <= dollar / ASP payment limit per billing unit <= 20 (every dollar counts when the code has no ASP
limit); the rest are suspect: counted and listed with the reason, never mixed in. Percentages and
algorithms are counted apart and never become dollar figures. Payer and plan segment come from package
data (``hospital_payer_aliases.csv``, ``hospital_plan_segments.csv``), applied when a file is ingested.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ..data import lookup, payer_order
from ..store.hospital import UNKNOWN_SEGMENT, HospitalPlace, HospitalRateRow
from .benchmarks import benchmarks, pct_of
from .model import Breakdown, HospitalCharges, HospitalPayerFacts, HospitalSuspect
from .nppes import HospitalRate

__all__ = [
    "SUSPECT_HIGH",
    "SUSPECT_LOW",
    "address_state",
    "hospital_charges",
    "hospital_provider_rates",
    "hospital_rates",
    "ndc_542",
]

SUSPECT_LOW, SUSPECT_HIGH = 0.05, 20.0
PACKAGE_LOW, PACKAGE_HIGH = 0.5, 2.0
NOT_A_MODIFIER = frozenset({"", "00"})
_NDC = re.compile(r"(\d{4,5})-(\d{3,4})-(\d{1,2})")
_DIGITS = re.compile(r"\d{11}")
#: "Chapel Hill, NC 27514", "Houston, TX  77030-4009", "Oak Bluffs MA 02557-1477": state, then ZIP, at the end.
_STATE_ZIP = re.compile(r"\b([A-Za-z]{2})[\s,]+\d{5}(?:-\d{4})?\s*$")
_NPI = re.compile(r"\d{10}")


def ndc_542(text: str | None) -> str | None:
    """An NDC as hospitals write it (``72893000201``, ``72893-002-01 [331056]``) in 5-4-2 form."""
    if not text:
        return None
    if match := _NDC.search(text):
        a, b, c = match.groups()
        return f"{a.zfill(5)}-{b.zfill(4)}-{c.zfill(2)}"
    if match := _DIGITS.search(text.replace("-", "")):
        d = match.group(0)
        return f"{d[:5]}-{d[5:9]}-{d[9:]}"
    return None


@dataclass
class _Payer:
    observations: dict[tuple[object, ...], HospitalRateRow] = field(default_factory=dict)
    non_dollar: dict[str, set[tuple[object, ...]]] = field(default_factory=lambda: defaultdict(set))


def _collect(rows: Iterable[HospitalRateRow]) -> dict[str, _Payer]:
    payers: dict[str, _Payer] = defaultdict(_Payer)
    for r in rows:
        if r.payer is None:
            continue
        mods = tuple(m for m in r.modifiers if m.strip() not in NOT_A_MODIFIER)
        key = (r.file_id, r.payer_name, r.plan_name, r.billing_class, r.setting, mods)
        acc = payers[r.payer]
        if r.negotiated_usd is not None:
            acc.observations.setdefault((*key, r.negotiated_usd), r)
        if r.negotiated_pct is not None:
            acc.non_dollar["percentage"].add((*key, r.negotiated_pct))
        if r.negotiated_algorithm and r.negotiated_usd is None and r.negotiated_pct is None:
            acc.non_dollar["algorithm"].add((*key, r.negotiated_algorithm))
    return payers


def _counted(dollar: float, medicare: float | None) -> bool:
    return not medicare or SUSPECT_LOW <= dollar / medicare <= SUSPECT_HIGH


def _suspect(r: HospitalRateRow, medicare: float, units: dict[str, float]) -> HospitalSuspect:
    assert r.negotiated_usd is not None
    ratio = r.negotiated_usd / medicare
    ndc = ndc_542(r.ndc)
    per_package = units.get(ndc) if ndc else None
    if per_package and PACKAGE_LOW <= r.negotiated_usd / (medicare * per_package) <= PACKAGE_HIGH:
        reason = f"per package? NDC {ndc} holds {per_package:g} billing units"
    elif ratio > SUSPECT_HIGH:
        reason = "above 20x the ASP payment limit per billing unit"
    else:
        reason = "below 0.05x the ASP payment limit per billing unit"
    return HospitalSuspect(
        hospital=r.hospital, payer_name=r.payer_name or "", plan_name=r.plan_name,
        billing_class=r.billing_class, setting=r.setting, negotiated_usd=r.negotiated_usd,
        ratio_to_medicare=ratio, reason=reason, ndc=ndc, description=r.description,
    )  # fmt: skip


def _breakdown(
    rows: list[HospitalRateRow], key: Callable[[HospitalRateRow], str], medicare: float | None
) -> list[Breakdown]:
    grouped: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        assert r.negotiated_usd is not None
        grouped[key(r)].append(r.negotiated_usd)
    out = []
    for name in sorted(grouped):
        b = benchmarks(grouped[name])
        out.append(Breakdown(name, b, pct_of(b.median, medicare)))
    return out


def _plan(r: HospitalRateRow) -> str:
    return f"{r.payer_name}: {r.plan_name}" if r.plan_name else r.payer_name or r.payer or ""


def _payer(name: str, acc: _Payer, medicare: float | None, units: dict[str, float]) -> HospitalPayerFacts:
    rows = list(acc.observations.values())
    kept = [r for r in rows if r.negotiated_usd is not None and _counted(r.negotiated_usd, medicare)]
    suspects = [_suspect(r, medicare, units) for r in rows if medicare and r not in kept]
    overall = benchmarks([r.negotiated_usd for r in kept if r.negotiated_usd is not None]) if kept else None
    return HospitalPayerFacts(
        payer=name,
        benchmarks=overall,
        n_hospitals=len({r.hospital for r in kept}),
        n_suspect=len(suspects),
        pct_of_medicare_median=pct_of(overall.median, medicare) if overall else None,
        by_hospital=_breakdown(kept, lambda r: r.hospital, medicare),
        by_plan=_breakdown(kept, _plan, medicare),
        by_segment=_breakdown(kept, lambda r: r.segment or UNKNOWN_SEGMENT, medicare),
        non_dollar={kind: len(keys) for kind, keys in sorted(acc.non_dollar.items())},
        suspects=sorted(
            suspects, key=lambda s: (s.hospital, s.payer_name, s.plan_name or "", s.negotiated_usd)
        ),
    )


def hospital_rates(
    rows: Iterable[HospitalRateRow], medicare: float | None, units_per_package: dict[str, float]
) -> list[HospitalPayerFacts]:
    """Per payer; ``medicare`` is the ASP limit per billing unit, ``units_per_package`` {NDC 5-4-2: units}."""
    facts = [_payer(name, acc, medicare, units_per_package) for name, acc in _collect(rows).items()]
    return sorted(facts, key=lambda f: payer_order(f.payer))


def hospital_charges(rows: Iterable[HospitalRateRow], medicare: float | None) -> HospitalCharges | None:
    """Gross charge and discounted cash price across hospitals, one observation per distinct row or item
    (file, description, NDC, billing class, setting, modifiers); a price is per billing unit when it lies
    within 0.05x-20x of the ASP limit (any price when the code has none)."""
    items: dict[tuple[object, ...], HospitalRateRow] = {}
    for r in rows:
        key = (r.file_id, r.description, r.ndc, r.billing_class, r.setting, r.modifiers, r.gross_usd,
               r.discounted_cash_usd)  # fmt: skip
        items.setdefault(key, r)
    if not items:
        return None
    gross = [r.gross_usd for r in items.values() if r.gross_usd is not None]
    cash = [r.discounted_cash_usd for r in items.values() if r.discounted_cash_usd is not None]
    gross_kept = [g for g in gross if _counted(g, medicare)]
    cash_kept = [c for c in cash if _counted(c, medicare)]
    hospitals = {r.hospital for r in items.values()
                 if (r.gross_usd is not None and _counted(r.gross_usd, medicare))
                 or (r.discounted_cash_usd is not None and _counted(r.discounted_cash_usd, medicare))}  # fmt: skip
    return HospitalCharges(
        gross=benchmarks(gross_kept) if gross_kept else None,
        discounted_cash=benchmarks(cash_kept) if cash_kept else None,
        n_hospitals=len(hospitals),
        n_not_per_unit=len(gross) - len(gross_kept) + len(cash) - len(cash_kept),
    )


def address_state(address: str) -> str | None:
    """The US state (or territory) a postal address ends with, before its ZIP; None when it names none."""
    match = _STATE_ZIP.search(address)
    state = match.group(1).upper() if match else None
    return state if state in lookup("us_states.csv", "code", "name") else None


def _place_state(place: HospitalPlace) -> str | None:
    """One state for the file: the one its addresses name, else its license state; None when they name
    several states and no license state settles it."""
    states = {s for s in map(address_state, place.addresses) if s}
    if len(states) == 1:
        return states.pop()
    license_state = (place.license_state or "").strip().upper()
    return license_state if license_state in lookup("us_states.csv", "code", "name") else None


def hospital_provider_rates(
    rows: Iterable[HospitalRateRow], medicare: float | None, places: dict[int, HospitalPlace]
) -> list[HospitalRate]:
    """Every payer's counted dollar observations (as in :func:`hospital_rates`), placed at the hospital's
    state and named by its type 2 NPIs, for the provider facts."""
    out = []
    for acc in _collect(rows).values():
        for r in acc.observations.values():
            if r.negotiated_usd is None or not _counted(r.negotiated_usd, medicare):
                continue
            place = places.get(r.file_id)
            state = _place_state(place) if place else None
            npis = frozenset(int(n) for n in (place.type_2_npis if place else ()) if _NPI.fullmatch(n))
            out.append(HospitalRate(r.hospital, state, r.negotiated_usd, npis))
    return out
