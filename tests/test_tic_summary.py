"""Payer facts summarised in SQL equal the computation in Python from the raw rate rows, however rates arrive:
several files and payers, a re-ingest for more codes, a failed file, rows no generator writes."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from hcpcs_atlas.cli import main
from hcpcs_atlas.errors import StoreError
from hcpcs_atlas.store import FileRecord, Store
from hcpcs_atlas.store.tic import compact_rates, insert_rate_rows, needs_compaction
from hcpcs_atlas.store.tic_summary import CodeSummary, live_summary, stored_summary, write_summaries
from hcpcs_atlas.synth import TicSynthOptions, write_in_network

from .helpers import assert_tic_facts_match_raw_rows, table_counts


def run(db: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--db", str(db), *args], catch_exceptions=False)
    return result.exit_code, result.stderr


def _synthetic(tmp_path: Path, seed: int, entity: str, updated: str) -> str:
    options = TicSynthOptions(
        seed=seed, size_bytes=150_000, entity_name=entity, last_updated_on=updated, items_per_target=6
    )
    return str(write_in_network(tmp_path / f"in-network-{seed}.json.gz", options).path)


def _edge_rows() -> list[dict[str, Any]]:
    """Rows no generator writes: "00" and blank modifiers, missing lists, NPI 0, empty billing class and TIN."""
    base: dict[str, Any] = {
        "billing_code": "J9032", "billing_code_type": "HCPCS", "negotiation_arrangement": "ffs",
        "negotiated_type": "negotiated", "negotiated_rate": 100.0, "expiration_date": "9999-12-31",
        "billing_class": "professional", "setting": None, "service_codes": ["22", "11"],
        "modifiers": ["JZ", "00"], "additional_information": None, "provider_group_id": "1",
        "tin_type": "ein", "tin_value": "111111111", "npis": [1234567890, 0],
    }  # fmt: skip
    variants: list[dict[str, Any]] = [
        {},
        {"modifiers": ["00", "JZ", " "], "service_codes": ["11", "22"], "npis": [1234567891]},
        {"modifiers": None, "service_codes": None, "npis": None, "billing_class": ""},
        {"tin_value": "", "negotiated_rate": 3.0, "negotiated_type": "Derived"},
        {"negotiated_type": "percentage", "negotiated_rate": 80.0},
        {"expiration_date": "2020-01-01", "negotiated_rate": 120.0},
        {"expiration_date": "not a date", "negotiated_rate": 121.0},
        {"billing_code": "J9330", "negotiated_rate": 7000.0, "service_codes": ["99"]},
    ]
    return [base | v for v in variants]


def _add_by_hand(store: Store, name: str) -> int:
    record = FileRecord("tic", name, name, name.ljust(64, "0"), 1, "json", date(2025, 10, 1), None, {})
    with store.transaction():
        file_id = store.add_file(record, 8)
        meta = {"payer": "Cigna", "reporting_entity_name": "Cigna", "last_updated_on": date(2025, 10, 1)}
        store.insert_rows("core_tic_files", [meta], file_id=file_id)
        insert_rate_rows(store, _edge_rows(), file_id=file_id, payer="Cigna")
    return file_id


def test_summary_equals_the_raw_rows_however_rates_arrive(tmp_path: Path) -> None:
    db = tmp_path / "atlas.duckdb"
    first = [
        _synthetic(tmp_path, 1, "Aetna Life", "2025-10-01"),
        _synthetic(tmp_path, 2, "Aetna Life", "2023-01-01"),
    ]
    other = _synthetic(tmp_path, 3, "Other Plan", "2025-10-01")
    assert run(db, "ingest", "tic", *first, "--codes", "J9032", "--payer", "Aetna")[0] == 0
    assert run(db, "ingest", "tic", other, "--codes", "J9032", "--payer", "UnitedHealthcare")[0] == 0
    # The same files for more codes: rows added to files already stored, observations derived again.
    assert run(db, "ingest", "tic", *first, "--codes", "J9032,J9330", "--payer", "Aetna")[0] == 0
    with Store(db) as store:
        _add_by_hand(store, "by-hand.json")
        assert_tic_facts_match_raw_rows(store)

    # A failed file leaves no trace, in the derived table as anywhere.
    broken = tmp_path / "broken.json"
    broken.write_text('{"reporting_entity_name": "X", "in_network": [{"billing_code": ', encoding="utf-8")
    before = table_counts(db)
    code, err = run(db, "ingest", "tic", str(broken), "--codes", "J9032,J9330")
    assert code == 2 and "broken.json" in err
    assert table_counts(db) == before
    # Beside a good file: the good one lands with its observations, the broken one nowhere.
    good = _synthetic(tmp_path, 5, "Cigna", "2025-10-01")
    code, err = run(db, "ingest", "tic", str(broken), good, "--codes", "J9032,J9330")
    assert code != 0 and "1 of 2 file(s) failed" in err
    with Store(db, read_only=True) as store:
        assert_tic_facts_match_raw_rows(store)


def _in_code_order(store: Store) -> bool:
    codes = [
        c
        for (c,) in store.con.execute("SELECT billing_code FROM core_tic_rate_rows ORDER BY rowid").fetchall()
    ]
    return codes == sorted(codes)


def test_ingest_keeps_rates_in_code_order_and_lists_once(tmp_path: Path) -> None:
    """Files ingested after the last compaction are rewritten in code order once they are a quarter of the
    rows; each distinct list is stored once; the figures stay those of the raw rows."""
    db = tmp_path / "atlas.duckdb"
    files = [_synthetic(tmp_path, seed, "Aetna Life", "2025-10-01") for seed in (1, 2, 3)]
    result = CliRunner().invoke(main, ["--db", str(db), "ingest", "tic", *files, "--codes", "J9032,J9330"])
    assert result.exit_code == 0 and "put in billing-code order (compaction)" in result.stdout
    with Store(db) as store:
        assert _in_code_order(store) and not needs_compaction(store)
        lists = store.con.execute("SELECT count(*), count(DISTINCT codes) FROM core_tic_lists").fetchone()
        assert lists is not None and lists[0] == lists[1] > 0
        _add_by_hand(store, "by-hand.json")  # one more file: not due yet (under a quarter of the rows)
        assert not needs_compaction(store) and not _in_code_order(store)
        assert_tic_facts_match_raw_rows(store)
        count = store.con.execute("SELECT count(*) FROM core_tic_rate_rows").fetchone()
        assert count is not None and compact_rates(store) == count[0]
        assert _in_code_order(store)
        assert_tic_facts_match_raw_rows(store)


def test_a_failed_compaction_leaves_the_files_stored_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Compaction only speeds reads up: when it fails the files stay stored, the rows as they were, and
    the command warns and exits 0."""
    import duckdb

    import hcpcs_atlas.store.tic as tic

    def fail(store: Store) -> int:
        store.con.execute("UPDATE core_tic_rate_rows SET negotiated_rate = -1")  # undone by the rollback
        raise duckdb.IOException("No space left on device")

    with monkeypatch.context() as patched:
        patched.setattr(tic, "compact_rates", lambda store: _in_transaction(store, fail))
        db = tmp_path / "atlas.duckdb"
        files = [_synthetic(tmp_path, seed, "Aetna Life", "2025-10-01") for seed in (1, 2)]
        result = CliRunner().invoke(
            main, ["--db", str(db), "ingest", "tic", *files, "--codes", "J9032,J9330"]
        )
    assert result.exit_code == 0, result.output
    assert "compaction failed (No space left on device)" in result.stderr
    with Store(db) as store:
        assert store.con.execute("SELECT count(*) FROM core_tic_files").fetchone() == (2,)
        assert store.con.execute("SELECT min(negotiated_rate) > 0 FROM core_tic_rate_rows").fetchone() == (
            True,
        )
        assert needs_compaction(store)


def _in_transaction(store: Store, work: Any) -> int:
    with store.transaction():
        result: int = work(store)
    return result


def _as_schema_1(db: Path) -> None:
    """Turn a store back into schema 1: lists in every rate row of a core_tic_rates table."""
    import duckdb

    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE rates_v1 AS FROM core_tic_rates ORDER BY file_id")
    con.execute("DROP VIEW core_tic_rates; DROP TABLE core_tic_rate_rows; DROP TABLE core_tic_lists")
    con.execute("DROP TABLE core_tic_provider_sets")
    con.execute("DROP TABLE core_tic_code_summaries")
    con.execute("ALTER TABLE rates_v1 RENAME TO core_tic_rates")
    con.execute("UPDATE atlas_meta SET value = '1' WHERE key = 'schema_version'")
    con.execute("DELETE FROM atlas_meta WHERE key LIKE 'tic_%_in_order'")
    con.close()


def test_a_schema_1_store_is_migrated_when_opened_for_writing(tmp_path: Path) -> None:
    db = tmp_path / "atlas.duckdb"
    files = [_synthetic(tmp_path, seed, "Aetna Life", "2025-10-01") for seed in (1, 2)]
    assert run(db, "ingest", "tic", *files, "--codes", "J9032,J9330")[0] == 0
    with Store(db) as store:
        _add_by_hand(store, "by-hand.json")
        rows = sorted(map(repr, store.con.execute("FROM core_tic_rates").fetchall()))
    _as_schema_1(db)
    with pytest.raises(StoreError, match="store schema 1 is not 4; any load or ingest upgrades it"):
        Store(db, read_only=True)
    with Store(db) as store:
        assert sorted(map(repr, store.con.execute("FROM core_tic_rates").fetchall())) == rows
        assert _in_code_order(store) and not needs_compaction(store)
        assert_tic_facts_match_raw_rows(store)


def _canonical(rows: list[CodeSummary] | None) -> list[str]:
    """A summary's rows in a fixed order (NPIs sorted): stored and live ones list them as DuckDB yields."""
    assert rows is not None
    return sorted(repr(r._replace(npis=sorted(r.npis) if r.npis is not None else None)) for r in rows)


def _stored_codes(store: Store) -> set[str]:
    rows = store.con.execute("SELECT DISTINCT billing_code FROM core_tic_code_summaries").fetchall()
    return {str(c) for (c,) in rows}


def test_stored_summaries_equal_live_ones_and_are_never_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An ingest stores each code's summary, equal to the live one; it answers only for its Medicare amount
    and rules; rows added to a code drop it in their own transaction (a rollback keeps it)."""
    from hcpcs_atlas.facts.tic import _rules, write_tic_summaries

    monkeypatch.setattr("hcpcs_atlas.facts.tic.SUMMARY_MIN_ROWS", 0)  # these codes have a few rows each

    db = tmp_path / "atlas.duckdb"
    files = [_synthetic(tmp_path, seed, "Aetna Life", "2025-10-01") for seed in (1, 2)]
    result = CliRunner().invoke(main, ["--db", str(db), "ingest", "tic", *files, "--codes", "J9032,J9330"])
    assert result.exit_code == 0, result.output
    rules = _rules()
    with Store(db) as store:
        codes = ["J9032", "J9330"]
        assert _stored_codes(store) == set(codes)
        for code in codes:
            assert _canonical(stored_summary(store, code, None, rules)) == _canonical(
                live_summary(store, code, None, rules)
            )
            assert stored_summary(store, code, 40.0, rules) is None  # another amount: computed live
            assert stored_summary(store, code, None, rules._replace(key="other rules")) is None
        assert write_summaries(store, dict.fromkeys(codes, 40.0), rules) == 2
        assert write_summaries(store, dict.fromkeys(codes, 40.0), rules) == 0  # all valid: nothing to do
        for code in codes:
            assert stored_summary(store, code, None, rules) is None
            assert _canonical(stored_summary(store, code, 40.0, rules)) == _canonical(
                live_summary(store, code, 40.0, rules)
            )
        # Rows added and rolled back: the summaries stay, as the rows do.
        with pytest.raises(RuntimeError), store.transaction():
            insert_rate_rows(store, _edge_rows(), file_id=99, payer="Cigna")
            assert _stored_codes(store) == set()
            raise RuntimeError("rolled back")
        assert _stored_codes(store) == set(codes)
        _add_by_hand(store, "by-hand.json")  # rows of both codes: their summaries dropped with the insert
        assert _stored_codes(store) == set()
        assert_tic_facts_match_raw_rows(store)
        # After an ingest of few rows, codes holding many more wait for the next compaction.
        assert write_tic_summaries(store, ingested=1) == (0, None) and _stored_codes(store) == set()
        assert write_tic_summaries(store) == (2, None)
        assert_tic_facts_match_raw_rows(store)  # now from the stored summaries where the amount is None


#: Schema 3's view: the provider groups in every rate row.
_VIEW_3 = """
CREATE VIEW core_tic_rates AS
SELECT r.file_id, r.payer, r.billing_code, r.billing_code_type, r.negotiation_arrangement, r.negotiated_type,
       r.negotiated_rate, r.expiration_date, r.billing_class, r.setting, s.codes AS service_codes,
       m.codes AS modifiers, r.additional_information, r.provider_group_id, r.tin_type, r.tin_value, r.npis,
       r.network_names
FROM core_tic_rate_rows r
LEFT JOIN core_tic_lists s ON s.list_id = r.service_codes_id
LEFT JOIN core_tic_lists m ON m.list_id = r.modifiers_id
"""


def _as_schema_3(db: Path, version: str = "3") -> None:
    """Turn a store back into schema 3 (or 2, without stored summaries): each rate row with its provider
    group's columns, in the store's order, and no provider sets."""
    import duckdb

    con = duckdb.connect(str(db))
    con.execute(
        "CREATE TABLE rows_v3 AS SELECT r.* EXCLUDE (pset), g.* EXCLUDE (file_id, pset) "
        "FROM core_tic_rate_rows r JOIN core_tic_provider_sets g USING (file_id, pset) ORDER BY r.rowid"
    )
    con.execute("DROP VIEW core_tic_rates; DROP TABLE core_tic_rate_rows; DROP TABLE core_tic_provider_sets")
    con.execute("ALTER TABLE rows_v3 RENAME TO core_tic_rate_rows")
    con.execute(_VIEW_3)
    if version == "2":
        con.execute("DROP TABLE core_tic_code_summaries")
    con.execute("UPDATE atlas_meta SET value = ? WHERE key = 'schema_version'", [version])
    con.close()


@pytest.mark.parametrize("version", ["2", "3"])
def test_a_schema_2_or_3_store_gets_provider_sets_when_opened_for_writing(
    tmp_path: Path, version: str
) -> None:
    """Schema 3 kept each provider group's columns in every rate row (2: also no stored summaries); opened
    for writing, its rows name sets of their file, the view's rows and the figures unchanged."""
    db = tmp_path / "atlas.duckdb"
    files = [_synthetic(tmp_path, seed, "Aetna Life", "2025-10-01") for seed in (1, 2)]
    assert run(db, "ingest", "tic", *files, "--codes", "J9032,J9330")[0] == 0
    with Store(db) as store:
        _add_by_hand(store, "by-hand.json")
        rows = sorted(map(repr, store.con.execute("FROM core_tic_rates").fetchall()))
    _as_schema_3(db, version)
    with pytest.raises(StoreError, match=f"store schema {version} is not 4; any load or ingest upgrades it"):
        Store(db, read_only=True)
    with Store(db) as store:
        assert sorted(map(repr, store.con.execute("FROM core_tic_rates").fetchall())) == rows
        assert _in_code_order(store) and not needs_compaction(store)
        if version == "2":
            assert _stored_codes(store) == set()  # facts computes live until the next ingest writes them
        assert_tic_facts_match_raw_rows(store)
        sets = store.con.execute(
            "SELECT count(*), count(DISTINCT (file_id, provider_group_id, tin_type, tin_value, npis, "
            "network_names)) FROM core_tic_provider_sets"
        ).fetchone()
        assert sets is not None and sets[0] == sets[1] > 0  # each group of a file stored once
    with Store(db, read_only=True) as store:
        row = store.con.execute("SELECT value FROM atlas_meta WHERE key = 'schema_version'").fetchone()
        assert row == ("4",)


def test_a_failed_summary_write_leaves_every_code_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Summaries are written a range of codes per transaction: a failure keeps the ranges written before,
    writes nothing of its own, says so, and facts stays equal to the raw rows."""
    import duckdb

    import hcpcs_atlas.store.tic_summary as tic_summary
    from hcpcs_atlas.facts.tic import write_tic_summaries

    db = tmp_path / "atlas.duckdb"
    files = [_synthetic(tmp_path, seed, "Aetna Life", "2025-10-01") for seed in (1, 2)]
    assert run(db, "ingest", "tic", *files, "--codes", "J9032,J9330")[0] == 0
    read_codes = tic_summary._read_codes
    calls: list[int] = []

    def second_fails(store: Store, medicare: Any, rules: Any) -> None:
        calls.append(1)
        read_codes(store, medicare, rules)
        if len(calls) == 2:
            raise duckdb.IOException("No space left on device")

    with Store(db) as store:
        store.con.execute("DELETE FROM core_tic_code_summaries")
        monkeypatch.setattr("hcpcs_atlas.facts.tic.SUMMARY_MIN_ROWS", 0)
        monkeypatch.setattr(tic_summary, "_read_codes", second_fails)
        monkeypatch.setattr(tic_summary, "SUMMARY_ROWS", 1)  # one code per range
        written, error = write_tic_summaries(store)
        assert (written, error) == (0, "No space left on device")
        assert _stored_codes(store) == {"J9032"}
        kinds = store.con.execute(
            "SELECT count(*) FILTER (WHERE payer IS NULL), count(*) FROM core_tic_code_summaries"
        ).fetchone()
        assert kinds is not None and kinds[0] == 1 and kinds[1] > 1
        monkeypatch.undo()
        assert_tic_facts_match_raw_rows(store)


def test_codes_of_few_rows_are_left_to_the_live_computation(tmp_path: Path) -> None:
    """Below SUMMARY_MIN_ROWS a stored summary saves nothing worth its write: an ingest stores none."""
    from hcpcs_atlas.facts.tic import SUMMARY_MIN_ROWS, _rules, write_tic_summaries

    db = tmp_path / "atlas.duckdb"
    files = [_synthetic(tmp_path, seed, "Aetna Life", "2025-10-01") for seed in (1, 2)]
    assert run(db, "ingest", "tic", *files, "--codes", "J9032,J9330")[0] == 0
    with Store(db) as store:
        most = store.con.execute(
            "SELECT count(*) FROM core_tic_rate_rows GROUP BY billing_code ORDER BY 1 DESC"
        )
        assert most.fetchall()[0][0] < SUMMARY_MIN_ROWS
        assert _stored_codes(store) == set() and write_tic_summaries(store) == (0, None)
        assert write_summaries(store, {}, _rules(), min_rows=1) == 2
        assert_tic_facts_match_raw_rows(store)


def test_a_store_taken_by_a_reader_after_the_last_file_is_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The files are committed when the summaries are written: a store another process holds by then
    (docs/concurrency.md allows readers between files) leaves them to facts' live computation."""
    from hcpcs_atlas.errors import StoreError
    from hcpcs_atlas.facts import tic

    def taken(_store: Any) -> Any:
        raise StoreError("atlas.duckdb: in use by process 1 (python3) for 1 s; try again when it is done")

    monkeypatch.setattr(tic, "writing", taken)
    assert tic.write_tic_summaries(lambda: Store(tmp_path / "atlas.duckdb")) == (
        0,
        "atlas.duckdb: in use by process 1 (python3) for 1 s; try again when it is done",
    )
