"""Every figure of the facts record on a real payer file equals an independent numpy computation.

The independent side reads the HealthSCOPE in-network file with gzip + json (not the project's streaming
reader), applies the rules of docs/methodology.md (distinct observations, dollar types, expiry, suspect
units) and computes with numpy. The facts carry exact floats: J9032's p25 is 51.565, not 51.56.
"""

from __future__ import annotations

import csv
import gzip
import json
import re
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from hcpcs_atlas.cli import main
from hcpcs_atlas.data import lookup
from hcpcs_atlas.facts import CodeFacts, FactsBuilder
from hcpcs_atlas.facts.model import Benchmarks
from hcpcs_atlas.render import render_html, render_markdown
from hcpcs_atlas.store import Store
from hcpcs_atlas.writer import write_publication

from .helpers import ASP, assert_dollars_traceable

HEALTHSCOPE = "tic/real/healthscope-benefits_in-network-rates_2023-02-01.json.gz"
CODES = ("J9032", "J9330")
DOLLAR = {"negotiated", "derived", "fee schedule"}


@pytest.fixture(scope="module")
def facts(
    real_store: Path, shared_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, CodeFacts]:
    import shutil

    db = tmp_path_factory.mktemp("exact") / "atlas.duckdb"
    shutil.copy(real_store, db)
    result = CliRunner().invoke(
        main, ["--db", str(db), "ingest", "tic", str(shared_data / HEALTHSCOPE), "--codes", ",".join(CODES)]
    )
    assert result.exit_code == 0, result.output
    with Store(db, read_only=True) as store:
        builder = FactsBuilder(store)
        return {code: builder.build(code) for code in CODES}


def _medicare(shared_data: Path, code: str) -> float:
    with (shared_data / ASP).open(encoding="latin-1", newline="") as fh:
        return next(float(row[3]) for row in csv.reader(fh) if row and row[0] == code)


def _observations(shared_data: Path, code: str, medicare: float) -> list[dict[str, Any]]:
    """Distinct dollar observations kept for benchmarks, straight from the JSON."""
    with gzip.open(shared_data / HEALTHSCOPE, "rt", encoding="utf-8") as fh:
        doc = json.load(fh)
    updated = date.fromisoformat(doc["last_updated_on"])
    groups = {ref["provider_group_id"]: ref["provider_groups"] for ref in doc["provider_references"]}
    sites = lookup("place_of_service_groups.csv", "service_code", "site_group")
    seen: dict[tuple[Any, ...], dict[str, Any]] = {}
    for item in doc["in_network"]:
        if item["billing_code"] != code:
            continue
        for rate in item["negotiated_rates"]:
            providers = [g for ref in rate["provider_references"] for g in groups[ref]]
            for price in rate["negotiated_prices"]:
                value = float(price["negotiated_rate"])
                if price["negotiated_type"].lower() not in DOLLAR:
                    continue
                if date.fromisoformat(price["expiration_date"][:10]) < updated:
                    continue
                if not 0.05 * medicare <= value <= 20 * medicare:
                    continue
                mods = tuple(
                    sorted(m for m in price.get("billing_code_modifier", []) if m.strip() not in ("", "00"))
                )
                pos = tuple(sorted(price.get("service_code") or []))
                for group in providers:
                    key = (group["tin"]["value"], price["billing_class"], value, mods, pos)
                    obs = seen.setdefault(
                        key,
                        {
                            "rate": value,
                            "class": price["billing_class"],
                            "sites": {sites.get(p, "other") for p in pos} or {"not specified"},
                            "tin": group["tin"]["value"],
                            "npis": set(),
                        },
                    )
                    obs["npis"].update(n for n in group["npi"] if n)
    return list(seen.values())


def _assert_benchmarks(b: Benchmarks, rates: list[float]) -> None:
    values = np.array(rates, dtype=float)
    assert b.n_rates == len(values)
    expected = {
        "min": values.min(),
        "p10": np.percentile(values, 10),
        "p25": np.percentile(values, 25),
        "median": np.percentile(values, 50),
        "p75": np.percentile(values, 75),
        "p90": np.percentile(values, 90),
        "max": values.max(),
    }
    for name, value in expected.items():
        assert abs(getattr(b, name) - float(value)) <= 1e-9, name


@pytest.mark.parametrize("code", CODES)
def test_every_payer_figure_equals_numpy(facts: dict[str, CodeFacts], shared_data: Path, code: str) -> None:
    f = facts[code]
    medicare = _medicare(shared_data, code)
    assert f.medicare.asp is not None and f.medicare.asp.payment_limit == medicare
    obs = _observations(shared_data, code, medicare)
    assert obs, "the file has rates for the code"
    [payer] = f.payers
    assert payer.benchmarks is not None
    _assert_benchmarks(payer.benchmarks, [o["rate"] for o in obs])
    expected_pct = float(np.median([o["rate"] for o in obs])) / medicare * 100
    assert payer.pct_of_medicare_median is not None
    assert abs(payer.pct_of_medicare_median - expected_pct) <= 1e-9
    assert payer.n_tins == len({o["tin"] for o in obs})
    assert payer.n_providers == len({n for o in obs for n in o["npis"]})
    by_class: dict[str, list[float]] = defaultdict(list)
    for o in obs:
        by_class[o["class"]].append(o["rate"])
    assert [g.group for g in payer.by_billing_class] == sorted(by_class)
    for g in payer.by_billing_class:
        _assert_benchmarks(g.benchmarks, by_class[g.group])
        assert g.pct_of_medicare_median is not None
        assert abs(g.pct_of_medicare_median - g.benchmarks.median / medicare * 100) <= 1e-9
    for g in payer.by_site_of_service:
        _assert_benchmarks(g.benchmarks, [o["rate"] for o in obs if g.group in o["sites"]])
    for g in payer.by_plan:
        _assert_benchmarks(g.benchmarks, [o["rate"] for o in obs])


def test_j9032_p25_is_exact(facts: dict[str, CodeFacts]) -> None:
    b = facts["J9032"].payers[0].benchmarks
    assert b is not None and b.p25 == 51.565


def test_publication_shows_each_figure_one_way(facts: dict[str, CodeFacts]) -> None:
    f = facts["J9032"]
    pub = write_publication(f)
    md, html = render_markdown(pub), render_html(pub)
    assert_dollars_traceable(md, f)
    # The chart's axis ticks are round amounts, not figures; everything else on the page is a figure.
    assert_dollars_traceable(re.sub(r'<g class="ticks".*?</g>', "", html, flags=re.S), f)
    assert "$51.57" in md and "$51.56" not in md  # p25 51.565, rounded half up by the renderer only
    assert "$52.47" in md and "$52.474" not in md and "$52.474" not in html  # the ASP limit, one display


def test_overlapping_site_groups_are_said_under_the_table(facts: dict[str, CodeFacts]) -> None:
    """HealthSCOPE lists each J9032 rate for 17 or 32 places of service spanning several site groups."""
    payer = facts["J9032"].payers[0]
    assert payer.benchmarks is not None
    total = payer.benchmarks.n_rates
    counted = sum(g.benchmarks.n_rates for g in payer.by_site_of_service)
    assert (total, counted) == (16, 40)
    md = render_markdown(write_publication(facts["J9032"]))
    assert (
        "_Groups overlap: they count 40 rates in all for the payer's 16 distinct rates, because a rate" in md
    )
    billing = sum(g.benchmarks.n_rates for g in payer.by_billing_class)
    assert billing == total  # billing classes never overlap: no caption there
    assert md.count("_Groups overlap") == 1
