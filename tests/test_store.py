"""Loading real CMS files: one transaction per file, idempotent, and bad input leaves the store unchanged."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from hcpcs_atlas.errors import InputError
from hcpcs_atlas.store import Store, load_file
from hcpcs_atlas.store.db import memory_limit

from .helpers import ASP, CROSSWALK, HCPCS_2025_XLSX, OPPS_2023, table_counts


def test_real_files_load_with_provenance(real_store: Path) -> None:
    with Store(real_store, read_only=True) as store:
        files = {f["file_name"]: f for f in store.files()}
    asp = files["2025_Oct_ASP_Pricing_File.csv"]
    assert (asp["row_count"], asp["effective_start"], asp["effective_end"]) == (
        1012,
        date(2025, 10, 1),
        date(2025, 12, 31),
    )
    assert files["2025_Oct_ASP_NDC-HCPCS_Crosswalk.csv"]["row_count"] == 8245
    assert files["2023_January_Web_Addendum_B.12212022.xlsx"]["effective_start"] == date(2023, 1, 1)
    assert files["HCPC2025_OCT_ANWEB_v4.xlsx"]["effective_start"] == date(2025, 10, 1)
    assert all(len(f["sha256"]) == 64 for f in files.values())


def test_loading_the_same_file_twice_changes_nothing(store_copy: Path, shared_data: Path) -> None:
    before = table_counts(store_copy)
    with Store(store_copy) as store:
        for load, name in (
            ("asp", ASP),
            ("crosswalk", CROSSWALK),
            ("hcpcs", HCPCS_2025_XLSX),
            ("opps", OPPS_2023),
        ):
            assert load_file(store, load, shared_data / name).already_loaded
    assert table_counts(store_copy) == before


@pytest.mark.parametrize(
    ("load", "wrong"),
    [
        ("hcpcs", ASP),
        ("asp", CROSSWALK),
        ("crosswalk", ASP),
        ("opps", ASP),
        ("asp", HCPCS_2025_XLSX),
    ],
)
def test_wrong_file_kind_is_refused_and_store_unchanged(
    store_copy: Path, shared_data: Path, load: str, wrong: str
) -> None:
    before = table_counts(store_copy)
    with Store(store_copy) as store, pytest.raises(InputError) as err:
        load_file(store, load, shared_data / wrong)
    assert Path(wrong).name in str(err.value) and "\n" not in str(err.value)
    assert table_counts(store_copy) == before


def test_truncated_and_empty_files_are_refused(store_copy: Path, shared_data: Path, tmp_path: Path) -> None:
    before = table_counts(store_copy)
    data = (shared_data / ASP).read_bytes()
    cases = {
        "empty.csv": b"",
        "2025_Oct_ASP_cut.csv": data[: data.index(b"J9032") + 12],
        "HCPC2025_OCT_cut.xlsx": (shared_data / HCPCS_2025_XLSX).read_bytes()[:50_000],
    }
    loaders = {"empty.csv": "asp", "2025_Oct_ASP_cut.csv": "asp", "HCPC2025_OCT_cut.xlsx": "hcpcs"}
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        with Store(store_copy) as store, pytest.raises(InputError) as err:
            load_file(store, loaders[name], tmp_path / name)
        assert name in str(err.value)
    assert table_counts(store_copy) == before


def test_missing_file_names_the_path(store_copy: Path, tmp_path: Path) -> None:
    with Store(store_copy) as store, pytest.raises(InputError, match="no such file"):
        load_file(store, "asp", tmp_path / "nope.csv")


def test_failure_inside_the_transaction_rolls_back(
    store_copy: Path, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = table_counts(store_copy)
    original = Store.insert_rows

    def fail_on_rows(self: Store, table: str, rows, **constants):  # type: ignore[no-untyped-def]
        original(self, table, rows, **constants)
        raise RuntimeError("disk full")

    monkeypatch.setattr(Store, "insert_rows", fail_on_rows)
    with Store(store_copy) as store, pytest.raises(RuntimeError):
        load_file(store, "opps", shared_data / "opps/softek_derived_Addendum_B_2026-04.csv")
    assert table_counts(store_copy) == before


def test_effective_date_override(store_copy: Path, shared_data: Path, tmp_path: Path) -> None:
    renamed = tmp_path / "asp_copy_with_extra_line.csv"
    renamed.write_bytes((shared_data / ASP).read_bytes() + b"\r\n")
    with Store(store_copy) as store:
        result = load_file(store, "asp", renamed, date(2025, 11, 1))
        row = store.con.execute(
            "SELECT effective_start FROM source_files WHERE file_id = ?", [result.file_id]
        ).fetchone()
    assert row == (date(2025, 11, 1),)


def test_a_statement_failing_under_a_memory_cap_keeps_its_error_and_the_cap_goes_back(tmp_path: Path) -> None:
    """The failure aborts the transaction (DuckDB then refuses even SET): the cap is put back after the
    rollback, and the error raised is the statement's own."""
    with Store(tmp_path / "s.duckdb") as store:
        before = store.con.execute("SELECT current_setting('memory_limit')").fetchone()
        with pytest.raises(duckdb.Error, match="boom"), store.transaction(), memory_limit(store, "50MB"):
            store.con.execute("SELECT error('boom')")
        assert store.con.execute("SELECT current_setting('memory_limit')").fetchone() == before
