"""The columnar ingest path (Parquet staging, one join in the store) equals the row-object reader."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hcpcs_atlas.sources.tic import read_in_network
from hcpcs_atlas.store import Store
from hcpcs_atlas.store.tic import ingest_tic
from hcpcs_atlas.synth import TicSynthOptions, write_in_network

COLUMNS = (
    "billing_code, billing_code_type, negotiation_arrangement, negotiated_type, negotiated_rate, "
    "expiration_date, billing_class, setting, service_codes, modifiers, additional_information, "
    "provider_group_id, tin_type, tin_value, npis, network_names"
)


def stored_rows(db: Path) -> list[tuple[Any, ...]]:
    with Store(db, read_only=True) as store:
        rows = store.con.execute(f"SELECT {COLUMNS} FROM core_tic_rates").fetchall()
    return sorted((tuple(tuple(v) if isinstance(v, list) else v for v in row) for row in rows), key=repr)


def reader_rows(path: Path, codes: set[str]) -> list[tuple[Any, ...]]:
    rows = read_in_network(path, codes.__contains__).rows
    return sorted(
        ((r.billing_code, r.billing_code_type, r.negotiation_arrangement, r.negotiated_type, r.negotiated_rate,
         r.expiration_date, r.billing_class, r.setting, r.service_codes, r.modifiers, r.additional_information,
         r.provider_group_id, r.tin_type, r.tin_value, r.npis, r.network_names)
        for r in rows),
        key=repr,
    )  # fmt: skip


def price(**fields: Any) -> dict[str, Any]:
    return {"negotiated_type": "negotiated", "negotiated_rate": 10.5, "expiration_date": "9999-12-31",
            "billing_class": "professional", "service_code": ["22", "11"]} | fields  # fmt: skip


ODD_PRICES = [
    price(),
    price(negotiated_rate=True),  # a boolean is no rate
    price(negotiated_rate="12.25"),  # a quoted number is
    price(service_code="11"),  # a bare string is a list of one
    price(service_code=None, billing_code_modifier=["TC", None, "26"]),
    price(negotiated_type=7),  # no type: skipped
    price(expiration_date=20251231, additional_information={"x": 1}),  # a number as text; an object: none
    "not a price",
    price(service_code=[11, "03"]),  # numbers in a code list
    price(negotiated_rate=3),
]


def odd_file(path: Path) -> Path:
    groups = [{"npi": [1234567893, 0], "tin": {"type": "ein", "value": "12-3456789"}}]
    doc = {
        "reporting_entity_name": "Odd Health", "reporting_entity_type": "health insurance issuer",
        "last_updated_on": "2025-01-01", "version": "1.0.0",
        "provider_references": [{"provider_group_id": 690.64462, "provider_groups": groups},
                                {"provider_group_id": 690.6446, "provider_groups": groups[:1]}],
        "in_network": [
            {"negotiation_arrangement": "ffs", "name": "x", "billing_code_type": "HCPCS",
             "billing_code_type_version": "2025", "billing_code": "J9032", "description": "d",
             "negotiated_rates": [{"provider_references": [690.64462, 690.6446, 77], "negotiated_prices": ODD_PRICES},
                                  {"provider_groups": groups, "negotiated_prices": ODD_PRICES[:3]}]},
            {"negotiation_arrangement": "ffs", "name": "y", "billing_code_type": "CPT",
             "billing_code_type_version": "2025", "billing_code": "99213", "description": "d",
             "negotiated_rates": [{"provider_references": [690.64462], "negotiated_prices": [price()]}]},
        ],
    }  # fmt: skip
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def ingest(db: Path, source: Path, codes: set[str]) -> None:
    with Store(db) as store:
        summary = ingest_tic(store, [str(source)], codes.__contains__)
    assert not summary.failed, summary.failed


def test_odd_values_take_the_exact_path(tmp_path: Path) -> None:
    source = odd_file(tmp_path / "odd.json")
    ingest(tmp_path / "atlas.duckdb", source, {"J9032"})
    rows = stored_rows(tmp_path / "atlas.duckdb")
    assert rows == reader_rows(source, {"J9032"})
    # 7 usable prices x 3 providers (2 groups, 1 unresolved id) + 2 usable prices x 1 inline provider
    assert len(rows) == 7 * 3 + 2
    # the float ids stay as written and apart; the unresolved one keeps its rate, without provider
    assert {r[11] for r in rows} == {"690.64462", "690.6446", "77", None}


@pytest.mark.parametrize("refs", ["before", "after"])
def test_synthetic_file_same_rows_as_the_reader(tmp_path: Path, refs: str) -> None:
    options = TicSynthOptions(seed=5, size_bytes=3_000_000, refs=refs, inline_groups=True)  # type: ignore[arg-type]
    source = write_in_network(tmp_path / "in-network.json.gz", options).path
    codes = {"J9032", "J9330"} | {f"A{n:04d}" for n in range(10000)}
    ingest(tmp_path / "atlas.duckdb", source, codes)
    assert stored_rows(tmp_path / "atlas.duckdb") == reader_rows(source, codes)
