"""NUCC taxonomy and NPPES NPI files: real headers and rows, layouts by name, zip, bad input."""

from __future__ import annotations

import csv
import zipfile
from datetime import date
from pathlib import Path

import pytest

from hcpcs_atlas.errors import InputError, SchemaDriftError
from hcpcs_atlas.sources.nppes import open_nppes
from hcpcs_atlas.sources.nucc import read_nucc
from hcpcs_atlas.store import Store, load_file
from hcpcs_atlas.store.nppes import load_nppes, providers
from hcpcs_atlas.store.nucc import taxonomies
from hcpcs_atlas.synth.nppes import Layout, NppesProvider, NppesSynthOptions, nppes_header, write_nppes

NUCC = "nucc/nucc_taxonomy_251.csv"
NPPES_2016 = "nppes/npidata_first10_2016.csv"


def test_nucc_real_file(shared_data: Path) -> None:
    parsed = read_nucc(shared_data / NUCC)
    assert len(parsed.rows) == 883
    assert parsed.meta["version"] == "25.1"
    by_code = {t.code: t for t in parsed.rows}
    onc = by_code["207RH0003X"]
    assert (onc.classification, onc.specialization) == ("Internal Medicine", "Hematology & Oncology")
    assert onc.display_name == "Hematology & Oncology Physician"
    assert by_code["282N00000X"].section == "Non-Individual"
    assert by_code["193200000X"].specialization is None


def test_nucc_load_and_lookup(shared_data: Path, tmp_path: Path) -> None:
    with Store(tmp_path / "a.duckdb") as store:
        assert load_file(store, "nucc", shared_data / NUCC).rows == 883
        assert load_file(store, "nucc", shared_data / NUCC).already_loaded
        found = taxonomies(store, ["207RX0202X", "999999999X"])
    assert list(found) == ["207RX0202X"]
    assert found["207RX0202X"].display_name == "Medical Oncology Physician"


def test_nucc_without_classification_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "nucc.csv"
    bad.write_text("Code,Grouping,Definition\n207RX0202X,Physicians,x\n")
    with pytest.raises(SchemaDriftError, match="Classification"):
        read_nucc(bad)


def test_generated_2016_header_is_the_real_one(shared_data: Path) -> None:
    with (shared_data / NPPES_2016).open(newline="") as fh:
        assert next(csv.reader(fh)) == nppes_header("2016")
    current = nppes_header("current")
    assert len(current) == 330 and "Provider Sex Code" in current and current[-1] == "Certification Date"


def test_nppes_real_rows(shared_data: Path, tmp_path: Path) -> None:
    with Store(tmp_path / "a.duckdb") as store:
        result = load_nppes(store, shared_data / NPPES_2016)
        assert result.rows == 10
        found = providers(store, [1679576722, 1215930367, 1497758544, 1588667638, 1234567893])
    assert len(found) == 4  # an NPI not in the file is absent, never guessed
    wiebe = found[1679576722]
    assert (wiebe.entity_type, wiebe.primary_taxonomy, wiebe.taxonomies) == (
        "1",
        "207X00000X",
        ["207X00000X"],
    )
    assert (wiebe.practice_state, wiebe.practice_zip5, wiebe.practice_city) == ("NE", "68847", "KEARNEY")
    # switch N on taxonomy 1, Y on taxonomy 2: the primary is the second
    assert found[1215930367].primary_taxonomy == "207RH0003X"
    assert found[1215930367].taxonomies == ["174400000X", "207RH0003X"]
    assert found[1497758544].entity_type == "2"
    assert found[1497758544].practice_state == "NC"


def _given() -> tuple[NppesProvider, ...]:
    return (
        NppesProvider(1111111112, "1", ("207RX0202X", "207RH0003X"), 1, "TX", "770901243", "HOUSTON"),
        NppesProvider(1111111113, "2", ("261QX0203X",), None, "CA", "94559", "NAPA"),
        NppesProvider(1111111114, "", (), None, "", "", "", date(2019, 5, 7)),
    )


@pytest.mark.parametrize("layout", ["2016", "current"])
def test_nppes_layouts_read_by_name(tmp_path: Path, layout: Layout) -> None:
    """The same providers in the 2016 layout and in the current one with every column moved."""
    options = NppesSynthOptions(
        rows=300, layout=layout, shuffle_columns=layout == "current", providers=_given()
    )
    synth = write_nppes(tmp_path / "npidata_pfile_20050523-20251109.csv", options)
    with Store(tmp_path / "a.duckdb") as store:
        result = load_nppes(store, synth.path)
        found = providers(store, synth.expected)
        record = store.files("nppes")[0]
    assert result.rows == 303
    assert (record["effective_start"], record["effective_end"]) == (date(2005, 5, 23), date(2025, 11, 9))
    for npi, want in synth.expected.items():
        got = found[npi]
        assert got.primary_taxonomy == want.primary_taxonomy
        assert tuple(got.taxonomies) == want.taxonomies
        assert (got.practice_state or "", got.practice_zip5 or "") == (want.state, want.zip_code[:5])
        assert got.deactivation_date == want.deactivated
        assert (got.entity_type or "") == want.entity_type


def test_nppes_renamed_practice_columns(tmp_path: Path) -> None:
    """A header spelling the practice-location columns another way still loads (aliases are data)."""
    synth = write_nppes(tmp_path / "src.csv", NppesSynthOptions(rows=20, providers=_given()[:1]))
    text = synth.path.read_text().replace(
        "Provider Business Practice Location Address", "Provider Practice Location Address"
    )
    renamed = tmp_path / "renamed.csv"
    renamed.write_text(text)
    with Store(tmp_path / "a.duckdb") as store:
        load_nppes(store, renamed)
        assert providers(store, [1111111112])[1111111112].practice_city == "HOUSTON"


def test_nppes_zip_and_weekly_update(tmp_path: Path) -> None:
    monthly = write_nppes(
        tmp_path / "NPPES_Data_Dissemination.zip",
        NppesSynthOptions(rows=50, archive="zip", providers=_given()),
    )
    moved = NppesProvider(1111111112, "1", ("207RX0202X",), 0, "FL", "33101", "MIAMI")
    weekly = write_nppes(
        tmp_path / "npidata_pfile_20251103-20251109.csv",
        NppesSynthOptions(rows=5, first_npi=1_500_000_000, providers=(moved,)),
    )
    with Store(tmp_path / "a.duckdb") as store:
        assert load_nppes(store, monthly.path).rows == 53
        assert load_nppes(store, weekly.path).rows == 6
        assert load_nppes(store, monthly.path).already_loaded
        found = providers(store, [1111111112, 1111111113])
        total = store.con.execute("SELECT count(*), count(DISTINCT npi) FROM core_nppes_providers").fetchone()
    assert found[1111111112].practice_state == "FL"  # the weekly file replaced the NPI's row
    assert found[1111111113].practice_state == "CA"  # untouched
    assert total == (58, 58)


def test_nppes_bad_inputs(tmp_path: Path) -> None:
    not_nppes = tmp_path / "other.csv"
    not_nppes.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(SchemaDriftError, match="NPI"):
        open_nppes(not_nppes)
    empty_zip = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty_zip, "w") as archive:
        archive.writestr("readme.txt", "no data")
    with pytest.raises(InputError, match="npidata_pfile"):
        open_nppes(empty_zip)


def test_nppes_malformed_row_leaves_store_unchanged(tmp_path: Path) -> None:
    synth = write_nppes(tmp_path / "ok.csv", NppesSynthOptions(rows=10))
    lines = synth.path.read_text().splitlines(keepends=True)
    bad = tmp_path / "bad.csv"
    bad.write_text("".join([*lines[:5], '"12345","1"\n', *lines[5:]]))
    with Store(tmp_path / "a.duckdb") as store:
        with pytest.raises(InputError, match=r"bad\.csv"):
            load_nppes(store, bad)
        assert store.files("nppes") == []
        assert store.con.execute("SELECT count(*) FROM core_nppes_providers").fetchone() == (0,)
