"""Who bills a code: the NPIs named by its negotiated rates, by NPPES primary taxonomy and practice state.

Any rate source can contribute: a :class:`RateObservation` is one dollar rate (as counted in the payer
benchmarks: dollar types, not expired, not suspect) with the NPIs it names; a :class:`HospitalRate` is one
hospital's rate with the state of its address. NPIs absent from the loaded NPPES files are counted, never
guessed. Definitions in docs/methodology.md.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from ..store import Store
from ..store.nppes import NppesProvider, providers
from ..store.nucc import taxonomies
from .benchmarks import benchmarks, percentile
from .model import ProviderFacts, StateFacts, TaxonomyFacts

__all__ = ["HospitalRate", "RateObservation", "provider_facts"]


@dataclass(frozen=True)
class RateObservation:
    rate: float
    npis: frozenset[int]


@dataclass(frozen=True)
class HospitalRate:
    """A hospital file's dollar rate for the code; ``state`` from the hospital's address."""

    hospital: str
    state: str
    rate: float


def provider_facts(
    store: Store, observations: Iterable[RateObservation], hospitals: Iterable[HospitalRate] = ()
) -> ProviderFacts:
    kept = [o for o in observations if o.npis]
    npis = {n for o in kept for n in o.npis}
    found = providers(store, npis) if npis else {}
    return ProviderFacts(
        n_npis=len(npis),
        n_npis_not_in_nppes=len(npis - found.keys()),
        taxonomies=_taxonomies(store, kept, found),
        states=_states(kept, found, list(hospitals)),
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
