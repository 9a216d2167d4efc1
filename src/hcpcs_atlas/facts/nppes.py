"""Who bills a code: the NPIs named by its negotiated rates, by NPPES primary taxonomy and practice state.

Any rate source can contribute: a :class:`RateObservation` is one dollar rate (as counted in the payer
benchmarks: dollar types, not expired, not suspect) with the NPIs it names; a :class:`HospitalRate` is one
hospital's counted rate with the state of its address and its type 2 NPIs. Taxonomies count the NPIs of
both; states count payer-file NPIs by NPPES practice state and hospitals by their own address, so a
hospital's rate is never placed twice. NPIs absent from the loaded NPPES files are counted, never guessed.
Definitions in docs/methodology.md.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..store import Store
from ..store.nppes import NppesProvider, providers
from ..store.nucc import taxonomies
from .benchmarks import benchmarks, percentile
from .model import ProviderFacts, StateFacts, TaxonomyFacts

__all__ = ["HospitalRate", "KeptObservations", "RateObservation", "provider_facts"]


@dataclass(frozen=True)
class RateObservation:
    rate: float
    npis: frozenset[int]


@dataclass(frozen=True)
class HospitalRate:
    """A hospital file's counted dollar rate for the code; ``state`` from the hospital's address (None
    when the file does not say), ``npis`` the file's type 2 NPIs."""

    hospital: str
    state: str | None
    rate: float
    npis: frozenset[int] = frozenset()


@dataclass(frozen=True)
class KeptObservations:
    """Payer observations known first by their distinct NPIs: each one's NPIs are read only when NPPES
    knows one of them (50,000 observations need not become Python objects to learn that none is known)."""

    npis: frozenset[int]
    load: Callable[[], Iterable[RateObservation]]


def provider_facts(
    store: Store,
    observations: Iterable[RateObservation] | KeptObservations,
    hospitals: Iterable[HospitalRate] = (),
) -> ProviderFacts:
    placed = list(hospitals)
    placed_npis = {n for h in placed if h.npis for n in h.npis}
    if isinstance(observations, KeptObservations):
        payer_npis = set(observations.npis)
        found = providers(store, payer_npis | placed_npis) if payer_npis | placed_npis else {}
        kept = [o for o in observations.load() if o.npis] if found.keys() & payer_npis else []
    else:
        kept = [o for o in observations if o.npis]
        payer_npis = {n for o in kept for n in o.npis}
        found = providers(store, payer_npis | placed_npis) if payer_npis | placed_npis else {}
    billing = kept + [RateObservation(h.rate, h.npis) for h in placed if h.npis]
    npis = payer_npis | placed_npis
    return ProviderFacts(
        n_npis=len(npis),
        n_npis_not_in_nppes=len(npis - found.keys()),
        taxonomies=_taxonomies(store, billing, found),
        states=_states(kept, {n: p for n, p in found.items() if n in payer_npis}, placed),
    )


def _median(values: list[float]) -> float | None:
    return percentile(sorted(values), 50) if values else None


def _taxonomies(
    store: Store, kept: list[RateObservation], found: dict[int, NppesProvider]
) -> list[TaxonomyFacts]:
    by_taxonomy: dict[str, set[int]] = defaultdict(set)
    for npi, provider in found.items():
        if provider.primary_taxonomy:
            by_taxonomy[provider.primary_taxonomy].add(npi)
    if not by_taxonomy:
        return []
    names = taxonomies(store, by_taxonomy)
    result = []
    for code, npis in by_taxonomy.items():
        meaning = names.get(code)
        result.append(
            TaxonomyFacts(
                taxonomy=code,
                display_name=meaning.display_name if meaning else None,
                classification=meaning.classification if meaning else None,
                specialization=meaning.specialization if meaning else None,
                n_npis=len(npis),
                share=len(npis) / len(found),
                median_rate=_median([o.rate for o in kept if o.npis & npis]),
            )
        )
    return sorted(result, key=lambda t: (-t.n_npis, t.taxonomy))


def _states(
    kept: list[RateObservation], found: dict[int, NppesProvider], hospitals: list[HospitalRate]
) -> list[StateFacts]:
    npis_in: dict[str, set[int]] = defaultdict(set)
    for npi, provider in found.items():
        if provider.practice_state:
            npis_in[provider.practice_state].add(npi)
    hospitals_in: dict[str, list[HospitalRate]] = defaultdict(list)
    for h in hospitals:
        if h.state:
            hospitals_in[h.state].append(h)
    states = []
    for state in sorted(npis_in.keys() | hospitals_in.keys()):
        here = npis_in.get(state, set())
        rates = [o.rate for o in kept if o.npis & here] + [h.rate for h in hospitals_in.get(state, [])]
        states.append(
            StateFacts(
                state=state,
                n_npis=len(here),
                n_hospitals=len({h.hospital for h in hospitals_in.get(state, [])}),
                benchmarks=benchmarks(rates) if rates else None,
            )
        )
    return states
