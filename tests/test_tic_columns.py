"""The columnar ingest path (Parquet staging, one join in the store) equals the row-object reader."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from hcpcs_atlas.cli import main
from hcpcs_atlas.sources.tic import net, read_in_network
from hcpcs_atlas.store import Store
from hcpcs_atlas.store.tic import ingest_tic
from hcpcs_atlas.synth import TicSynthOptions, write_in_network

#: every test twice: with the C accelerator and in pure Python (conftest.tic_path)
pytestmark = pytest.mark.usefixtures("tic_path")

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
    price(billing_code_modifier={"x": "TC"}),  # an object where a list is due (tuple() would read its keys)
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


def run(db: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--db", str(db), *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def ingest(db: Path, source: Path, codes: set[str]) -> None:
    with Store(db) as store:
        summary = ingest_tic(store, [str(source)], codes.__contains__)
    assert not summary.failed, summary.failed


def test_odd_values_take_the_exact_path(tmp_path: Path) -> None:
    source = odd_file(tmp_path / "odd.json")
    ingest(tmp_path / "atlas.duckdb", source, {"J9032"})
    rows = stored_rows(tmp_path / "atlas.duckdb")
    assert rows == reader_rows(source, {"J9032"})
    # 8 usable prices x 3 providers (2 groups, 1 unresolved id) + 2 usable prices x 1 inline provider
    assert len(rows) == 8 * 3 + 2
    # the float ids stay as written and apart; the unresolved one keeps its rate, without provider
    assert {r[11] for r in rows} == {"690.64462", "690.6446", "77", None}


@pytest.mark.parametrize("refs", ["before", "after"])
def test_synthetic_file_same_rows_as_the_reader(tmp_path: Path, refs: str) -> None:
    options = TicSynthOptions(seed=5, size_bytes=3_000_000, refs=refs, inline_groups=True)  # type: ignore[arg-type]
    source = write_in_network(tmp_path / "in-network.json.gz", options).path
    codes = {"J9032", "J9330"} | {f"A{n:04d}" for n in range(10000)}
    ingest(tmp_path / "atlas.duckdb", source, codes)
    assert stored_rows(tmp_path / "atlas.duckdb") == reader_rows(source, codes)


def synthetic_files(folder: Path, count: int) -> list[Path]:
    return [
        write_in_network(folder / f"f{n}.json.gz", TicSynthOptions(seed=n, size_bytes=400_000)).path
        for n in range(count)
    ]


def test_jobs_2_stores_what_jobs_1_stores_and_a_broken_file_leaves_no_trace(tmp_path: Path) -> None:
    files = synthetic_files(tmp_path, 3)
    broken = tmp_path / "broken.json.gz"
    broken.write_bytes(files[0].read_bytes()[:-4000])  # truncated: the gzip stream ends early
    sources = [str(files[0]), str(broken), str(files[1]), str(files[2])]
    contents = []
    for jobs in (1, 2):
        db = tmp_path / f"jobs{jobs}.duckdb"
        code, _, err = run(db, "ingest", "tic", *sources, "--codes", "J9032,J9330", "--jobs", str(jobs))
        assert code == 2
        assert err.count("error: ") == 2 and "broken.json.gz" in err and "1 of 4 file(s) failed" in err
        with Store(db, read_only=True) as store:
            files_rows = store.con.execute(
                "SELECT file_id, file_name FROM source_files ORDER BY 1"
            ).fetchall()
        assert [name for _, name in files_rows] == ["f0.json.gz", "f1.json.gz", "f2.json.gz"]
        contents.append((files_rows, stored_rows(db)))
    assert contents[0] == contents[1]
    assert contents[0][1]


def test_a_store_error_fails_its_file_alone_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store error while a file is committed (disk full, a limit) rolls that file back and names it in
    one line; the other files are stored and the exit is 2, not a traceback."""
    import duckdb

    from hcpcs_atlas.store import tic

    files = synthetic_files(tmp_path, 2)
    inserted = tic._insert_staged

    def full_once(store: Store, staged: Any, file_id: int, payer: str, skip: Any = None) -> int:
        if file_id == 1:
            inserted(store, staged, file_id, payer, skip)  # written, then the disk fills
            raise duckdb.IOException("Could not write file: No space left on device\nmore detail")
        return inserted(store, staged, file_id, payer, skip)

    monkeypatch.setattr(tic, "_insert_staged", full_once)
    db = tmp_path / "atlas.duckdb"
    code, out, err = run(db, "ingest", "tic", *map(str, files), "--codes", "J9032,J9330", "--jobs", "1")
    assert code == 2
    assert (
        err.splitlines()[0] == f"error: {files[0]}: not stored: Could not write file: No space left on device"
    )
    assert out.startswith(f"{files[1].name}: ingested ")
    with Store(db, read_only=True) as store:
        names = store.con.execute("SELECT DISTINCT s.file_name FROM source_files s").fetchall()
        rows = store.con.execute("SELECT DISTINCT file_id FROM core_tic_rates").fetchall()
    assert names == [(files[1].name,)] and len(rows) == 1


def test_table_of_contents_list_filter_and_max_files(tmp_path: Path) -> None:
    files = synthetic_files(tmp_path, 3)
    plans = [{"plan_name": name, "plan_id_type": "EIN", "plan_id": "1", "plan_market_type": "group"}
             for name in ("Gold PPO", "Silver HMO")]  # fmt: skip
    structure = [
        {"reporting_plans": [plans[0]], "in_network_files": [{"description": "gold", "location": files[0].name}]},
        {"reporting_plans": [plans[1]], "in_network_files": [{"description": "silver", "location": f.name}
                                                             for f in files[1:]]},
    ]  # fmt: skip
    toc = tmp_path / "index.json"
    toc.write_text(json.dumps({"reporting_entity_name": "X", "reporting_entity_type": "TPA",
                               "reporting_structure": structure}), encoding="utf-8")  # fmt: skip
    code, out, _ = run(tmp_path / "a.duckdb", "tic", "list", str(toc), "--allow-local-refs")
    assert code == 0
    assert out.startswith("3 in-network file(s)") and "Silver HMO 1" in out and "bytes)" in out
    code, out, err = run(tmp_path / "a.duckdb", "ingest", "tic", str(toc), "--codes", "J9032", "--allow-local-refs",
                         "--plan-filter", "silver", "--max-files", "1")  # fmt: skip
    assert code == 0, err
    assert out.splitlines() == [f"{files[1].name}: ingested {out.split()[2]} rate rows"]


BCBS_TOC = "tic/real/2024-10-21_Blue-Cross-and-Blue-Shield-of-Texas_161531026_index.json"


def test_real_bcbs_texas_toc_lists_and_fails_one_line_per_file(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(tmp_path / "a.duckdb", "tic", "list", str(shared_data / BCBS_TOC))
    assert code == 0
    assert out.startswith("262 in-network file(s)")
    assert out.count("plans: 271314 2 PPO CDHP WITH HSA_N2N 16-1531026; 271313 1 PPO PPO PLAN_N2N") == 262

    def offline(*args: object, **kwargs: object) -> None:  # the signed URLs expired; tests stay offline
        raise net.FetchError("offline")

    monkeypatch.setattr(net, "_request", offline)
    code, out, err = run(tmp_path / "a.duckdb", "ingest", "tic", str(shared_data / BCBS_TOC), "--jobs", "1")
    lines = err.splitlines()
    assert code == 2 and out == ""
    assert len(lines) == 263 and "Traceback" not in err
    assert lines[0].startswith("error: https://bcbstx.mrf.bcbs.com/2024-11_102_11B0_in-network-rates_1_of_6")
    assert lines[0].endswith(".json.gz?..., byte 0: download failed: offline")
    assert lines[-1] == "error: 262 of 262 file(s) failed; nothing was kept from them"


def one_price_items(prices: list[Any]) -> list[dict[str, Any]]:
    """An item per price: the typed decoder takes the well-typed ones, the dict path the others (and every
    third item, whose bundled code puts the scanner's end hint inside it)."""
    return [
        {"negotiation_arrangement": "ffs", "name": "x", "billing_code_type": "HCPCS", "billing_code": "J9032",
         "description": "d", "bundled_codes": [{"billing_code_type": "CPT", "billing_code": "J9032"}][: n % 3 // 2],
         "negotiated_rates": [{"provider_references": [690.64462, 690.6446, 77], "negotiated_prices": [p]},
                              {"provider_groups": [{"npi": [1234567893], "tin": {"type": "ein", "value": "1"}}],
                               "negotiated_prices": [p, p]}]}
        for n, p in enumerate(prices)
    ]  # fmt: skip


@pytest.mark.parametrize("indent", [None, 2])
def test_typed_and_dict_paths_mix_and_agree(tmp_path: Path, indent: int | None) -> None:
    source = odd_file(tmp_path / "odd.json")
    doc = json.loads(source.read_text())
    doc["in_network"] += one_price_items([*ODD_PRICES, price(billing_code_modifier=["TC", "26"])] * 3)
    source.write_text(json.dumps(doc, indent=indent), encoding="utf-8")  # indented: raw texts with blanks
    ingest(tmp_path / "atlas.duckdb", source, {"J9032"})
    rows = stored_rows(tmp_path / "atlas.duckdb")
    assert rows == reader_rows(source, {"J9032"})
    assert {r[11] for r in rows} == {"690.64462", "690.6446", "77", None}


def test_invalid_utf8_in_a_field_the_typed_decoder_skips(tmp_path: Path) -> None:
    """msgspec checks the UTF-8 of the strings it decodes only: a well-typed item is checked before."""
    source = odd_file(tmp_path / "odd.json")
    doc = json.loads(source.read_text())
    doc["in_network"] = one_price_items([price()] * 2)
    text = json.dumps(doc).encode().replace(b'"description": "d"', b'"description": "d\xff"', 1)
    source.write_bytes(text)
    code, _, err = run(tmp_path / "atlas.duckdb", "ingest", "tic", str(source), "--codes", "J9032")
    assert code == 2 and "invalid UTF-8" in err and "odd.json" in err
    with Store(tmp_path / "atlas.duckdb", read_only=True) as store:
        assert store.con.execute("SELECT count(*) FROM source_files").fetchone() == (0,)


def test_invalid_number_in_provider_references_names_its_byte(tmp_path: Path) -> None:
    """The typed decoder keeps references as raw text: JSON it could not check is left to the dict path,
    whose error names the byte, and nothing is stored."""
    source = odd_file(tmp_path / "odd.json")
    doc = json.loads(source.read_text())
    doc["in_network"] = one_price_items([price()] * 2)
    doc["in_network"][1]["negotiated_rates"][0]["provider_references"] = [424242]
    source.write_bytes(json.dumps(doc).encode().replace(b"424242", b"1e400"))
    code, _, err = run(tmp_path / "atlas.duckdb", "ingest", "tic", str(source), "--codes", "J9032")
    assert code == 2 and "odd.json, byte " in err and "JSONDecodeError" not in err
    with Store(tmp_path / "atlas.duckdb", read_only=True) as store:
        assert store.con.execute("SELECT count(*) FROM source_files").fetchone() == (0,)


def test_a_files_collector_is_freed_with_the_cyclic_gc_off(tmp_path: Path) -> None:
    """The reader pauses the cyclic GC: a collector left in a cycle would keep its caches through the
    next file's read."""
    import gc

    from hcpcs_atlas.sources.tic.columns import ColumnCollector
    from hcpcs_atlas.sources.tic.reader import stage_in_network

    source = odd_file(tmp_path / "odd.json")
    gc.collect()
    gc.disable()
    try:
        for n in range(2):
            (tmp_path / f"s{n}").mkdir()
            stage_in_network(source, {"J9032"}.__contains__, tmp_path / f"s{n}")
        assert not [o for o in gc.get_objects() if isinstance(o, ColumnCollector)]
    finally:
        gc.enable()


@pytest.mark.parametrize(
    "field",
    ["service_code", "billing_code_modifier", "expiration_date", "additional_information", "negotiated_rate"],
)
@pytest.mark.parametrize("listed", [True, False])
def test_a_number_out_of_range_in_a_price_names_its_byte(tmp_path: Path, field: str, listed: bool) -> None:
    """A number no double holds (1e400), in a field the typed decoder keeps as raw text (the code lists)
    or declares as text or a rate: the item goes to the dict path, whose error names the byte, and
    nothing is stored."""
    source = odd_file(tmp_path / "odd.json")
    doc = json.loads(source.read_text())
    doc["in_network"] = one_price_items([price(**{field: [424242] if listed else 424242}), price()])
    source.write_bytes(json.dumps(doc).encode().replace(b"424242", b"1e400"))
    code, _, err = run(tmp_path / "atlas.duckdb", "ingest", "tic", str(source), "--codes", "J9032")
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "odd.json, byte " in lines[0], err
    assert "JSONDecodeError" not in err and "Traceback" not in err
    with Store(tmp_path / "atlas.duckdb", read_only=True) as store:
        assert store.con.execute("SELECT count(*) FROM source_files").fetchone() == (0,)


def test_the_staged_insert_counts_the_rows_it_adds(tmp_path: Path) -> None:
    """The insert's count (price x provider group, as the core_tic_rates view has them): a file's rows
    of some codes, then of the others, whose provider sets come after the first ones'."""
    from hcpcs_atlas.sources.tic.reader import stage_in_network
    from hcpcs_atlas.store.db import FileRecord
    from hcpcs_atlas.store.tic import _insert_staged

    source = write_in_network(tmp_path / "f.json.gz", TicSynthOptions(seed=3, size_bytes=400_000)).path
    (tmp_path / "s").mkdir()
    staged = stage_in_network(source, {"J9032", "J9330"}.__contains__, tmp_path / "s").staged
    assert staged is not None and staged.rows > 0
    record = FileRecord("tic", "f.json.gz", str(source), "0" * 64, None, "json", None, None, {})
    with Store(tmp_path / "atlas.duckdb") as store, store.transaction():
        file_id = store.add_file(record, staged.rows)
        first = _insert_staged(store, staged, file_id, "P", skip=frozenset({"J9330"}))
        rest = _insert_staged(store, staged, file_id, "P", skip=frozenset({"J9032"}))
        counts = dict(
            store.con.execute("SELECT billing_code, count(*) FROM core_tic_rates GROUP BY 1").fetchall()
        )
        sets = store.con.execute(
            "SELECT count(DISTINCT pset), count(*) FROM core_tic_provider_sets WHERE file_id = ?", [file_id]
        ).fetchone()
    assert (first, rest) == (counts["J9032"], counts["J9330"])
    assert first + rest == staged.rows
    assert sets is not None and 0 < sets[0] <= sets[1]  # each set's groups stored once, not per price
