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
