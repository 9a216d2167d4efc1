"""Payer benchmarks from ingested Transparency-in-Coverage rates (definitions in docs/methodology.md).

An observation is one distinct (billing code, TIN value, billing_class, negotiated_rate, sorted modifiers,
sorted service codes) per payer across all that payer's files. Dollar benchmarks count negotiated_type
negotiated / derived / fee schedule; rates expired before their file's last_updated_on and rates outside
0.05x-20x of the Medicare payment limit (suspect units) are counted but left out.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from functools import cache, partial
from typing import Any, NamedTuple

import orjson

from ..data import lookup, payer_order
from ..errors import AtlasError
from ..store import Store
from ..store.db import StoreOrOpener, writing
from ..store.tic import PayerSourceRow, file_sources
from ..store.tic_summary import CodeRules, CodeSummary, code_summary, kept_npis, write_summaries
from .benchmarks import pct_of
from .model import Benchmarks, Breakdown, PayerFacts, PayerSource
from .nppes import KeptObservations, RateObservation

__all__ = [
    "DOLLAR_TYPES",
    "NOT_A_MODIFIER",
    "SUSPECT_HIGH",
    "SUSPECT_LOW",
    "medicare_limits",
    "npi_observations",
    "payer_facts",
    "tic_facts",
    "write_tic_summaries",
]

DOLLAR_TYPES = frozenset({"negotiated", "derived", "fee schedule"})
SUSPECT_LOW, SUSPECT_HIGH = 0.05, 20.0
NOT_A_MODIFIER = frozenset({"", "00"})
_UNSPECIFIED = "not specified"


def _expired(expiration: str | None, last_updated: date | None) -> bool:
    if not expiration or last_updated is None:
        return False
    try:
        return date.fromisoformat(expiration[:10]) < last_updated
    except ValueError:
        return False


#: Bump when a rule changes in a way the key below cannot see (the code of _expired, NOT_A_MODIFIER's
#: comparison): stored summaries of other rules are then not read, and rewritten by the next ingest.
RULES_VERSION = "1"


@cache
def _rules() -> CodeRules:
    site_groups = lookup("place_of_service_groups.csv", "service_code", "site_group")
    key = orjson.dumps(
        [RULES_VERSION, sorted(DOLLAR_TYPES), [SUSPECT_LOW, SUSPECT_HIGH], sorted(NOT_A_MODIFIER),
         sorted(site_groups.items()), _UNSPECIFIED]
    )  # fmt: skip
    return CodeRules(
        dollar_types=DOLLAR_TYPES,
        suspect=(SUSPECT_LOW, SUSPECT_HIGH),
        not_a_modifier=lambda m: m.strip() in NOT_A_MODIFIER,
        expired=_expired,
        site_groups=site_groups,
        unspecified=_UNSPECIFIED,
        key=hashlib.sha256(key).hexdigest()[:16],
    )


def medicare_limits(store: Store) -> dict[str, float | None]:
    """The Medicare amount facts passes for each code: the payment limit of its latest ASP row (as
    FactsBuilder reads it; a code without one is left out, which means None)."""
    files = {f.file_id: f for f in store.source_files()}
    latest: dict[str, dict[str, Any]] = {}
    for row in sorted(store.source_rows("asp"), key=lambda r: files[r["file_id"]].order):
        latest[row["code"]] = row
    return {code: row["payment_limit_usd"] for code, row in latest.items()}


#: After an ingest, summaries are written when the codes due hold at most this many times the rows it
#: stored (or it compacted: every row was rewritten anyway); else they wait for the next compaction and
#: facts computes those codes live meanwhile. Writing costs ~5-60 CPU-us per row read (docs/formats.md):
#: a file touching every code of a large store would otherwise pay for the whole store.
AFTER_INGEST_FACTOR = 4
#: Codes with fewer rate rows than this are not stored: the live computation of one is already about as
#: fast as reading a stored summary plus DuckDB's fixed cost (~80 ms CPU at 1,000 rows, ~250 ms at 50,000:
#: docs/formats.md), and writing the many small ones doubled the ingest of the real HealthSCOPE file.
SUMMARY_MIN_ROWS = 5_000


def write_tic_summaries(store: StoreOrOpener, ingested: int | None = None) -> tuple[int, str | None]:
    """Store the payer summary of every code of at least SUMMARY_MIN_ROWS rate rows whose stored one is
    missing or stale, for the Medicare amounts facts will pass: (codes written, the error when it failed).
    After an ingest of ``ingested`` rows, only when the codes due hold at most AFTER_INGEST_FACTOR times
    that (None: whatever they hold). Like compaction it only speeds reads up: a failure leaves every code
    whole, and facts computes the codes without a stored summary live."""
    import duckdb

    limit = None if ingested is None else AFTER_INGEST_FACTOR * ingested
    try:
        with writing(store) as writer:
            medicare = medicare_limits(writer)
            return write_summaries(writer, medicare, _rules(), limit, min_rows=SUMMARY_MIN_ROWS), None
    except (duckdb.Error, AtlasError) as exc:  # e.g. a reader took the store after the last file
        return 0, str(exc).splitlines()[0]


@dataclass
class _Payer:
    """What the store's summary says of one payer (see store/tic_observations.py)."""

    overall: Benchmarks | None = None
    breakdowns: dict[str, dict[str, Benchmarks]] = field(default_factory=lambda: defaultdict(dict))
    counts: dict[str, int] = field(default_factory=dict)
    non_dollar: dict[str, int] = field(default_factory=dict)
    file_ids: set[int] = field(default_factory=set)


def _summary(store: Store, code: str, medicare: float | None) -> tuple[dict[str, _Payer], list[int]]:
    """Per payer what the benchmarks need, and the distinct NPIs of every kept observation."""
    rows = code_summary(store, code, medicare, _rules())
    payers: dict[str, _Payer] = defaultdict(_Payer)
    npis: list[int] = []
    for row in rows:
        if row.payer is None:
            npis = row.npis or []
        else:
            _add(payers[row.payer], row)
    return payers, npis


def _add(acc: _Payer, row: CodeSummary) -> None:
    if row.dim == "file":
        acc.file_ids.add(int(row.n or 0))
    elif row.dim == "all":
        acc.overall = _benchmarks(row.stats)
    elif row.dim == "non-dollar":
        acc.non_dollar[str(row.name)] = int(row.n or 0)
    elif (figures := _benchmarks(row.stats)) is not None:
        acc.breakdowns[row.dim][str(row.name)] = figures
    else:
        acc.counts[row.dim] = int(row.n or 0)


def _benchmarks(stats: list[float] | None) -> Benchmarks | None:
    """The store's [n, min, p10, p25, median, p75, p90, max] (computed as facts.benchmarks does)."""
    if not stats:
        return None
    n, *figures = stats
    return Benchmarks(int(n), *figures)


def _breakdown(grouped: dict[str, Benchmarks], medicare: float | None) -> list[Breakdown]:
    return [
        Breakdown(name, grouped[name], pct_of(grouped[name].median, medicare)) for name in sorted(grouped)
    ]


def _payer(
    sources: list[tuple[int, PayerSourceRow]], payer: str, acc: _Payer, medicare: float | None
) -> PayerFacts | None:
    suspects, expired = acc.counts.get("suspect", 0), acc.counts.get("expired", 0)
    non_dollar = dict(sorted(acc.non_dollar.items()))
    if not (acc.overall or suspects or non_dollar or expired):
        return None
    overall = acc.overall
    return PayerFacts(
        payer=payer,
        benchmarks=overall,
        pct_of_medicare_median=pct_of(overall.median, medicare) if overall else None,
        by_billing_class=_breakdown(acc.breakdowns["billing_class"], medicare),
        by_site_of_service=_breakdown(acc.breakdowns["site"], medicare),
        by_plan=_breakdown(acc.breakdowns["plan"], medicare),
        n_providers=acc.counts.get("providers", 0),
        n_tins=acc.counts.get("tins", 0),
        n_suspect_rates=suspects,
        n_expired_excluded=expired,
        non_dollar_rates=non_dollar,
        source_files=[PayerSource(*row) for file_id, row in sources if file_id in acc.file_ids],
    )


def payer_facts(store: Store, code: str, medicare: float | None) -> list[PayerFacts]:
    """Per-payer benchmarks for ``code``; ``medicare`` is the ASP payment limit per billing unit."""
    return tic_facts(store, code, medicare)[0]


class TicFacts(NamedTuple):
    """A code's payer benchmarks, the observations they count (for providers) and the files they read."""

    payers: list[PayerFacts]
    kept: KeptObservations
    file_ids: set[int]


def tic_facts(store: Store, code: str, medicare: float | None) -> TicFacts:
    """The payer benchmarks and, for providers, the observations they count (one summary query)."""
    summary, npis = _summary(store, code, medicare)
    files = {i for acc in summary.values() for i in acc.file_ids}
    sources = file_sources(store, files)
    facts = [f for payer, acc in summary.items() if (f := _payer(sources, payer, acc, medicare))]
    kept = KeptObservations(frozenset(npis), partial(npi_observations, store, code, medicare))
    return TicFacts(sorted(facts, key=lambda f: payer_order(f.payer)), kept, files)


def npi_observations(store: Store, code: str, medicare: float | None) -> list[RateObservation]:
    """The dollar observations the payer benchmarks count, each with the NPIs it names (for providers)."""
    rows = kept_npis(store, code, medicare, _rules())
    return [RateObservation(rate, frozenset(npis)) for rate, npis in rows]
