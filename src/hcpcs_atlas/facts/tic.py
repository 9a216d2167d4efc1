"""Payer benchmarks from ingested Transparency-in-Coverage rates (definitions in docs/methodology.md).

An observation is one distinct (billing code, TIN value, billing_class, negotiated_rate, sorted modifiers,
sorted service codes) per payer across all that payer's files. Dollar benchmarks count negotiated_type
negotiated / derived / fee schedule; rates expired before their file's last_updated_on and rates outside
0.05x-20x of the Medicare payment limit (suspect units) are counted but left out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ..data import lookup, payer_order
from ..store import Store
from ..store.tic import RateObservationRow, payer_sources, rate_observations
from .benchmarks import benchmarks, pct_of
from .model import Breakdown, PayerFacts, PayerSource
from .nppes import RateObservation

__all__ = ["DOLLAR_TYPES", "SUSPECT_HIGH", "SUSPECT_LOW", "npi_observations", "payer_facts", "tic_facts"]

DOLLAR_TYPES = frozenset({"negotiated", "derived", "fee schedule"})
SUSPECT_LOW, SUSPECT_HIGH = 0.05, 20.0
NOT_A_MODIFIER = frozenset({"", "00"})
_UNSPECIFIED = "not specified"


@dataclass
class _Obs:
    rate: float
    billing_class: str
    sites: frozenset[str]
    plans: set[str] = field(default_factory=set)
    npis: set[int] = field(default_factory=set)
    tin: str | None = None


@dataclass
class _PayerRows:
    observations: dict[tuple[Any, ...], _Obs] = field(default_factory=dict)
    expired: set[tuple[Any, ...]] = field(default_factory=set)
    non_dollar: dict[str, set[tuple[Any, ...]]] = field(default_factory=lambda: defaultdict(set))
    file_ids: set[int] = field(default_factory=set)


def _expired(expiration: str | None, last_updated: date | None) -> bool:
    if not expiration or last_updated is None:
        return False
    try:
        return date.fromisoformat(expiration[:10]) < last_updated
    except ValueError:
        return False


def _collect(rows: Iterable[RateObservationRow]) -> dict[str, _PayerRows]:
    groups = lookup("place_of_service_groups.csv", "service_code", "site_group")
    payers: dict[str, _PayerRows] = defaultdict(_PayerRows)
    for payer, tin, bclass, rate, ntype, mods, pos, npis, expiration, updated, plan, file_id in rows:
        mods_key = tuple(sorted(m for m in (mods or []) if m.strip() not in NOT_A_MODIFIER))
        pos_key = tuple(sorted(pos or []))
        key = (tin, bclass, rate, mods_key, pos_key)
        acc = payers[payer]
        acc.file_ids.add(file_id)
        if ntype not in DOLLAR_TYPES:
            acc.non_dollar[ntype].add(key)
            continue
        if _expired(expiration, updated):
            acc.expired.add(key)
            continue
        sites = frozenset(groups.get(p, "other") for p in pos_key) or frozenset({_UNSPECIFIED})
        obs = acc.observations.setdefault(key, _Obs(rate, bclass or _UNSPECIFIED, sites, tin=tin))
        obs.plans.add(plan)
        obs.npis.update(n for n in (npis or []) if n)
    return payers


def _breakdown(obs: list[_Obs], keys: Any, medicare: float | None) -> list[Breakdown]:
    grouped: dict[str, list[float]] = defaultdict(list)
    for o in obs:
        for k in keys(o):
            grouped[k].append(o.rate)
    result = []
    for name in sorted(grouped):
        b = benchmarks(grouped[name])
        result.append(Breakdown(name, b, pct_of(b.median, medicare)))
    return result


def _is_suspect(rate: float, medicare: float | None) -> bool:
    if not medicare:
        return False
    return not SUSPECT_LOW * medicare <= rate <= SUSPECT_HIGH * medicare


def _payer(store: Store, payer: str, acc: _PayerRows, medicare: float | None) -> PayerFacts | None:
    kept = [o for o in acc.observations.values() if not _is_suspect(o.rate, medicare)]
    suspects = len(acc.observations) - len(kept)
    non_dollar = {kind: len(keys) for kind, keys in sorted(acc.non_dollar.items())}
    if not (kept or suspects or non_dollar or acc.expired):
        return None
    overall = benchmarks([o.rate for o in kept]) if kept else None
    return PayerFacts(
        payer=payer,
        benchmarks=overall,
        pct_of_medicare_median=pct_of(overall.median, medicare) if overall else None,
        by_billing_class=_breakdown(kept, lambda o: [o.billing_class], medicare),
        by_site_of_service=_breakdown(kept, lambda o: sorted(o.sites), medicare),
        by_plan=_breakdown(kept, lambda o: sorted(o.plans), medicare),
        n_providers=len({n for o in kept for n in o.npis}),
        n_tins=len({o.tin for o in kept if o.tin}),
        n_suspect_rates=suspects,
        n_expired_excluded=len(acc.expired),
        non_dollar_rates=non_dollar,
        source_files=[PayerSource(*row) for row in payer_sources(store, acc.file_ids)],
    )


def payer_facts(store: Store, code: str, medicare: float | None) -> list[PayerFacts]:
    """Per-payer benchmarks for ``code``; ``medicare`` is the ASP payment limit per billing unit."""
    return tic_facts(store, code, medicare)[0]


def tic_facts(
    store: Store, code: str, medicare: float | None
) -> tuple[list[PayerFacts], list[RateObservation]]:
    """The payer benchmarks and the observations they count with their NPIs (for providers), from one
    read of the code's rate rows: reading and collecting 50,000 rows is most of a code's time."""
    collected = _collect(rate_observations(store, code))
    facts = [f for payer, acc in collected.items() if (f := _payer(store, payer, acc, medicare))]
    return sorted(facts, key=lambda f: payer_order(f.payer)), _npi_observations(collected, medicare)


def npi_observations(store: Store, code: str, medicare: float | None) -> list[RateObservation]:
    """The dollar observations the payer benchmarks count, each with the NPIs it names (for providers)."""
    return tic_facts(store, code, medicare)[1]


def _npi_observations(collected: dict[str, _PayerRows], medicare: float | None) -> list[RateObservation]:
    return [
        RateObservation(o.rate, frozenset(o.npis))
        for acc in collected.values()
        for o in acc.observations.values()
        if o.npis and not _is_suspect(o.rate, medicare)
    ]
