"""Providers facts: a TiC file whose NPIs are in a generated NPPES file gives exact taxonomy and state figures."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from pathlib import Path

from hcpcs_atlas.facts import FactsBuilder
from hcpcs_atlas.facts.benchmarks import benchmarks, percentile
from hcpcs_atlas.facts.tic import DOLLAR_TYPES
from hcpcs_atlas.sources.tic import RateRow
from hcpcs_atlas.store import Store, load_file
from hcpcs_atlas.store.nppes import load_nppes
from hcpcs_atlas.store.tic import ingest_tic
from hcpcs_atlas.synth.nppes import NppesProvider, NppesSynthOptions, write_nppes
from hcpcs_atlas.synth.tic import TicSynthOptions, write_in_network

CODE = "J9032"
TAXONOMIES = ("207RX0202X", "207RH0003X", "261QX0203X")
STATES = ("TX", "CA", "NY", "FL")


def _kept(rows: list[RateRow]) -> dict[tuple[object, ...], RateRow]:
    """The dollar observations the payer benchmarks count: one per distinct key, not expired."""
    kept: dict[tuple[object, ...], RateRow] = {}
    for r in rows:
        if r.billing_code != CODE or r.negotiated_type.lower() not in DOLLAR_TYPES:
            continue
        if r.expiration_date and date.fromisoformat(r.expiration_date) < date(2025, 10, 1):
            continue
        mods = tuple(sorted(m for m in r.modifiers if m.strip() not in ("", "00")))
        kept.setdefault((r.tin_value, r.billing_class, r.negotiated_rate, mods, r.service_codes), r)
    return kept


def _provider(npi: int) -> NppesProvider:
    # NPIs ending in 7 are left out of NPPES: they must be counted as not found
    return NppesProvider(npi, "1", (TAXONOMIES[npi % 3], "207Q00000X"), 0, STATES[npi % 4], "770901243", "X")


def test_taxonomy_counts_and_state_benchmarks(shared_data: Path, store_copy: Path, tmp_path: Path) -> None:
    tic = write_in_network(
        tmp_path / "in-network.json",
        TicSynthOptions(seed=5, target_codes=(CODE,), items_per_target=6, rate_ranges={CODE: (40.0, 80.0)}),
    )
    kept = _kept(tic.rows)
    npis = {n for r in kept.values() for n in r.npis if n}
    in_nppes = {n for n in npis if n % 10 != 7}
    nppes = write_nppes(
        tmp_path / "npidata.csv",
        NppesSynthOptions(rows=200, providers=tuple(_provider(n) for n in sorted(in_nppes))),
    )
    with Store(store_copy) as store:
        ingest_tic(store, [str(tic.path)], {CODE}.__contains__)
        load_nppes(store, nppes.path)
        load_file(store, "nucc", shared_data / "nucc/nucc_taxonomy_251.csv")
        facts = FactsBuilder(store).build(CODE)

    p = facts.providers
    assert len(npis) >= 8 and npis - in_nppes  # enough NPIs to mean something, and some not in NPPES
    assert (p.n_npis, p.n_npis_not_in_nppes) == (len(npis), len(npis - in_nppes))
    by_taxonomy: dict[str, set[int]] = defaultdict(set)
    for n in in_nppes:
        by_taxonomy[TAXONOMIES[n % 3]].add(n)
    want = sorted(by_taxonomy.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    assert [(t.taxonomy, t.n_npis) for t in p.taxonomies] == [(code, len(n)) for code, n in want]
    for t in p.taxonomies:
        group = by_taxonomy[t.taxonomy]
        assert t.share == len(group) / len(in_nppes)
        rates = sorted(r.negotiated_rate for r in kept.values() if set(r.npis) & group)
        assert t.median_rate == percentile(rates, 50)
    onc = next(t for t in p.taxonomies if t.taxonomy == "207RX0202X")
    assert (onc.display_name, onc.classification, onc.specialization) == (
        "Medical Oncology Physician",
        "Internal Medicine",
        "Medical Oncology",
    )

    by_state: dict[str, set[int]] = defaultdict(set)
    for n in in_nppes:
        by_state[STATES[n % 4]].add(n)
    assert [s.state for s in p.states] == sorted(by_state)
    for s in p.states:
        assert (s.n_npis, s.n_hospitals) == (len(by_state[s.state]), 0)
        rates = [r.negotiated_rate for r in kept.values() if set(r.npis) & by_state[s.state]]
        assert s.benchmarks == benchmarks(rates)
    sources = {f.source for f in facts.provenance}
    assert {"nppes", "nucc", "tic"} <= sources
    assert facts.related.taxonomies == [t.taxonomy for t in p.taxonomies]


def test_no_rates_no_providers(store_copy: Path) -> None:
    with Store(store_copy) as store:
        p = FactsBuilder(store).build(CODE).providers
    assert (p.n_npis, p.n_npis_not_in_nppes, p.taxonomies, p.states) == (0, 0, [], [])


def test_hospitals_plug_in(shared_data: Path, tmp_path: Path) -> None:
    """Hospital files add their type 2 NPIs as observations and their states with hospital counts."""
    from hcpcs_atlas.facts.nppes import HospitalRate, RateObservation, provider_facts

    hospital_npi = NppesProvider(1999999991, "2", ("282N00000X",), 0, "NC", "275140000", "CHAPEL HILL")
    synth = write_nppes(tmp_path / "n.csv", NppesSynthOptions(rows=10, providers=(hospital_npi,)))
    with Store(tmp_path / "a.duckdb") as store:
        load_nppes(store, synth.path)
        facts = provider_facts(
            store,
            [RateObservation(55.09, frozenset({1999999991}))],
            [HospitalRate("UNC Hospitals", "NC", 55.09), HospitalRate("UNC Hospitals", "NC", 61.0),
             HospitalRate("MD Anderson", "TX", 70.0)],
        )  # fmt: skip
    assert [(s.state, s.n_npis, s.n_hospitals) for s in facts.states] == [("NC", 1, 1), ("TX", 0, 1)]
    nc = facts.states[0].benchmarks
    assert nc is not None and (nc.n_rates, nc.median) == (3, 55.09)
    assert [(t.taxonomy, t.n_npis, t.share, t.median_rate) for t in facts.taxonomies] == [
        ("282N00000X", 1, 1.0, 55.09)
    ]


def test_a_hospital_rate_counts_once_in_its_state(tmp_path: Path) -> None:
    """A hospital's type 2 NPI names a taxonomy, but its rate is placed by the hospital's address only."""
    from hcpcs_atlas.facts.nppes import HospitalRate, provider_facts

    hospital_npi = NppesProvider(1999999991, "2", ("282N00000X",), 0, "NC", "275140000", "CHAPEL HILL")
    synth = write_nppes(tmp_path / "n.csv", NppesSynthOptions(rows=10, providers=(hospital_npi,)))
    with Store(tmp_path / "a.duckdb") as store:
        load_nppes(store, synth.path)
        npis = frozenset({1999999991, 1888888885})
        facts = provider_facts(
            store, [], [HospitalRate("UNC", "NC", 50.0, npis), HospitalRate("UNC", "NC", 70.0, npis),
                        HospitalRate("Nowhere", None, 90.0)],
        )  # fmt: skip
    assert (facts.n_npis, facts.n_npis_not_in_nppes) == (2, 1)
    assert [(s.state, s.n_npis, s.n_hospitals) for s in facts.states] == [("NC", 0, 1)]
    nc = facts.states[0].benchmarks
    assert nc is not None and (nc.n_rates, nc.median) == (2, 60.0)
    assert [(t.taxonomy, t.n_npis, t.median_rate) for t in facts.taxonomies] == [("282N00000X", 1, 60.0)]
