"""The synthetic in-network generator: deterministic, the size asked for, and honest known answers."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import orjson
import pytest

from hcpcs_atlas.synth import TicSynthOptions, write_in_network

TARGETS = ("J9032", "J9330")


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    options = TicSynthOptions(seed=4, size_bytes=300_000)
    first = write_in_network(tmp_path / "a.json.gz", options)
    second = write_in_network(tmp_path / "b.json.gz", options)
    other = write_in_network(tmp_path / "c.json.gz", TicSynthOptions(seed=5, size_bytes=300_000))
    digest = [hashlib.sha256(r.path.read_bytes()).hexdigest() for r in (first, second, other)]
    assert digest[0] == digest[1] != digest[2]
    assert first.rows == second.rows != other.rows


@pytest.mark.parametrize("refs", ["before", "after", "none"])
def test_reaches_the_size_and_is_valid_json(tmp_path: Path, refs: str) -> None:
    made = write_in_network(tmp_path / "f.json", TicSynthOptions(size_bytes=500_000, refs=refs))  # type: ignore[arg-type]
    data = made.path.read_bytes()
    assert made.uncompressed_bytes == len(data) >= 500_000
    doc = orjson.loads(data)
    assert len(doc["in_network"]) == made.items
    assert ("provider_references" in doc) == (refs != "none")


def test_known_answers_match_the_document(tmp_path: Path) -> None:
    """Recompute the answers from the parsed document, independently of the generator's bookkeeping."""
    made = write_in_network(tmp_path / "f.json.gz", TicSynthOptions(size_bytes=300_000, version="2.0.0"))
    doc = orjson.loads(gzip.decompress(made.path.read_bytes()))
    groups = {orjson.dumps(r["provider_group_id"]).decode(): r for r in doc["provider_references"]}
    expected = []
    for item in doc["in_network"]:
        code = item["billing_code"].strip().upper()
        if item["billing_code_type"].strip().upper() not in ("HCPCS", "CPT") or code not in TARGETS:
            continue
        for rate in item["negotiated_rates"]:
            for price in rate["negotiated_prices"]:
                for ref in rate["provider_references"]:
                    ref_id = orjson.dumps(ref).decode()
                    for group in groups[ref_id]["provider_groups"]:
                        expected.append((code, price["negotiated_rate"], ref_id, group["tin"]["value"]))
    assert [
        (r.billing_code, r.negotiated_rate, r.provider_group_id, r.tin_value) for r in made.rows
    ] == expected


def test_decoys_are_present(tmp_path: Path) -> None:
    made = write_in_network(tmp_path / "f.json", TicSynthOptions(size_bytes=300_000))
    doc = orjson.loads(made.path.read_bytes())
    bundled = [c["billing_code"] for i in doc["in_network"] for c in i.get("bundled_codes", [])]
    covered = [c["billing_code"] for i in doc["in_network"] for c in i.get("covered_services", [])]
    local = [i["billing_code"] for i in doc["in_network"] if i["billing_code_type"] == "LOCAL"]
    assert set(TARGETS) <= set(bundled) and set(TARGETS) <= set(covered) and set(TARGETS) <= set(local)
    assert made.target_items == 2 * TicSynthOptions().items_per_target


def test_remote_files_and_missing_urls(tmp_path: Path) -> None:
    made = write_in_network(
        tmp_path / "f.json",
        TicSynthOptions(size_bytes=200_000, remote_base_url="http://example.test", missing_remote=True),
    )
    assert sorted(made.remote_files) == ["/provider-refs/4.json", "/provider-refs/5.json"]
    assert made.missing_urls == ["http://example.test/provider-refs/missing-6.json"]
    assert any(r.provider_group_id == "6" and r.tin_value is None for r in made.rows)


def test_plan_name_and_rate_ranges(tmp_path: Path) -> None:
    options = TicSynthOptions(size_bytes=200_000, plan_name="DEMO", rate_ranges={"J9032": (50.0, 60.0)})
    made = write_in_network(tmp_path / "f.json", options)
    assert made.header["plan_name"] == "DEMO"
    dollars = [r.negotiated_rate for r in made.rows if r.negotiated_type != "percentage"]
    by_code = {code: [r.negotiated_rate for r in made.rows if r.billing_code == code and r.negotiated_type != "percentage"]
               for code in TARGETS}  # fmt: skip
    assert dollars and all(50 <= rate <= 60 for rate in by_code["J9032"])
    assert any(rate > 60 for rate in by_code["J9330"])


def test_v2_has_no_inline_groups() -> None:
    with pytest.raises(ValueError, match="provider_references"):
        write_in_network(Path("unused.json"), TicSynthOptions(version="2.0.0", inline_groups=True))


#: The real HealthSCOPE file's shape as ``measure_shape`` gives it (benchmarks/tic_shape.py prints it):
#: the numbers ``REALISTIC`` quotes. The first test proves them on the real file.
REAL_SHAPE = {
    "references": 53,
    "groups": 120,
    "npis_per_group_median": 1,
    "npis_per_group_mean": 230.35,
    "npis_per_group_max": 10_181,
    "groups_of_1000_npis": 5,
    "items": 17_759,
    "level2_item_share": 0.3565,
    "rates_per_item_mean": 5.168,
    "prices_per_rate_mean": 2.309,
    "level2_price_share": 0.2575,
    "npis_per_row_mean": 124.3,
    "level2_npis_per_row_mean": 124.3,
    "level2_rows_per_item": 9.821,
    "level2_heavy_row_share": 0.5337,
    "level2_rows": 62_178,
    "level2_npis": 7_725_956,
    "inline_rate_share": 0.0,
    "references_per_rate_mean": 1.0,
    "tin_ein_share": 1.0,
}
#: How far a generated file may stray from the real one, relative (a small file is a sample of the profile:
#: item kinds and rate sets are drawn per item, so the row statistics carry a few per cent of noise).
TOLERANCE = {
    "references": 0.0,
    "groups": 0.0,
    "npis_per_group_median": 0.0,
    "npis_per_group_mean": 0.0,
    "npis_per_group_max": 0.0,
    "groups_of_1000_npis": 0.0,
    "level2_item_share": 0.05,
    "rates_per_item_mean": 0.05,
    "prices_per_rate_mean": 0.05,
    "level2_price_share": 0.08,
    "npis_per_row_mean": 0.08,
    "level2_npis_per_row_mean": 0.08,
    "level2_rows_per_item": 0.08,
    "level2_heavy_row_share": 0.08,
    "inline_rate_share": 0.0,
    "references_per_rate_mean": 0.0,
    "tin_ein_share": 0.0,
}


def test_real_shape_is_what_the_profile_quotes(shared_data: Path) -> None:
    from hcpcs_atlas.synth import measure_shape

    path = shared_data / "tic/real/healthscope-benefits_in-network-rates_2023-02-01.json.gz"
    shape = measure_shape(orjson.loads(gzip.decompress(path.read_bytes())))
    for key, value in REAL_SHAPE.items():
        assert shape[key] == pytest.approx(value, rel=1e-3), key


def test_realistic_profile_has_the_real_shape(tmp_path: Path) -> None:
    """A small realistic file: the real NPI tail (groups of thousands of NPIs, 124 NPIs a row), shares."""
    from hcpcs_atlas.synth import measure_shape

    options = TicSynthOptions(seed=2, size_bytes=12_000_000, profile="realistic", target_codes=())
    made = write_in_network(tmp_path / "r.json.gz", options)
    shape = measure_shape(orjson.loads(gzip.decompress(made.path.read_bytes())))
    for key, tolerance in TOLERANCE.items():
        assert shape[key] == pytest.approx(REAL_SHAPE[key], rel=tolerance, abs=1e-9), key
    assert made.level2_rows == shape["level2_rows"]  # the known answer counts the same rows


def test_realistic_known_answers_with_targets(tmp_path: Path) -> None:
    """Targets in a realistic file: their rows plus the Level II filler rows are what a reader keeps."""
    options = TicSynthOptions(seed=3, size_bytes=2_000_000, profile="realistic")
    made = write_in_network(tmp_path / "r.json", options)
    doc = orjson.loads(made.path.read_bytes())
    groups = {
        orjson.dumps(r["provider_group_id"]): len(r["provider_groups"]) for r in doc["provider_references"]
    }
    level2 = 0
    for item in doc["in_network"]:
        code = item["billing_code"].strip().upper()
        if item["billing_code_type"] != "HCPCS" or code in TARGETS:
            continue
        for rate in item["negotiated_rates"]:
            refs = sum(groups[orjson.dumps(i)] for i in rate["provider_references"])
            level2 += len(rate["negotiated_prices"]) * refs
    assert made.level2_rows == level2 > 0
    assert made.rows and {r.billing_code for r in made.rows} == set(TARGETS)


def test_realistic_references_after_the_items(tmp_path: Path) -> None:
    """References last: the file is padded with unreferenced one-NPI groups past the real 53."""
    options = TicSynthOptions(seed=4, size_bytes=1_500_000, profile="realistic", refs="after")
    made = write_in_network(tmp_path / "r.json", options)
    doc = orjson.loads(made.path.read_bytes())
    assert made.uncompressed_bytes >= 1_500_000 and len(doc["provider_references"]) >= 53
    with pytest.raises(ValueError, match="realistic"):
        write_in_network(tmp_path / "x.json", TicSynthOptions(profile="realistic", refs="none"))
