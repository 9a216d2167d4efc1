"""The streamed TiC in-network reader: CMS examples, synthetic files with known answers, loopback URLs,
remote provider references, and every way a file can be broken."""

from __future__ import annotations

import gzip
import hashlib
import io
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import accumulate
from pathlib import Path

import orjson
import pytest

from hcpcs_atlas.errors import InputError
from hcpcs_atlas.progress import Progress
from hcpcs_atlas.sources.tic import (
    RateRow,
    is_table_of_contents,
    read_in_network,
    read_table_of_contents,
)
from hcpcs_atlas.sources.tic.groups import GroupTable
from hcpcs_atlas.store import Store
from hcpcs_atlas.store.tic import ingest_tic
from hcpcs_atlas.synth import SynthResult, TicSynthOptions, write_in_network

#: every test twice: with the C accelerator and in pure Python (conftest.tic_path)
pytestmark = pytest.mark.usefixtures("tic_path")

V1 = "tic/cms_guide_v1.6.2/examples/in-network-rates"
V2 = "tic/cms_guide_v2.2.0/examples/in-network-rates"
HISTORY = "tic/cms_guide_history/examples/in-network-rates"
TARGETS = ("J9032", "J9330")
ACME_NPIS = (1111111111, 2222222222, 3333333333, 4444444444, 5555555555)


def keep_all(code: str) -> bool:
    return True


def keep_targets(code: str) -> bool:
    return code in TARGETS


def synth(tmp_path: Path, name: str, **options: object) -> SynthResult:
    opts = {"size_bytes": 400_000} | options
    return write_in_network(tmp_path / name, TicSynthOptions(**opts))  # type: ignore[arg-type]


# -- CMS examples ---------------------------------------------------------------------------------------

#: (file, in_network items, items kept with every code accepted, rows). ICD/RC items are not HCPCS/CPT.
CMS_FILES = [
    (f"{HISTORY}/in-network-rates-bundle-sample.json", 1, 0, 0),
    (f"{HISTORY}/in-network-rates-capitation-sample.json", 1, 1, 3),
    (f"{HISTORY}/in-network-rates-fee-for-service-sample.json", 2, 2, 8),
    (f"{V1}/in-network-rates-bundle-single-plan-sample.json", 1, 0, 0),
    (f"{V1}/in-network-rates-capitation-single-plan-sample.json", 1, 1, 3),
    (f"{V1}/in-network-rates-fee-for-service-single-plan-sample.json", 2, 2, 8),
    (f"{V1}/in-network-rates-multiple-plans-sample.json", 2, 2, 9),
    (f"{V1}/in-network-rates-no-npi.json", 1, 1, 1),
    (f"{V2}/in-network-rates-all-negotiated-types-sample.json", 6, 5, 14),
    (f"{V2}/in-network-rates-bundle-single-plan-sample.json", 1, 0, 0),
    (f"{V2}/in-network-rates-capitation-single-plan-sample.json", 1, 1, 4),
    (f"{V2}/in-network-rates-fee-for-service-single-plan-sample.json", 2, 2, 10),
    (f"{V2}/in-network-rates-multiple-plans-sample.json", 2, 2, 12),
    (f"{V2}/in-network-rates-no-npi.json", 1, 1, 1),
]


@pytest.mark.parametrize(
    ("name", "items", "kept", "rows"), CMS_FILES, ids=lambda v: str(v).rsplit("/", 1)[-1]
)
def test_cms_examples_counts(shared_data: Path, name: str, items: int, kept: int, rows: int) -> None:
    path = shared_data / name
    tic = read_in_network(path, keep_all)
    assert (tic.items_seen, tic.items_kept, len(tic.rows)) == (items, kept, rows)
    data = path.read_bytes()
    assert tic.sha256 == hashlib.sha256(data).hexdigest()
    assert tic.bytes_read == tic.bytes_decompressed == len(data)
    assert tic.file_name == path.name
    assert tic.remote_refs_fetched == 0 and tic.remote_refs_failed == [] and tic.refs_unresolved == []


def test_cms_v1_fee_for_service_rows(shared_data: Path) -> None:
    tic = read_in_network(
        shared_data / V1 / "in-network-rates-fee-for-service-single-plan-sample.json", keep_all
    )
    assert (tic.reporting_entity_name, tic.reporting_entity_type, tic.version) == (
        "medicare",
        "medicare",
        "1.2.0",
    )
    assert (tic.plan_name, tic.plan_id_type, tic.plan_id, tic.plan_market_type) == (
        "medicaid",
        "hios",
        "1111111111",
        "individual",
    )
    assert tic.last_updated_on == "2020-08-27" and tic.issuer_name is None
    first = RateRow("27447", "CPT", "ffs", "negotiated", 123.45, "2022-01-01", "professional", None,
                    ("11", "18", "19"), ("AS",), None, None, "ein", "11-1111111", ACME_NPIS)  # fmt: skip
    assert tic.rows[0] == first
    assert tic.rows[1] == RateRow("27447", "CPT", "ffs", "negotiated", 123.45, "2022-01-01", "professional",
                                  None, ("11", "18", "19"), ("AS",), None, None, "ein", "22-2222222", ACME_NPIS)  # fmt: skip
    assert tic.rows[2].negotiated_rate == 1230.45 and tic.rows[2].service_codes == ()
    # 27448's first rate uses provider reference 1 (two groups); its second rate inline groups
    referenced = [r for r in tic.rows if r.provider_group_id is not None]
    assert [(r.billing_code, r.provider_group_id, r.tin_value, r.negotiated_rate) for r in referenced] == [
        ("27448", "1", "11-1111111", 12003.45),
        ("27448", "1", "22-2222222", 12003.45),
    ]
    assert referenced[0].service_codes == ("CSTM-00",)
    assert tic.rows[-1] == RateRow("27448", "CPT", "ffs", "negotiated", 12.45, "2022-01-01", "institutional",
                                   None, ("11", "18", "19"), (), None, None, "npi", "6666666666", (6666666666,))  # fmt: skip


def test_cms_v2_all_negotiated_types(shared_data: Path) -> None:
    tic = read_in_network(shared_data / V2 / "in-network-rates-all-negotiated-types-sample.json", keep_all)
    assert (tic.issuer_name, tic.plan_sponsor_name, tic.plan_id_type) == (
        "Comprehensive Health Issuer",
        "Comprehensive Employee Group",
        "ein",
    )
    assert {r.negotiated_type for r in tic.rows} == {"negotiated", "derived", "fee schedule", "percentage"}
    assert "0200" not in {r.billing_code for r in tic.rows}  # a revenue code: not HCPCS/CPT
    knee = [r for r in tic.rows if r.billing_code == "27447"]
    assert len(knee) == 6  # provider references [1, 2]: 3 groups x 2 prices
    assert knee[2] == RateRow(
        "27447", "CPT", "ffs", "fee schedule", 8500.0, "2024-12-31", "professional", "inpatient", ("21", "22"), (),
        "Fee schedule rate used to determine participant cost-sharing liability", "2", "ein", "34-5678901",
        (5678901234, 6789012345), ("Comprehensive Health Plus Network",),
    )  # fmt: skip
    percentage = next(r for r in tic.rows if r.billing_code == "97110")
    assert (percentage.negotiated_rate, percentage.service_codes) == (65.0, ("11", "22"))


def test_cms_no_npi_is_a_tin_level_contract(shared_data: Path) -> None:
    v1 = read_in_network(shared_data / V1 / "in-network-rates-no-npi.json", keep_all)
    assert v1.rows == [RateRow("27447", "CPT", "ffs", "negotiated", 123.45, "2022-01-01", "institutional",
                               None, (), (), None, None, "ein", "11-1111111", (0,))]  # fmt: skip
    v2 = read_in_network(shared_data / V2 / "in-network-rates-no-npi.json", keep_all)
    assert (v2.rows[0].tin_type, v2.rows[0].tin_value, v2.rows[0].npis) == (
        "npi",
        "1234567890",
        (1111111111,),
    )
    assert v2.rows[0].setting == "inpatient" and v2.rows[0].network_names == ("ACME Choice Provider Group",)


def test_cms_history_reporting_plans_and_keep_code(shared_data: Path) -> None:
    seen: list[str] = []

    def keep(code: str) -> bool:
        seen.append(code)
        return code == "27448"

    tic = read_in_network(shared_data / HISTORY / "in-network-rates-fee-for-service-sample.json", keep)
    assert [p["plan_name"] for p in tic.reporting_plans] == ["medicaid", "medicare"]
    assert tic.plan_name is None  # the early draft lists plans in reporting_plans, not at the top level
    assert (tic.items_seen, tic.items_kept, len(tic.rows)) == (2, 1, 3)
    assert {r.billing_code for r in tic.rows} == {"27448"}
    assert set(seen) == {"27447", "27448"}


def test_cms_history_provider_reference_sample_is_cut(shared_data: Path) -> None:
    """The early provider-reference draft stops after its array: no closing brace, no in_network."""
    path = shared_data / HISTORY / "in-network-rates-fee-for-service-provider-reference-sample.json"
    with pytest.raises(InputError) as caught:
        read_in_network(path, keep_all)
    assert caught.value.byte == len(path.read_bytes().rstrip())
    assert str(path) in str(caught.value) and "ends early" in str(caught.value)


@pytest.mark.parametrize("version", ["v1.6.2", "v2.2.0"])
def test_table_of_contents(shared_data: Path, version: str) -> None:
    path = shared_data / f"tic/cms_guide_{version}/examples/table-of-contents/table-of-contents-sample.json"
    assert is_table_of_contents(path)
    toc = read_table_of_contents(path)
    assert toc.in_network_urls == [
        "https://www.some_site.com/files/in-network-file-123456.json",
        "https://www.some_site.com/files/behavioral-health-0000.json",
        "https://www.some_site.com/files/chip-in-network-file.json",
    ]
    assert [p["plan_name"] for p in toc.reporting_plans] == ["medicaid", "medicare", "chip"]
    assert (toc.reporting_entity_name, toc.reporting_entity_type) == ("medicare", "medicare")
    assert toc.version == ("1.4.0" if version == "v1.6.2" else "2.0.0")
    assert [s["allowed_amount_file"] for s in toc.reporting_structure] == [
        "https://www.some_site.com/files/allowed-amount-file-987665.json",
        "https://www.some_site.com/files/chip-allowed-amount-file.json",
    ]
    with pytest.raises(InputError, match="no in_network"):
        read_in_network(path, keep_all)


def test_in_network_file_is_not_a_table_of_contents(shared_data: Path) -> None:
    path = shared_data / V2 / "in-network-rates-no-npi.json"
    assert not is_table_of_contents(path)
    with pytest.raises(InputError, match="not a table-of-contents"):
        read_table_of_contents(path)


# -- synthetic files with known answers -------------------------------------------------------------------

LAYOUTS = [
    ("1.3.1", "before", "a.json", False, False),
    ("1.3.1", "after", "b.json.gz", True, False),
    ("1.3.1", "none", "c.zip", False, False),
    ("1.3.1", "after", "d.json", False, True),
    ("2.0.0", "before", "e.json.gz", False, True),
    ("2.0.0", "after", "f.zip", False, False),
]


@pytest.mark.parametrize(("version", "refs", "name", "inline", "pretty"), LAYOUTS)
def test_synthetic_known_answers(
    tmp_path: Path, version: str, refs: str, name: str, inline: bool, pretty: bool
) -> None:
    made = synth(tmp_path, name, version=version, refs=refs, inline_groups=inline, pretty=pretty, seed=7)
    tic = read_in_network(made.path, keep_targets)
    assert tic.rows == made.rows and len(made.rows) > 20
    assert (tic.items_seen, tic.items_kept) == (made.items, made.target_items)
    assert tic.bytes_decompressed == made.uncompressed_bytes
    assert tic.sha256 == hashlib.sha256(made.path.read_bytes()).hexdigest()
    header = {k: getattr(tic, k) for k in made.header}
    assert header == made.header
    assert tic.refs_unresolved == [] and tic.prices_skipped == 0


def test_synthetic_awkward_ids_survive(tmp_path: Path) -> None:
    made = synth(tmp_path, "ids.json", seed=3)
    tic = read_in_network(made.path, keep_targets)
    assert tic.rows == made.rows
    assert any(r.provider_group_id == "320.25975" and r.tin_value for r in tic.rows)
    assert any(r.npis == (0,) for r in tic.rows)
    assert {r.billing_code_type for r in tic.rows} >= {"HCPCS", "CPT", "hcpcs "}  # as written
    assert len({r.negotiated_type for r in tic.rows}) == 5


def test_gzip_told_by_magic_not_name(tmp_path: Path) -> None:
    made = synth(tmp_path, "real.json.gz", seed=5)
    disguised = tmp_path / "disguised.json"
    disguised.write_bytes(made.path.read_bytes())
    plain = tmp_path / "plain.json.gz"
    plain.write_bytes(gzip.decompress(made.path.read_bytes()))
    assert read_in_network(disguised, keep_targets).rows == made.rows
    assert read_in_network(plain, keep_targets).rows == made.rows


def test_multi_member_gzip(tmp_path: Path) -> None:
    made = synth(tmp_path, "one.json", seed=6)
    data = made.path.read_bytes()
    two = tmp_path / "two.json.gz"
    two.write_bytes(gzip.compress(data[:1000]) + gzip.compress(data[1000:]))
    assert read_in_network(two, keep_targets).rows == made.rows


def _price(rate: float) -> dict[str, object]:
    return {"negotiated_type": "negotiated", "negotiated_rate": rate, "expiration_date": "9999-12-31",
            "billing_class": "professional"}  # fmt: skip


def _inline_rate(npis: int, rate: float = 1.5) -> dict[str, object]:
    group = {
        "npi": list(range(1_000_000_000, 1_000_000_000 + npis)),
        "tin": {"type": "ein", "value": "12-3456789"},
    }
    return {"provider_groups": [group], "negotiated_prices": [_price(rate)]}


def test_big_items_across_chunks_and_late_codes(tmp_path: Path) -> None:
    """A kept item that crosses a chunk boundary waits for its end; a kept item whose billing_code comes
    megabytes after its start (keys after negotiated_rates) makes the reader go again with whole items."""
    filler = {"negotiation_arrangement": "ffs", "billing_code_type": "CPT", "billing_code": "99213",
              "negotiated_rates": [_inline_rate(40)] * 100}  # fmt: skip
    crossing = {
        "billing_code_type": "HCPCS",
        "billing_code": "J9032",
        "negotiated_rates": [_inline_rate(40, 2.5)] * 2_500,
    }
    late = {
        "negotiated_rates": [_inline_rate(40, 3.5)] * 4_000,
        "billing_code_type": "HCPCS",
        "billing_code": "J9330",
    }
    fillers = [filler] * int(8_000_000 / len(orjson.dumps(filler)))  # the crossing item straddles 8 MiB
    doc = {"version": "1.0.0", "in_network": [*fillers, crossing, late, filler]}
    path = tmp_path / "big.json"
    path.write_bytes(orjson.dumps(doc))
    crossing_at = path.read_bytes().index(b'"billing_code":"J9032"')
    assert crossing_at < 8 << 20 < crossing_at + len(orjson.dumps(crossing))
    tic = read_in_network(path, keep_targets)
    assert (tic.items_seen, tic.items_kept, len(tic.rows)) == (len(fillers) + 3, 2, 6_500)
    assert {(r.billing_code, r.negotiated_rate) for r in tic.rows} == {("J9032", 2.5), ("J9330", 3.5)}
    assert tic.rows[0].npis == tuple(range(1_000_000_000, 1_000_000_040))


@pytest.mark.parametrize(("refs", "version"), [("before", "1.3.1"), ("after", "2.0.0")])
def test_multi_chunk_files_local_and_url(
    tmp_path: Path, http_server: tuple[str, dict[str, bytes]], refs: str, version: str
) -> None:
    """12 MB: references before in_network are found again by a second read (local) or from a copy made
    while streaming (URL); references after it are resolved as they stream past."""
    made = synth(tmp_path, "multi.json.gz", refs=refs, version=version, seed=31, size_bytes=12_000_000,
                 provider_share=0.4)  # fmt: skip
    base, files = http_server
    files["/multi.json.gz"] = made.path.read_bytes()
    for source in (made.path, f"{base}/multi.json.gz"):
        tic = read_in_network(source, keep_targets)
        assert tic.rows == made.rows and (tic.items_seen, tic.items_kept) == (made.items, made.target_items)


def _late_code_document(refs: int) -> bytes:
    """An item whose billing_code follows 2 MB of rates (deep mode), with provider references after."""
    price = _price(7.25)
    rates = [{"provider_references": [1 + i % 3], "negotiated_prices": [price]} for i in range(30_000)]
    late = {"negotiated_rates": rates, "billing_code_type": "HCPCS", "billing_code": "J9032"}
    groups = [{"provider_group_id": i, "provider_groups": [{"npi": [i], "tin": {"type": "ein", "value": f"t{i}"}}]}
              for i in range(1, refs + 1)]  # fmt: skip
    return orjson.dumps({"version": "1.0.0", "in_network": [late], "provider_references": groups})


def test_late_code_with_references_after(tmp_path: Path, http_server: tuple[str, dict[str, bytes]]) -> None:
    path = tmp_path / "late.json.gz"
    path.write_bytes(gzip.compress(_late_code_document(60_000)))
    base, files = http_server
    files["/late.json.gz"] = path.read_bytes()
    for source in (path, f"{base}/late.json.gz"):
        tic = read_in_network(source, keep_targets)
        assert len(tic.rows) == 30_000 and tic.refs_unresolved == []
        assert {(r.provider_group_id, r.tin_value, r.npis) for r in tic.rows} == {
            ("1", "t1", (1,)),
            ("2", "t2", (2,)),
            ("3", "t3", (3,)),
        }


def test_ids_match_by_value_and_text(tmp_path: Path) -> None:
    doc = {
        "reporting_entity_name": "Ids",
        "version": "1.0.0",
        "in_network": [_item("J9330", [[1, 320.25975, "abc", 77]])],
    }
    refs = (
        b'"provider_references":[{"provider_group_id":1.0,"provider_groups":[{"npi":[1],"tin":{"type":"ein","value":"a"}}]},'
        b'{"provider_group_id":320.259750,"provider_groups":[{"npi":[2],"tin":{"type":"ein","value":"b"}}]},'
        b'{"provider_group_id":"abc","provider_groups":[{"npi":["3"],"tin":{"type":"ein","value":"c"}}]}]'
    )
    body = orjson.dumps(doc)
    path = tmp_path / "ids.json"
    path.write_bytes(body[:-1] + b"," + refs + b"}")
    tic = read_in_network(path, keep_targets)
    assert [(r.provider_group_id, r.tin_value, r.npis) for r in tic.rows] == [
        ("1", "a", (1,)),
        ("320.25975", "b", (2,)),
        ("abc", "c", (3,)),
        ("77", None, ()),  # never defined: the rate is kept, without a provider
    ]
    assert tic.refs_unresolved == ["77"]


def test_quirky_values(tmp_path: Path) -> None:
    """Quoted rates are numbers; a price without a type is skipped and counted; a string equal to
    "billing_code", an escaped code and a lower-case padded code do no harm."""
    prices = [
        {"negotiated_type": "negotiated", "negotiated_rate": "12.50", "expiration_date": "9999-12-31"},
        {"negotiated_rate": 3, "expiration_date": "9999-12-31"},
        {"negotiated_type": "negotiated", "negotiated_rate": "n/a"},
    ]
    group = {"npi": ["1234567890", 0.0, None], "tin": {"type": "ein", "value": 123456789}}
    kept = {"name": "billing_code", "billing_code_type": " hcpcs", "billing_code": " j9330 ",
            "negotiated_rates": [{"provider_groups": [group], "negotiated_prices": prices}]}  # fmt: skip
    odd = b'{"billing_code_type":"CPT","billing_code":"9\\u00392\\u00313","negotiated_rates":[]}'
    path = tmp_path / "quirky.json"
    path.write_bytes(b'{"version":"1.0.0","in_network":[' + odd + b"," + orjson.dumps(kept) + b"]}")
    tic = read_in_network(path, keep_targets)
    assert [
        (r.billing_code, r.billing_code_type, r.negotiated_rate, r.tin_value, r.npis) for r in tic.rows
    ] == [("J9330", " hcpcs", 12.5, "123456789", (1234567890, 0))]
    assert (tic.items_seen, tic.items_kept, tic.prices_skipped) == (2, 1, 2)


def _item(code: str, reference_lists: list[list[object]]) -> dict[str, object]:
    rates = [{"provider_references": ids, "negotiated_prices": [_price(10)]} for ids in reference_lists]
    return {"negotiation_arrangement": "ffs", "billing_code_type": "HCPCS", "billing_code": code,
            "negotiated_rates": rates}  # fmt: skip


def test_progress_reports_bytes_and_items(tmp_path: Path) -> None:
    made = synth(tmp_path, "p.json.gz", seed=8)
    progress = Progress("test", made.path.stat().st_size, stream=io.StringIO())
    read_in_network(made.path, keep_targets, progress=progress)
    assert (progress.bytes, progress.items, progress.kept) == (
        made.path.stat().st_size,
        made.items,
        made.target_items,
    )


# -- loopback HTTP: URL sources and remote provider references --------------------------------------------


@pytest.fixture
def http_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, dict[str, bytes]]]:
    """A loopback server of ``files`` (path -> body); anything else is a 404."""
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")
    files: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = files.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", files
    server.shutdown()
    server.server_close()
    thread.join()


def test_remote_provider_references(tmp_path: Path, http_server: tuple[str, dict[str, bytes]]) -> None:
    base, files = http_server
    made = synth(tmp_path, "remote.json.gz", remote_base_url=base, missing_remote=True, seed=11)
    files.update(made.remote_files)
    cache = tmp_path / "cache"
    tic = read_in_network(made.path, keep_targets, ref_cache_dir=cache)
    assert tic.rows == made.rows
    assert [url for url, _ in tic.remote_refs_failed] == made.missing_urls
    assert "HTTP 404" in tic.remote_refs_failed[0][1]
    used = {r.provider_group_id for r in made.rows if r.tin_value and r.provider_group_id in {"4", "5"}}
    assert tic.remote_refs_fetched == len(used) >= 1
    files.clear()  # a second read is served from the cache
    again = read_in_network(made.path, keep_targets, ref_cache_dir=cache)
    assert again.rows == made.rows and again.remote_refs_fetched == tic.remote_refs_fetched


@pytest.mark.parametrize("chunk", [1 << 16, 2])
def test_remote_references_staged_as_columns(
    tmp_path: Path, http_server: tuple[str, dict[str, bytes]], monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    """The ingest path keeps a fetched reference file's groups in Arrow columns (chunk 2: many chunks, so
    the ordinals run on across them) and stores the generator's rows, an unreachable one without TIN."""
    monkeypatch.setattr(GroupTable, "CHUNK", chunk)
    base, files = http_server
    made = synth(tmp_path, "remote.json.gz", remote_base_url=base, missing_remote=True, seed=11)
    files.update(made.remote_files)
    with Store(tmp_path / "atlas.duckdb") as store:
        summary = ingest_tic(store, [str(made.path)], keep_targets)
        assert not summary.failed and summary.refs_failed == len(made.missing_urls) >= 1
        stored = store.con.execute(
            "SELECT billing_code, negotiated_rate, provider_group_id, tin_value, npis FROM core_tic_rates"
        ).fetchall()
    expected = [
        (r.billing_code, r.negotiated_rate, r.provider_group_id, r.tin_value, list(r.npis)) for r in made.rows
    ]
    assert sorted(stored, key=repr) == sorted(expected, key=repr)


def test_remote_references_without_cache_dir(
    tmp_path: Path, http_server: tuple[str, dict[str, bytes]]
) -> None:
    base, files = http_server
    made = synth(tmp_path, "remote.json", version="2.0.0", refs="after", remote_base_url=base, seed=12)
    files.update({path: gzip.compress(body) for path, body in made.remote_files.items()})  # gzipped bodies
    tic = read_in_network(made.path, keep_targets)
    assert tic.rows == made.rows and tic.remote_refs_failed == []


@pytest.mark.parametrize("name", ["served.json.gz", "served.json", "served.zip"])
def test_url_source(tmp_path: Path, http_server: tuple[str, dict[str, bytes]], name: str) -> None:
    base, files = http_server
    made = synth(tmp_path, name, seed=13)
    files[f"/files/{name}"] = made.path.read_bytes()
    tic = read_in_network(f"{base}/files/{name}", keep_targets)
    assert tic.rows == made.rows
    assert tic.file_name == name and tic.sha256 == hashlib.sha256(made.path.read_bytes()).hexdigest()
    assert tic.bytes_read == made.path.stat().st_size


def test_url_source_404(http_server: tuple[str, dict[str, bytes]]) -> None:
    base, _ = http_server
    with pytest.raises(InputError, match="HTTP 404") as caught:
        read_in_network(f"{base}/nowhere.json.gz", keep_targets)
    assert f"{base}/nowhere.json.gz" in str(caught.value) and caught.value.byte == 0


def test_url_table_of_contents(shared_data: Path, http_server: tuple[str, dict[str, bytes]]) -> None:
    base, files = http_server
    toc = shared_data / "tic/cms_guide_v2.2.0/examples/table-of-contents/table-of-contents-sample.json"
    files["/toc.json.gz"] = gzip.compress(toc.read_bytes())
    assert is_table_of_contents(f"{base}/toc.json.gz")
    assert len(read_table_of_contents(f"{base}/toc.json.gz").in_network_urls) == 3


# -- broken files: one InputError naming the file and a byte offset, nothing partial ---------------------


def _error(path: Path | str) -> InputError:
    with pytest.raises(InputError) as caught:
        read_in_network(path, keep_targets)
    error = caught.value
    assert str(path) in str(error) and error.byte is not None and "\n" not in str(error)
    return error


def test_truncated_gzip(tmp_path: Path) -> None:
    made = synth(tmp_path, "t.json.gz", seed=21)
    cut = tmp_path / "cut.json.gz"
    cut.write_bytes(made.path.read_bytes()[: made.path.stat().st_size // 2])
    error = _error(cut)
    assert "truncated" in error.message and 0 < (error.byte or 0) < made.uncompressed_bytes


def test_corrupt_gzip(tmp_path: Path) -> None:
    made = synth(tmp_path, "t.json.gz", seed=22)
    data = bytearray(made.path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad = tmp_path / "bad.json.gz"
    bad.write_bytes(bytes(data))
    _error(bad)


def test_broken_json_inside_a_kept_item(tmp_path: Path) -> None:
    made = synth(tmp_path, "t.json", seed=23, size_bytes=12_000_000)
    data = made.path.read_bytes()
    item = data.index(b'"billing_code":"J9330"')
    rate = data.index(b'"negotiated_rate":', item) + len(b'"negotiated_rate":')
    broken = tmp_path / "broken.json"
    broken.write_bytes(data[:rate] + b"x" + data[rate + 1 :])
    assert _error(broken).byte == rate


def test_broken_json_elsewhere_in_a_small_file(tmp_path: Path) -> None:
    """Files up to 8 MB are parsed whole, so a flaw outside any kept item is caught too."""
    made = synth(tmp_path, "t.json", seed=24)
    data = made.path.read_bytes()
    at = data.index(b'"billing_code":"', len(data) // 2) + len(b'"billing_code":')
    broken = tmp_path / "broken.json"
    broken.write_bytes(data[:at] + b"{" + data[at:])
    assert _error(broken).byte is not None


@pytest.mark.parametrize("size", [400_000, 12_000_000])
def test_file_cut_mid_document(tmp_path: Path, size: int) -> None:
    made = synth(tmp_path, "t.json", seed=25, size_bytes=size)
    data = made.path.read_bytes()
    cut = tmp_path / "cut.json"
    at = int(len(data) * 0.6)
    while data[at - 1 : at] in (b"}", b"]"):
        at += 1
    cut.write_bytes(data[:at])
    assert "ends early" in _error(cut).message and _error(cut).byte == at
    # cut right after an item's closing brace: the last byte is "}", yet the document is incomplete
    end = data.index(b"]}", int(len(data) * 0.6)) + 2
    cut.write_bytes(data[:end])
    assert _error(cut).byte is not None


def test_html_error_page(tmp_path: Path) -> None:
    page = tmp_path / "rates.json.gz"
    page.write_bytes(b"\n  <!DOCTYPE html><html><body>403 Forbidden</body></html>")
    error = _error(page)
    assert error.byte == 3 and "an HTML page" in error.message and "DOCTYPE" not in error.message
    gz = tmp_path / "page.json.gz"
    gz.write_bytes(gzip.compress(b"<html>oops</html>"))
    assert _error(gz).byte == 0


@pytest.mark.parametrize(("content", "message"), [(b"", "empty file"), (b" \n\t ", "whitespace")])
def test_empty_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "empty.json"
    path.write_bytes(content)
    assert message in _error(path).message


def test_zip_without_members_and_missing_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w"):
        pass
    assert "no file" in _error(empty).message
    missing = tmp_path / "missing.json"
    assert "read failed" in _error(missing).message


def test_not_an_in_network_file(shared_data: Path) -> None:
    path = shared_data / "tic/cms_guide_v1.6.2/examples/provider-reference/provider-reference.json"
    assert "no in_network" in _error(path).message


# -- items nested deeper than the decoders take: one line naming the byte, through the CLI -----------------


def _payer_item(code: str, deep: bytes = b"") -> bytes:
    """An item whose first rate's provider_groups starts with ``deep`` (a value only the dict path writes
    back, by orjson, which writes 254 levels at most); ``deep`` empty: a plain item."""
    group = b'{"npi":[1234567890],"tin":{"type":"ein","value":"11-1111111"}}'
    groups = b"[" + (deep + b"," if deep else b"") + group + b"]"
    price = (b'{"negotiated_type":"negotiated","negotiated_rate":61.5,"expiration_date":"9999-12-31",'
             b'"billing_class":"professional","service_code":["11"]}')  # fmt: skip
    return (b'{"negotiation_arrangement":"ffs","billing_code_type":"HCPCS","billing_code":"' + code.encode()
            + b'","negotiated_rates":[{"provider_groups":' + groups + b',"negotiated_prices":[' + price
            + b"]}]}")  # fmt: skip


def _payer_file(items: list[bytes]) -> bytes:
    head = b'{"reporting_entity_name":"Deep Health","reporting_entity_type":"issuer","last_updated_on":'
    return head + b'"2025-10-01","version":"1.3.1","in_network":[' + b",".join(items) + b"]}"


def _cli(*args: str) -> tuple[int, str]:
    from click.testing import CliRunner

    from hcpcs_atlas.cli import main

    result = CliRunner().invoke(main, list(args), catch_exceptions=False, prog_name="hcpcs-atlas")
    return result.exit_code, result.stderr


#: (depth, where, expected): past orjson's 1024 levels (msgspec raised RecursionError first, in the main
#: process and in the helper), inside Python's recursion limit but past orjson's writer, and under both
DEEP_CASES = [
    (2000, "x", "nested deeper than 1024 levels"),
    (2000, "groups", "nested deeper than 1024 levels"),
    (1010, "groups", "an object nested too deep to read"),
    (300, "groups", None),
    (300, "groups last", None),  # no next item: the dict path reads it (it wrote the groups by orjson)
]


@pytest.mark.parametrize("split", [False, True], ids=["alone", "helper"])
@pytest.mark.parametrize(("depth", "where", "expected"), DEEP_CASES, ids=lambda v: str(v)[:12])
def test_deeply_nested_item_is_one_line_naming_the_byte(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    split: bool,
    depth: int,
    where: str,
    expected: str | None,
) -> None:
    from hcpcs_atlas.sources.tic import net
    from hcpcs_atlas.sources.tic.split import Helper

    started: list[bool] = []
    start = Helper.start

    def counted(self: Helper) -> None:
        started.append(True)
        start(self)

    monkeypatch.setattr(Helper, "start", counted)
    monkeypatch.setattr(net, "SPLIT_AFTER_BYTES", 0 if split else None)
    db = str(tmp_path / "atlas.duckdb")
    good = tmp_path / "good.json"
    good.write_bytes(_payer_file([_payer_item("J9032")]))
    assert _cli("--db", db, "ingest", "tic", str(good), "--codes", "J9032", "--jobs", "2")[0] == 0
    before = _cli("--db", db, "files")
    deep = b"[" * depth + b"]" * depth
    plain = _payer_item("J9032")
    bad = plain[:-1] + b',"x":' + deep + b"}" if where == "x" else _payer_item("J9032", deep)
    filler = [_payer_item("99213")] * (9_000_000 // len(_payer_item("99213")))  # over one 4 MB chunk
    # a next item, whose start tells where the deep one ends, sends it to the typed decoder (or the helper)
    data = _payer_file([*filler, bad, *([] if where.endswith("last") else filler)])
    path = tmp_path / "deep.json"
    path.write_bytes(data)
    at = data.index(bad)

    code, err = _cli("--db", db, "ingest", "tic", str(path), "--codes", "J9032", "--jobs", "2")

    # the helper process took the deep item (then the file is read alone); the last item it is never handed
    assert bool(started) == (split and not where.endswith("last"))
    if expected is None:  # under every limit: read alike by the typed and the dict path
        assert code == 0, err
        return
    if "1024" in expected:  # orjson stops at the bracket that opens the 1026th level (the item is the 1st)
        levels = accumulate((c in b"[{") - (c in b"]}") for c in bad)
        expected, at = f"invalid JSON: {expected}", at + next(i for i, n in enumerate(levels) if n > 1025)
    assert code == 2 and err == f"error: {path}, byte {at}: {expected}\n", err
    assert "Traceback" not in err
    assert _cli("--db", db, "files") == before


@pytest.mark.parametrize("items", [1, 40_000], ids=["parsed whole", "streamed"])
@pytest.mark.parametrize("depth", [300, 1010])
def test_reporting_plans_too_deep_to_write_is_one_line(tmp_path: Path, items: int, depth: int) -> None:
    """orjson parses 1,024 levels but writes 254, and the store keeps reporting_plans as JSON text: a
    deeper one is refused while reading, at its key, not by a traceback when the store writes it."""
    deep = b"[" * depth + b"]" * depth
    body = _payer_file([_payer_item("99213")] * items + [_payer_item("J9032")])
    data = body.replace(
        b'"in_network"', b'"reporting_plans":[{"plan_name":"p","x":' + deep + b'}],"in_network"'
    )
    path = tmp_path / "plans.json"
    path.write_bytes(data)
    db = str(tmp_path / "atlas.duckdb")
    code, err = _cli("--db", db, "ingest", "tic", str(path), "--codes", "J9032")
    at = data.index(b'"reporting_plans"')
    assert code == 2 and err == f"error: {path}, byte {at}: reporting_plans nested too deep to read\n", err


@pytest.mark.parametrize("depth", [300, 1010])
def test_table_of_contents_plans_too_deep_to_write_is_one_line(tmp_path: Path, depth: int) -> None:
    """A table of contents whose reporting_plans nest past what orjson writes: one line naming the
    structure's byte, no traceback when the store would write them, the store unchanged."""
    deep = b"[" * depth + b"]" * depth
    data = (
        b'{"reporting_entity_name":"X","reporting_entity_type":"x","reporting_structure":[{"reporting_plans":'
        b'[{"plan_name":"p","x":'
        + deep
        + b'}],"in_network_files":[{"description":"d","location":"n.json"}]}]}'
    )
    path = tmp_path / "toc.json"
    path.write_bytes(data)
    db = str(tmp_path / "atlas.duckdb")
    code, err = _cli("--db", db, "ingest", "tic", "--allow-local-refs", str(path))
    at = data.index(b'{"reporting_plans"')
    assert code == 2 and f"error: {path}, byte {at}: reporting_plans nested too deep to read\n" in err, err
    assert "Traceback" not in err
    with Store(db, read_only=True) as store:
        assert store.con.execute("SELECT count(*) FROM source_files").fetchone() == (0,)
