"""Inputs as CMS ships them: zips, .gz, folders and several files at once, each file its own transaction."""

from __future__ import annotations

import gzip
import shutil
import zipfile
from pathlib import Path

import pytest

from hcpcs_atlas.errors import InputError
from hcpcs_atlas.store import Store, input_files, load_file

from .helpers import ASP, CROSSWALK, table_counts
from .test_cli import run

ZIP_2017 = "hcpcs/2017/2017-Alpha-Numeric-HCPCS-File.zip"


def test_cms_zip_loads_the_fixed_width_file_and_says_so(shared_data: Path, tmp_path: Path) -> None:
    code, out, err = run("--db", str(tmp_path / "a.duckdb"), "load", "hcpcs", str(shared_data / ZIP_2017))
    assert code == 0, err
    assert "loading HCPC17_CONTR_ANWEB.txt (the hcpcs file in the archive)" in out
    assert "2017-Alpha-Numeric-HCPCS-File.zip:HCPC17_CONTR_ANWEB.txt: loaded" in out
    with Store(tmp_path / "a.duckdb", read_only=True) as store:
        (f,) = store.source_files()
        assert f.file_name == "2017-Alpha-Numeric-HCPCS-File.zip:HCPC17_CONTR_ANWEB.txt"
        assert f.format == "txt"
        assert "J9032" in store.distinct_codes("hcpcs")


def test_zip_with_two_candidates_or_none_is_refused(shared_data: Path, tmp_path: Path) -> None:
    two = tmp_path / "two.zip"
    with zipfile.ZipFile(two, "w") as archive:
        archive.write(shared_data / ASP, "Oct 2025 ASP Pricing File.csv")
        archive.write(shared_data / ASP, "Jul 2025 ASP Pricing File.csv")
    none = tmp_path / "none.zip"
    with zipfile.ZipFile(none, "w") as archive:
        archive.writestr("README.txt", "nothing here")
    with Store(tmp_path / "a.duckdb") as store:
        with pytest.raises(InputError, match=r"two\.zip: several asp files in the archive"):
            load_file(store, "asp", two)
        with pytest.raises(
            InputError, match=r"none\.zip: no asp file in the archive \(it holds README.txt\)"
        ):
            load_file(store, "asp", none)
        assert store.source_files() == []


def test_gzip_loads_and_equals_the_plain_file(shared_data: Path, tmp_path: Path) -> None:
    packed = tmp_path / "2025_Oct_ASP_Pricing_File.csv.gz"
    packed.write_bytes(gzip.compress((shared_data / ASP).read_bytes()))
    with Store(tmp_path / "a.duckdb") as store:
        first = load_file(store, "asp", packed)
        assert first.rows == 1012 and first.file_name == packed.name
        # The same bytes, uncompressed: known by the sha256 of what was parsed, so nothing changes.
        assert load_file(store, "asp", shared_data / ASP).already_loaded
        (f,) = store.source_files()
        assert str(f.effective_start) == "2025-10-01"


def test_truncated_gzip_is_refused_naming_the_file(shared_data: Path, tmp_path: Path) -> None:
    packed = tmp_path / "cut.csv.gz"
    packed.write_bytes(gzip.compress((shared_data / ASP).read_bytes())[:5000])
    with (
        Store(tmp_path / "a.duckdb") as store,
        pytest.raises(InputError, match=r"cut\.csv\.gz: not a complete gzip"),
    ):
        load_file(store, "asp", packed)


def test_folder_loads_its_files_of_the_kind_and_names_a_bad_one(shared_data: Path, tmp_path: Path) -> None:
    folder = tmp_path / "asp"
    folder.mkdir()
    shutil.copy(shared_data / ASP, folder)
    shutil.copy(shared_data / CROSSWALK, folder)  # not an ASP pricing file by its name: skipped
    (folder / "2025_Jan_ASP_Pricing_File.csv").write_bytes(b"not,a,pricing,file\n1,2,3,4\n")
    chosen, skipped = input_files("asp", [folder])
    assert [p.name for p in chosen] == ["2025_Jan_ASP_Pricing_File.csv", "2025_Oct_ASP_Pricing_File.csv"]
    assert [p.name for p in skipped] == [Path(CROSSWALK).name]
    db = tmp_path / "a.duckdb"
    code, out, err = run("--db", str(db), "load", "asp", str(folder))
    assert code == 2
    assert "2025_Oct_ASP_Pricing_File.csv: loaded 1,012 asp rows" in out
    assert "skipped (its name is not one of asp files" in out
    assert "error: 2025_Jan_ASP_Pricing_File.csv" in err and "1 of 2 file(s) failed" in err
    assert table_counts(db)["core_asp_prices"] == 1012


def test_a_folder_given_as_a_file_is_named(tmp_path: Path) -> None:
    with Store(tmp_path / "a.duckdb") as store, pytest.raises(InputError, match="is a folder"):
        load_file(store, "asp", tmp_path)
