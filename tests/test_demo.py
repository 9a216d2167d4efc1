"""``hcpcs-atlas demo`` runs offline on the project's own inputs and shows every part of a publication."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hcpcs_atlas.demo import DEMO_CODES, run_demo
from hcpcs_atlas.facts import FactsBuilder
from hcpcs_atlas.store import Store

from .helpers import assert_dollars_traceable


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "out"
    run_demo(out)
    return out


def test_demo_writes_every_publication(demo: Path) -> None:
    pubs = demo / "publications"
    for code in DEMO_CODES:
        for fmt in ("md", "html", "json", "pdf"):
            assert (pubs / f"{code}.{fmt}").stat().st_size > 0, f"{code}.{fmt}"
    assert [e["code"] for e in json.loads((pubs / "index.json").read_text())] == DEMO_CODES


def test_demo_payer_landscape(demo: Path) -> None:
    md = (demo / "publications" / "J9032.md").read_text(encoding="utf-8")
    for payer in ("Aetna", "Blue Cross Blue Shield", "Cigna", "UnitedHealthcare"):
        assert f"\n| {payer} | " in md
    assert "demo-synthetic-aetna-in-network.json.gz" in md
    html = (demo / "publications" / "J9032.html").read_text(encoding="utf-8")
    assert "<svg" in html and "Medicare ASP limit $52.47" in html
    with Store(demo / "atlas.duckdb", read_only=True) as store:
        builder = FactsBuilder(store)
        for code in DEMO_CODES:
            facts = builder.build(code)
            assert_dollars_traceable(
                (demo / "publications" / f"{code}.md").read_text(encoding="utf-8"), facts
            )
        bcbs = next(p for p in builder.build("J9032").payers if p.payer == "Blue Cross Blue Shield")
    assert {g.group for g in bcbs.by_plan} == {"Anthem", "Florida Blue"}


def test_demo_shows_changes_and_termination(demo: Path) -> None:
    pubs = demo / "publications"
    assert "TERMINATED: J9010 has termination date 2015-12-31" in (pubs / "J9010.md").read_text(
        encoding="utf-8"
    )
    added = "2025-10-01 (HCPCS file period): code added (the HCPCS file's ADD DT 2025-10-01)"
    assert added in (pubs / "J9011.md").read_text(encoding="utf-8")
    assert "(HCPCS file period): long descriptor " in (pubs / "J0131.md").read_text(encoding="utf-8")


def test_demo_hospital_file(demo: Path) -> None:
    """The demo's own v3 tall CSV (written by us) feeds the hospital part, with its per-vial row flagged."""
    md = (demo / "publications" / "J9032.md").read_text(encoding="utf-8")
    assert "### Hospital-reported negotiated rates" in md
    assert "demo-hospital_standardcharges.csv" in md
    assert "Aetna (hospital files)" in (demo / "publications" / "J9032.html").read_text(encoding="utf-8")
    with Store(demo / "atlas.duckdb", read_only=True) as store:
        facts = FactsBuilder(store).build("J9032")
    rates = {p.payer: p for p in facts.hospital_rates}
    assert list(rates) == ["Aetna", "Blue Cross Blue Shield", "Cigna", "UnitedHealthcare", "Humana"]
    uhc = rates["UnitedHealthcare"]
    assert uhc.benchmarks is not None and (uhc.benchmarks.n_rates, uhc.benchmarks.median) == (2, 64.815)
    assert [s.reason for s in uhc.suspects] == ["per package? NDC 72893-0002-01 holds 50 billing units"]
    assert rates["Aetna"].non_dollar == {"percentage": 1}
    assert {b.group for b in uhc.by_segment} == {"Commercial", "Exchange"}
