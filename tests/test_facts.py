"""Facts records built from the real CMS files match the files."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from hcpcs_atlas.errors import UnknownCodeError
from hcpcs_atlas.facts import FactsBuilder, facts_schema, to_data
from hcpcs_atlas.store import Store, load_file

from .helpers import OPPS_2026


@pytest.fixture(scope="module")
def builder(real_store: Path) -> Iterator[FactsBuilder]:
    with Store(real_store, read_only=True) as store:
        yield FactsBuilder(store)


def test_j9032_matches_the_files(builder: FactsBuilder) -> None:
    f = builder.build("J9032")
    assert (f.descriptor.long, f.descriptor.short) == (
        "Injection, belinostat, 10 mg",
        "Injection, belinostat, 10mg",
    )
    asp = f.medicare.asp
    assert asp is not None
    assert (asp.payment_limit, asp.dosage, asp.coinsurance_pct) == (52.474, "10 MG", 19.738)
    assert (asp.effective_start, asp.effective_end) == (date(2025, 10, 1), date(2025, 12, 31))
    assert asp.notes == "Inflation-adjusted coinsurance"
    opps = f.medicare.opps
    assert opps is not None and (opps.status_indicator, opps.apc, opps.payment_rate) == ("K", "1658", 46.154)
    assert [(n.ndc, n.billing_units_per_item) for n in f.ndcs] == [("72893-0002-01", 50)]
    assert f.units is not None and (f.units.descriptor_amount, f.units.descriptor_unit) == (10, "MG")
    assert (f.status.active, f.status.added) == (True, date(2016, 1, 1))
    assert [m.modifier for m in f.modifiers] == ["JW", "JZ", "JG", "TB", "PO", "PN"]
    jg = next(m for m in f.modifiers if m.modifier == "JG")
    assert jg.terminated == date(2024, 12, 31)  # from the 2025 HCPCS file's modifier record
    assert "JG" not in [r.modifier for r in f.rules] and date(2023, 7, 1) in [
        r.effective_from for r in f.rules
    ]


def test_j9330_matches_the_files(builder: FactsBuilder) -> None:
    f = builder.build("j9330 ")
    assert f.code == "J9330"
    assert f.medicare.asp is not None and (f.medicare.asp.payment_limit, f.medicare.asp.dosage) == (
        26.712,
        "1 MG",
    )
    assert f.medicare.opps is not None and (f.medicare.opps.apc, f.medicare.opps.payment_rate) == (
        "1168",
        35.2,
    )
    assert len(f.ndcs) == 4 and {n.billing_units_per_item for n in f.ndcs} == {25}


def test_terminated_code_has_date_and_replacement(builder: FactsBuilder) -> None:
    f = builder.build("J9010")
    assert (f.status.active, f.status.terminated, f.status.replacement_codes) == (
        False,
        date(2015, 12, 31),
        ["J0202"],
    )
    assert "J0202" in [r.code for r in f.related.hcpcs]


def test_changes_between_hcpcs_versions(builder: FactsBuilder) -> None:
    changed = builder.build("J0131").changes
    descriptor = next(c for c in changed if c.field == "long descriptor")
    assert descriptor.before == "Injection, acetaminophen, 10 mg"
    assert descriptor.after == "Injection, acetaminophen, not otherwise specified,10 mg"
    added = builder.build("J9011").changes
    # after: the HCPCS add date; to_effective: the period of the file it was first seen in
    assert [(c.kind, c.field, c.after, c.to_effective) for c in added] == [
        ("added", "code", "2025-10-01", date(2025, 10, 1))
    ]


def test_payment_rate_change_between_opps_versions(store_copy: Path, shared_data: Path) -> None:
    with Store(store_copy) as store:
        load_file(store, "opps", shared_data / OPPS_2026)
        f = FactsBuilder(store).build("J9032")
    rate = [c for c in f.changes if c.source == "opps"]
    # The 2026 CSV carries no APC column: that is not a change.
    assert [(c.field, c.before, c.after, c.change_usd, c.change_pct) for c in rate] == [
        ("OPPS payment rate", "46.154", "53.111", 53.111 - 46.154, (53.111 - 46.154) / 46.154 * 100)
    ]
    assert (rate[0].before_usd, rate[0].after_usd) == (46.154, 53.111)
    assert f.medicare.opps is not None and f.medicare.opps.payment_rate == 53.111


def test_unknown_code(builder: FactsBuilder) -> None:
    with pytest.raises(UnknownCodeError, match="ZZ999"):
        builder.build("ZZ999")
    with pytest.raises(UnknownCodeError):
        builder.build("90371")  # in the ASP file, but a CPT code, not in the HCPCS file


def test_missing_facts_are_null_never_placeholders(builder: FactsBuilder) -> None:
    data = to_data(builder.build("J9010"))

    def strings(value: Any) -> list[str]:
        if isinstance(value, dict):
            return [s for v in value.values() for s in strings(v)]
        if isinstance(value, list):
            return [s for v in value for s in strings(v)]
        return [value] if isinstance(value, str) else []

    assert not [s for s in strings(data) if "not available" in s.lower() or s in ("", "None", "nan", "N/A")]
    assert data["medicare"]["asp"] is None and data["related"]["icd10"] == []


DESIGN_KEYS = [
    "code",
    "descriptor.long",
    "descriptor.short",
    "status.added",
    "status.action_effective",
    "status.terminated",
    "status.action_code",
    "medicare.asp.payment_limit",
    "medicare.asp.dosage",
    "medicare.asp.coinsurance_pct",
    "medicare.asp.effective_start",
    "medicare.asp.effective_end",
    "medicare.opps.status_indicator",
    "medicare.opps.apc",
    "medicare.opps.payment_rate",
    "ndcs",
    "payers",
    "provenance",
]


def test_facts_keep_the_documented_keys_and_schema(builder: FactsBuilder) -> None:
    data = to_data(builder.build("J9032"))
    schema = facts_schema()
    for dotted in DESIGN_KEYS:
        node, props = data, schema
        for part in dotted.split("."):
            assert part in node, dotted
            node = node[part]
            props = (
                props["properties"][part] if "properties" in props else props["anyOf"][0]["properties"][part]
            )
    assert set(data) == set(schema["properties"])
    assert {p["source"] for p in data["provenance"]} == {"hcpcs", "asp", "crosswalk", "opps"}


def test_all_codes_build(builder: FactsBuilder) -> None:
    codes = builder.codes()
    assert len(codes) > 8000
    built = list(builder.build_many(codes[:: max(1, len(codes) // 400)]))
    assert all(f.descriptor.long for f in built)


def test_payment_limit_change_quarter_over_quarter(
    store_copy: Path, shared_data: Path, tmp_path: Path
) -> None:
    """A next-quarter file (the real file with its period and J9032's limit edited) yields a dated change."""

    from .helpers import ASP

    text = (shared_data / ASP).read_bytes()
    text = text.replace(
        b"Effective October 1, 2025 through December 31, 2025",
        b"Effective January 1, 2026 through March 31, 2026",
    )
    text = text.replace(b"10 MG,52.474,", b"10 MG,50.000,")
    next_quarter = tmp_path / "2026_Jan_ASP_Pricing_File.csv"
    next_quarter.write_bytes(text)
    with Store(store_copy) as store:
        load_file(store, "asp", next_quarter)
        f = FactsBuilder(store).build("J9032")
    assert f.medicare.asp is not None and f.medicare.asp.payment_limit == 50.0
    assert f.medicare.asp.effective_start == date(2026, 1, 1)
    change = next(c for c in f.changes if c.source == "asp")
    assert (change.before, change.after, change.change_usd, change.change_pct) == (
        "52.474",
        "50.0",
        50.0 - 52.474,
        (50.0 - 52.474) / 52.474 * 100,
    )
    assert (change.from_effective, change.to_effective) == (date(2025, 10, 1), date(2026, 1, 1))
