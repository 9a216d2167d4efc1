"""Payer benchmarks reproduce an independent computation (numpy) on rows with known answers."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hcpcs_atlas.facts import FactsBuilder
from hcpcs_atlas.facts.benchmarks import percentile
from hcpcs_atlas.store import FileRecord, Store
from hcpcs_atlas.store.tic import insert_rate_rows

MEDICARE = 52.474  # J9032 ASP payment limit, Oct 2025


def _rate(**kw: Any) -> dict[str, Any]:
    row = {
        "billing_code": "J9032",
        "billing_code_type": "HCPCS",
        "negotiation_arrangement": "ffs",
        "negotiated_type": "negotiated",
        "negotiated_rate": 60.0,
        "expiration_date": "9999-12-31",
        "billing_class": "professional",
        "setting": None,
        "service_codes": ["11"],
        "modifiers": [],
        "additional_information": None,
        "provider_group_id": "1",
        "tin_type": "ein",
        "tin_value": "111111111",
        "npis": [1234567890],
    }
    row.update(kw)
    return row


def _add_file(store: Store, name: str, entity: str, payer: str, rows: list[dict[str, Any]]) -> None:
    record = FileRecord("tic", name, name, name.ljust(64, "0"), 1, "json", date(2025, 10, 1), None, {})
    with store.transaction():
        file_id = store.add_file(record, len(rows))
        meta = {"payer": payer, "reporting_entity_name": entity, "last_updated_on": date(2025, 10, 1)}
        store.insert_rows("core_tic_files", [meta], file_id=file_id)
        insert_rate_rows(store, rows, file_id=file_id, payer=payer)


@pytest.fixture()
def store(store_copy: Path) -> Iterator[Store]:
    with Store(store_copy) as opened:
        yield opened


def test_percentile_is_numpy_linear() -> None:
    rng = random.Random(3)
    for n in (1, 2, 3, 10, 101):
        values = sorted(rng.uniform(1, 500) for _ in range(n))
        for q in (0, 10, 25, 50, 75, 90, 100):
            assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)), abs=1e-9)


def test_benchmarks_match_independent_computation(store: Store) -> None:
    rng = random.Random(7)
    aetna: list[dict[str, Any]] = []
    expected: dict[tuple[Any, ...], float] = {}
    for i in range(60):
        rate = round(rng.uniform(40, 120), 2)
        tin = f"{100000000 + i % 17}"
        bclass = "professional" if i % 3 else "institutional"
        pos = ["11"] if i % 2 else ["22", "19"]
        row = _rate(
            negotiated_rate=rate, tin_value=tin, billing_class=bclass, service_codes=pos, npis=[1000 + i, 0]
        )
        aetna.append(row)
        expected[(tin, bclass, rate, (), tuple(sorted(pos)))] = rate
    # Duplicates that must collapse: the same observation again, "00" as a modifier, another file.
    aetna.append(dict(aetna[0], modifiers=["00"]))
    aetna.append(dict(aetna[1], npis=[999]))
    excluded = [
        _rate(negotiated_type="percentage", negotiated_rate=80.0),
        _rate(negotiated_type="per diem", negotiated_rate=900.0),
        _rate(negotiated_rate=61.0, expiration_date="2024-12-31"),
        _rate(negotiated_rate=5000.0, tin_value="999999999"),  # > 20x Medicare: suspect units
        _rate(negotiated_rate=1.0, tin_value="999999998"),  # < 0.05x Medicare
    ]
    _add_file(store, "aetna-1.json", "Aetna Life Insurance Company", "Aetna", aetna[:40] + excluded)
    _add_file(store, "aetna-2.json", "Aetna Health Inc.", "Aetna", aetna[30:])
    _add_file(
        store, "anthem.json", "Anthem Blue Cross", "Blue Cross Blue Shield", [_rate(negotiated_rate=70.0)]
    )

    facts = FactsBuilder(store).build("J9032")
    assert [p.payer for p in facts.payers] == ["Aetna", "Blue Cross Blue Shield"]
    p = facts.payers[0]
    values = np.array(sorted(expected.values()))
    b = p.benchmarks
    assert b is not None and b.n_rates == len(expected) == 60
    for name, q in (("p10", 10), ("p25", 25), ("median", 50), ("p75", 75), ("p90", 90)):
        assert getattr(b, name) == pytest.approx(float(np.percentile(values, q)), abs=1e-9), name
    assert (b.min, b.max) == (values.min(), values.max())
    assert p.pct_of_medicare_median == pytest.approx(float(np.median(values)) / MEDICARE * 100, abs=1e-9)
    assert (p.n_suspect_rates, p.n_expired_excluded) == (2, 1)
    assert p.non_dollar_rates == {"per diem": 1, "percentage": 1}
    assert p.n_tins == 17
    assert p.n_providers == 61  # 60 NPIs + 999; NPI 0 (TIN-level) is not a provider
    assert {g.group for g in p.by_billing_class} == {"institutional", "professional"}
    office = next(g for g in p.by_site_of_service if g.group == "office")
    hospital = next(g for g in p.by_site_of_service if g.group == "outpatient hospital")
    assert office.benchmarks.n_rates + hospital.benchmarks.n_rates == 60
    assert [s.file_name for s in p.source_files] == ["aetna-1.json", "aetna-2.json"]
    bcbs = facts.payers[1]
    assert [g.group for g in bcbs.by_plan] == ["Anthem Blue Cross"]
    assert {pv.source for pv in facts.provenance} >= {"tic"}
