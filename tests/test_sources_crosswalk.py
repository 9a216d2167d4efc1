"""The ASP NDC-HCPCS crosswalk (October 2025 quarter) and the NOC crosswalk."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import openpyxl
import pytest

from hcpcs_atlas.errors import InputError, SchemaDriftError
from hcpcs_atlas.sources import ParsedFile, is_level2
from hcpcs_atlas.sources.crosswalk import CrosswalkRow, read_crosswalk

CROSSWALK = "asp/2025_Oct_ASP_NDC-HCPCS_Crosswalk.csv"
NOC_CROSSWALK = "asp/2025_Oct_ASP_NOC_NDC-HCPCS_Crosswalk.csv"


@pytest.fixture(scope="module")
def crosswalk(shared_data: Path) -> ParsedFile[CrosswalkRow]:
    return read_crosswalk(shared_data / CROSSWALK)


def rows_for(parsed: ParsedFile[CrosswalkRow], code: str) -> list[CrosswalkRow]:
    return [row for row in parsed.rows if row.code == code]


def test_every_row_parsed(crosswalk: ParsedFile[CrosswalkRow]) -> None:
    assert len(crosswalk.rows) == 8245
    assert len({row.code for row in crosswalk.rows}) == 974
    assert sum(row.code.startswith("J9") for row in crosswalk.rows) == 955
    assert crosswalk.source == "crosswalk"


def test_effective_period_and_meta(crosswalk: ParsedFile[CrosswalkRow]) -> None:
    assert (crosswalk.effective_start, crosswalk.effective_end) == (date(2025, 10, 1), date(2025, 12, 31))
    assert (crosswalk.meta["format"], crosswalk.meta["encoding"]) == ("csv", "cp1252")
    assert crosswalk.meta["header_row"] == 9
    assert crosswalk.meta["columns"]["code"] == "_2025_CODE"
    assert crosswalk.meta["title"] == "October 2025 ASP NDC - HCPCS Crosswalk for Medicare Part B Drugs"


def test_j9032_has_one_ndc(crosswalk: ParsedFile[CrosswalkRow]) -> None:
    assert rows_for(crosswalk, "J9032") == [
        CrosswalkRow(
            code="J9032",
            short_description="Injection, belinostat, 10mg",
            labeler="Acrotech Biopharma LLC",
            ndc="72893-0002-01",
            drug_name="Beleodaq",
            dosage="10 MG",
            package_size=1.0,
            package_quantity=1.0,
            billing_units=50.0,
            billing_units_per_package=50.0,
        )
    ]


def test_j9330_has_four_ndcs(crosswalk: ParsedFile[CrosswalkRow]) -> None:
    j9330 = rows_for(crosswalk, "J9330")
    assert [row.ndc for row in j9330] == ["00008-1179-01", "16729-0223-61", "65219-0200-05", "72611-0785-02"]
    assert {(row.dosage, row.billing_units_per_package) for row in j9330} == {("1 MG", 25.0)}
    assert j9330[0].labeler == "Pfizer Inc"


def test_cpt_descriptors_are_not_kept(crosswalk: ParsedFile[CrosswalkRow]) -> None:
    cpt = [row for row in crosswalk.rows if not is_level2(row.code)]
    assert len(cpt) == 27
    assert all(row.short_description is None for row in cpt)
    hep_b = rows_for(crosswalk, "90371")
    assert len(hep_b) == 5
    assert (hep_b[1].ndc, hep_b[1].drug_name, hep_b[1].package_size) == ("13533-0636-03", "HyperHepB", 0.5)


def test_cell_text_is_trimmed_and_cp1252(crosswalk: ParsedFile[CrosswalkRow]) -> None:
    # Some drug names end in a line break inside the quotes; 0x99 is the trademark sign.
    (ketorolac,) = [row for row in crosswalk.rows if row.ndc == "00404-9998-01"]
    assert ketorolac.drug_name == "Ketorolac Tromethamine"
    assert rows_for(crosswalk, "Q4236")[0].drug_name == "CarePatch\u2122 Amniotic Membrane"


def test_noc_crosswalk(shared_data: Path) -> None:
    noc = read_crosswalk(shared_data / NOC_CROSSWALK)
    assert [
        (row.code, row.short_description, row.ndc, row.billing_units_per_package) for row in noc.rows
    ] == [
        ("NOC", "Vasopressin (Long Grove)", "81298-8552-03", 200.0),
        ("NOC", "Vasopressin (Long Grove)", "81298-8554-03", 400.0),
    ]
    assert (noc.effective_start, noc.effective_end) == (date(2025, 10, 1), date(2025, 12, 31))
    assert noc.meta["header_row"] == 10  # 9 preamble lines


def test_next_years_code_column(
    shared_data: Path, tmp_path: Path, crosswalk: ParsedFile[CrosswalkRow]
) -> None:
    data = (shared_data / CROSSWALK).read_bytes().replace(b"_2025_CODE,", b"_2026_CODE,", 1)
    (tmp_path / "crosswalk.csv").write_bytes(data)
    parsed = read_crosswalk(tmp_path / "crosswalk.csv")
    assert parsed.rows == crosswalk.rows
    assert parsed.meta["columns"]["code"] == "_2026_CODE"


def test_xlsx_with_the_same_layout(
    shared_data: Path, tmp_path: Path, crosswalk: ParsedFile[CrosswalkRow]
) -> None:
    lines = (shared_data / CROSSWALK).read_bytes().decode("cp1252").split("\r\n")
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["October 2025 ASP NDC - HCPCS Crosswalk for Medicare Part B Drugs"])
    sheet.append(["     Effective October 1, 2025 through December 31, 2025"])
    sheet.append([])
    sheet.append(lines[8].split(",")[:10])
    sheet.append(
        ["J9032", "Injection, belinostat, 10mg", "Acrotech Biopharma LLC", "72893-0002-01", "Beleodaq"]
    )
    sheet.cell(5, 6, "10 MG")
    for column, value in enumerate((1, 1, 50, 50), start=7):
        sheet.cell(5, column, value)
    book.save(tmp_path / "crosswalk.xlsx")
    parsed = read_crosswalk(tmp_path / "crosswalk.xlsx")
    assert parsed.rows == rows_for(crosswalk, "J9032")
    assert (parsed.effective_start, parsed.meta["format"], parsed.meta["header_row"]) == (
        date(2025, 10, 1),
        "xlsx",
        4,
    )


# --- bad input -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "other",
    [
        "asp/2025_Oct_ASP_Pricing_File.csv",
        "hcpcs/2025_oct/HCPC2025_OCT_ANWEB_v4.xlsx",
        "hcpcs/2020/HCPC2020_ANWEB_w_disclaimer.xls",
        "opps/softek_derived_Addendum_B_2026-04.csv",
        "asp/2025_Oct_ASP_Crosswalk_Field_Descriptions.csv",
    ],
)
def test_other_kinds_of_file_are_refused(shared_data: Path, other: str) -> None:
    with pytest.raises(SchemaDriftError, match="no ASP NDC-HCPCS crosswalk header row") as caught:
        read_crosswalk(shared_data / other)
    assert str(caught.value).startswith(str(shared_data / other))
    assert "\n" not in str(caught.value)


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "crosswalk.csv").write_bytes(b"\r\n")
    with pytest.raises(InputError, match=r"crosswalk\.csv: file is empty"):
        read_crosswalk(tmp_path / "crosswalk.csv")


def test_missing_ndc_names_row(shared_data: Path, tmp_path: Path) -> None:
    data = (shared_data / CROSSWALK).read_bytes().replace(b",72893-0002-01,", b",,")
    (tmp_path / "crosswalk.csv").write_bytes(data)
    line = data[: data.index(b"\r\nJ9032,")].count(b"\n") + 2
    with pytest.raises(InputError, match=rf"crosswalk\.csv, row {line}, column 'NDC2': missing NDC"):
        read_crosswalk(tmp_path / "crosswalk.csv")


def test_unparseable_units_name_row_and_column(shared_data: Path, tmp_path: Path) -> None:
    data = (
        (shared_data / CROSSWALK)
        .read_bytes()
        .replace(b"Beleodaq,10 MG,1,1,50,50", b"Beleodaq,10 MG,1,1,fifty,50")
    )
    (tmp_path / "crosswalk.csv").write_bytes(data)
    with pytest.raises(
        InputError, match=r"crosswalk\.csv, row \d+, column 'BILLUNITS': not a number: 'fifty'"
    ):
        read_crosswalk(tmp_path / "crosswalk.csv")


def test_truncated_xlsx(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.save(tmp_path / "full.xlsx")
    data = (tmp_path / "full.xlsx").read_bytes()
    (tmp_path / "crosswalk.xlsx").write_bytes(data[:-100])
    with pytest.raises(InputError, match=r"crosswalk\.xlsx: not a readable \.xlsx workbook"):
        read_crosswalk(tmp_path / "crosswalk.xlsx")
