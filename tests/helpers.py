"""Helpers shared by tests: real-file paths and a row count of every store table."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from hcpcs_atlas.facts import CodeFacts, to_data
from hcpcs_atlas.store import Store
from hcpcs_atlas.writer.fmt import usd, usd_limit

HCPCS_2020_TXT = "hcpcs/2020/HCPC2020_ANWEB_w_disclaimer.txt"
HCPCS_2020_XLS = "hcpcs/2020/HCPC2020_ANWEB_w_disclaimer.xls"
HCPCS_2025_XLSX = "hcpcs/2025_oct/HCPC2025_OCT_ANWEB_v4.xlsx"
ASP = "asp/2025_Oct_ASP_Pricing_File.csv"
CROSSWALK = "asp/2025_Oct_ASP_NDC-HCPCS_Crosswalk.csv"
OPPS_2023 = "opps/2023_January_Web_Addendum_B.12212022.xlsx"
OPPS_2026 = "opps/softek_derived_Addendum_B_2026-04.csv"


def table_counts(path: Path) -> dict[str, int]:
    with Store(path) as store:
        tables = [
            r[0] for r in store.con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        ]
        counts = {t: store.con.execute(f"SELECT count(*) FROM {t}").fetchone() for t in sorted(tables)}
        return {t: row[0] for t, row in counts.items() if row is not None}


def _numbers(value: Any) -> list[float]:
    if isinstance(value, dict):
        return [n for v in value.values() for n in _numbers(v)]
    if isinstance(value, list):
        return [n for v in value for n in _numbers(v)]
    if isinstance(value, bool):
        return []
    if isinstance(value, int | float):
        return [float(value)]
    if isinstance(value, str) and re.fullmatch(r"-?\d+(\.\d+)?", value):
        return [float(value)]
    return []


def assert_dollars_traceable(text: str, facts: CodeFacts) -> None:
    """Every $ figure shown is a number of the facts record, shown the one way the writer shows it, and
    within half a unit of its last shown digit of that number (checked without the writer's rounding)."""
    known = {abs(n) for n in _numbers(to_data(facts))}
    # Medicare payment limits and rates show to the tenth of a cent, as CMS publishes them ($52.474).
    displays = {usd(k) for k in known} | {usd_limit(k) for k in known}
    for amount in re.findall(r"\$[\d,]+(?:\.\d+)?", text):
        assert amount in displays, f"{amount} is not a figure of the facts as the writer shows it"
        digits = amount[1:].replace(",", "")
        half_unit = 0.5 * 10 ** -len(digits.partition(".")[2])
        assert any(abs(k - float(digits)) <= half_unit + 1e-12 for k in known), (
            f"{amount} is not in the facts"
        )


def reference_payer_facts(
    store: Store, code: str, medicare: float | None, npis_only: bool = False
) -> list[Any]:
    """Payer facts computed in Python from the raw rate rows (``rate_observations``), as facts did before
    core_tic_observations: the independent computation the derived table must equal."""
    from collections import defaultdict
    from datetime import date

    from hcpcs_atlas.data import lookup, payer_order
    from hcpcs_atlas.facts.benchmarks import benchmarks, pct_of
    from hcpcs_atlas.facts.model import Breakdown, PayerFacts, PayerSource
    from hcpcs_atlas.facts.tic import DOLLAR_TYPES, SUSPECT_HIGH, SUSPECT_LOW
    from hcpcs_atlas.store.tic import file_sources, rate_observations

    def is_expired(expiration: str | None, updated: date | None) -> bool:
        try:
            return bool(expiration and updated and date.fromisoformat(expiration[:10]) < updated)
        except ValueError:
            return False

    groups = lookup("place_of_service_groups.csv", "service_code", "site_group")
    payers: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"obs": {}, "expired": set(), "non_dollar": defaultdict(set), "files": set()}
    )
    for (
        payer,
        tin,
        bclass,
        rate,
        ntype,
        mods,
        pos,
        npis,
        expiration,
        updated,
        plan,
        file_id,
    ) in rate_observations(store, code):
        key = (tin, bclass, rate, tuple(sorted(m for m in mods or [] if m.strip() not in ("", "00"))),
               tuple(sorted(pos or [])))  # fmt: skip
        acc = payers[payer]
        acc["files"].add(file_id)
        if ntype not in DOLLAR_TYPES:
            acc["non_dollar"][ntype].add(key)
        elif is_expired(expiration, updated):
            acc["expired"].add(key)
        else:
            sites = frozenset(groups.get(p, "other") for p in key[4]) or frozenset({"not specified"})
            obs = acc["obs"].setdefault(key, (rate, bclass or "not specified", sites, set(), set(), tin))
            obs[3].add(plan)
            obs[4].update(n for n in npis or [] if n)

    def breakdown(kept: list[Any], keys: Any) -> list[Breakdown]:
        grouped: dict[str, list[float]] = defaultdict(list)
        for o in kept:
            for k in keys(o):
                grouped[k].append(o[0])
        return [
            Breakdown(n, b := benchmarks(grouped[n]), pct_of(b.median, medicare)) for n in sorted(grouped)
        ]

    result = []
    for payer, acc in payers.items():
        limits = (SUSPECT_LOW * medicare, SUSPECT_HIGH * medicare) if medicare else None
        kept = [o for o in acc["obs"].values() if limits is None or limits[0] <= o[0] <= limits[1]]
        overall = benchmarks([o[0] for o in kept]) if kept else None
        result.append(
            PayerFacts(
                payer=payer,
                benchmarks=overall,
                pct_of_medicare_median=pct_of(overall.median, medicare) if overall else None,
                by_billing_class=breakdown(kept, lambda o: [o[1]]),
                by_site_of_service=breakdown(kept, lambda o: sorted(o[2])),
                by_plan=breakdown(kept, lambda o: sorted(o[3])),
                n_providers=len({n for o in kept for n in o[4]}),
                n_tins=len({o[5] for o in kept if o[5]}),
                n_suspect_rates=len(acc["obs"]) - len(kept),
                n_expired_excluded=len(acc["expired"]),
                non_dollar_rates={k: len(v) for k, v in sorted(acc["non_dollar"].items())},
                source_files=[PayerSource(*row) for _, row in file_sources(store, acc["files"])],
            )
        )
    if npis_only:
        return [  # (rate, sorted NPIs) of each kept observation naming NPIs
            (o[0], sorted(o[4]))
            for acc in payers.values()
            for o in acc["obs"].values()
            if o[4] and (not medicare or SUSPECT_LOW * medicare <= o[0] <= SUSPECT_HIGH * medicare)
        ]
    return sorted(result, key=lambda f: payer_order(f.payer))


def reference_npi_observations(store: Store, code: str, medicare: float | None) -> list[Any]:
    return sorted(reference_payer_facts(store, code, medicare, npis_only=True))


def assert_tic_facts_match_raw_rows(store: Store) -> None:
    """Every code's payer facts (summarised in SQL) equal the computation in Python from the raw rows
    (without a Medicare amount, and with one that makes some rates suspect), NPI observations too."""
    from hcpcs_atlas.facts.tic import npi_observations, payer_facts
    from hcpcs_atlas.store.tic import codes_with_rates

    codes = codes_with_rates(store)
    for code in sorted(codes):
        for medicare in (None, 40.0, 500.0):
            assert payer_facts(store, code, medicare) == reference_payer_facts(store, code, medicare), code
            got = sorted((o.rate, sorted(o.npis)) for o in npi_observations(store, code, medicare))
            assert got == reference_npi_observations(store, code, medicare), code


def tic_pure() -> list[tuple[Any, str, Any]]:
    """Where the TiC reader holds its C accelerators, each with what it is without them: (module,
    attribute, pure Python's value). A test that runs "as without a C compiler" sets all of them."""
    from hcpcs_atlas.sources.tic import columns, doc, scan, split

    return [
        (columns, "_FLATTEN", None),
        (scan, "_HITS", None),
        (split, "_WHOLE_END", None),
        (doc, "_count_key", bytearray.count),
    ]
