"""The ASP Pricing File (October 2025 quarter) and the NOC pricing file, as CSV and as .xlsx."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import openpyxl
import pytest

from hcpcs_atlas.errors import InputError, SchemaDriftError
from hcpcs_atlas.sources import ParsedFile, is_level2
from hcpcs_atlas.sources.asp import AspPrice, read_asp

PRICING = "asp/2025_Oct_ASP_Pricing_File.csv"
NOC_PRICING = "asp/2025_Oct_NOC_Pricing_File.csv"


@pytest.fixture(scope="module")
def pricing(shared_data: Path) -> ParsedFile[AspPrice]:
    return read_asp(shared_data / PRICING)


def by_code(parsed: ParsedFile[AspPrice]) -> dict[str, AspPrice]:
    return {row.code: row for row in parsed.rows}


def test_every_row_parsed(pricing: ParsedFile[AspPrice]) -> None:
    assert len(pricing.rows) == 1012
    assert len(by_code(pricing)) == 1012
    assert sum(row.code.startswith("J9") for row in pricing.rows) == 158
    assert pricing.source == "asp"


def test_effective_period_and_meta(pricing: ParsedFile[AspPrice]) -> None:
    assert (pricing.effective_start, pricing.effective_end) == (date(2025, 10, 1), date(2025, 12, 31))
    assert pricing.meta["format"] == "csv"
    assert pricing.meta["encoding"] == "cp1252"
    assert pricing.meta["header_row"] == 9  # 8 preamble lines
    assert pricing.meta["title"] == "Payment Allowance Limits for Medicare Part B Drugs"


def test_j9032(pricing: ParsedFile[AspPrice]) -> None:
    assert by_code(pricing)["J9032"] == AspPrice(
        code="J9032",
        short_description="Injection, belinostat, 10mg",
        dosage="10 MG",
        payment_limit_usd=52.474,
        coinsurance_pct=19.738,
        vaccine_awp_pct=None,
        vaccine_limit_usd=None,
        blood_awp_pct=None,
        blood_limit_usd=None,
        clotting_factor=None,
        notes="Inflation-adjusted coinsurance",
    )


def test_j9330(pricing: ParsedFile[AspPrice]) -> None:
    j9330 = by_code(pricing)["J9330"]
    assert (j9330.payment_limit_usd, j9330.dosage, j9330.coinsurance_pct) == (26.712, "1 MG", 20.0)
    assert (j9330.short_description, j9330.notes) == ("Temsirolimus injection", None)


def test_cpt_descriptors_are_not_kept(pricing: ParsedFile[AspPrice]) -> None:
    cpt = [row for row in pricing.rows if not is_level2(row.code)]
    assert len(cpt) == 34
    assert all(row.short_description is None for row in cpt)
    assert by_code(pricing)["90371"].payment_limit_usd == 134.194
    assert all(row.short_description for row in pricing.rows if is_level2(row.code))


def test_notes_kept_verbatim(pricing: ParsedFile[AspPrice]) -> None:
    notes = [row.notes for row in pricing.rows]
    assert notes.count("Inflation-adjusted coinsurance") == 82
    # A9606 is priced by AWP: "N/A" as payment limit and a two-line note.
    a9606 = by_code(pricing)["A9606"]
    assert a9606.payment_limit_usd is None
    assert a9606.notes == "microCurie 100% AWP = $202.82\nmicroCurie 100% WAC = $169.02"


def test_vaccine_columns_and_cp1252_text(pricing: ParsedFile[AspPrice]) -> None:
    vaccine = by_code(pricing)["90653"]
    assert (vaccine.vaccine_awp_pct, vaccine.vaccine_limit_usd, vaccine.coinsurance_pct) == (95.0, 98.16, 0.0)
    assert by_code(pricing)["J9325"].dosage == "1 million\xa0PFU"


def test_noc_pricing_file(shared_data: Path) -> None:
    noc = read_asp(shared_data / NOC_PRICING)
    assert noc.rows == [
        AspPrice("NOC", "Vasopressin (Long Grove)", "1 UNIT", 2.462, None, None, None, None, None, None, None)
    ]
    assert (noc.effective_start, noc.effective_end) == (date(2025, 10, 1), date(2025, 12, 31))
    assert noc.meta["header_row"] == 13  # 12 preamble lines


def csv_rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode("cp1252"), newline="")))


def as_cell(value: str) -> str | float:
    """Numbers as numbers, the way a CMS workbook stores them."""
    try:
        return float(value)
    except ValueError:
        return value


def test_xlsx_with_the_same_layout(shared_data: Path, tmp_path: Path, pricing: ParsedFile[AspPrice]) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for number, row in enumerate(csv_rows(shared_data / PRICING), start=1):
        sheet.append(row if number <= 9 or not row else [row[0], *map(as_cell, row[1:])])
    book.save(tmp_path / "October 2025 ASP Pricing File.xlsx")
    parsed = read_asp(tmp_path / "October 2025 ASP Pricing File.xlsx")
    assert parsed.rows == pricing.rows
    assert (parsed.effective_start, parsed.effective_end) == (date(2025, 10, 1), date(2025, 12, 31))
    assert (parsed.meta["format"], parsed.meta["header_row"]) == ("xlsx", 9)


def test_utf8_with_bom(shared_data: Path, tmp_path: Path, pricing: ParsedFile[AspPrice]) -> None:
    text = (shared_data / PRICING).read_bytes().decode("cp1252")
    (tmp_path / "asp.csv").write_bytes(text.encode("utf-8-sig"))
    parsed = read_asp(tmp_path / "asp.csv")
    assert parsed.rows == pricing.rows
    assert parsed.meta["encoding"] == "utf-8"


# --- bad input -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "other",
    [
        "hcpcs/2025_oct/HCPC2025_OCT_ANWEB_v4.xlsx",
        "hcpcs/2020/HCPC2020_ANWEB_w_disclaimer.txt",
        "asp/2025_Oct_ASP_NDC-HCPCS_Crosswalk.csv",
        "opps/2023_January_Web_Addendum_B.12212022.xlsx",
    ],
)
def test_other_kinds_of_file_are_refused(shared_data: Path, other: str) -> None:
    with pytest.raises(SchemaDriftError, match="no ASP pricing header row") as caught:
        read_asp(shared_data / other)
    assert str(caught.value).startswith(str(shared_data / other))
    assert "\n" not in str(caught.value)


def test_crosswalk_is_refused_naming_the_closest_row(shared_data: Path) -> None:
    with pytest.raises(SchemaDriftError, match=r"Crosswalk\.csv, row 9: .*lacks HCPCS Code, Payment Limit$"):
        read_asp(shared_data / "asp/2025_Oct_ASP_NDC-HCPCS_Crosswalk.csv")


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "asp.csv").write_bytes(b"")
    with pytest.raises(InputError, match=r"asp\.csv: file is empty"):
        read_asp(tmp_path / "asp.csv")


def test_blank_rows_only(tmp_path: Path) -> None:
    (tmp_path / "asp.csv").write_bytes(b",,,,\r\n,,,,\r\n")
    with pytest.raises(InputError, match=r"asp\.csv: file is empty"):
        read_asp(tmp_path / "asp.csv")


def test_header_without_rows(shared_data: Path, tmp_path: Path) -> None:
    head = b"\r\n".join((shared_data / PRICING).read_bytes().split(b"\r\n")[:9])
    (tmp_path / "asp.csv").write_bytes(head + b"\r\n")
    with pytest.raises(InputError, match=r"asp\.csv, row 9: no data rows after the header row"):
        read_asp(tmp_path / "asp.csv")


def test_unparseable_amount_names_row_and_column(shared_data: Path, tmp_path: Path) -> None:
    data = (shared_data / PRICING).read_bytes().replace(b"10 MG,52.474,", b"10 MG,52.4.74,")
    (tmp_path / "asp.csv").write_bytes(data)
    with pytest.raises(
        InputError, match=r"asp\.csv, row 656, column 'Payment Limit': not a number: '52\.4\.74'"
    ):
        read_asp(tmp_path / "asp.csv")


def test_missing_code_names_row(shared_data: Path, tmp_path: Path) -> None:
    data = (shared_data / PRICING).read_bytes().replace(b"\r\nJ9330,", b"\r\n,")
    (tmp_path / "asp.csv").write_bytes(data)
    with pytest.raises(InputError, match=r"asp\.csv, row \d+, column 'HCPCS Code': missing HCPCS code"):
        read_asp(tmp_path / "asp.csv")


@pytest.mark.parametrize(
    ("keep", "message"),
    [
        (12, r"malformed CSV \(unexpected end of data\); truncated file\?"),  # inside the quoted description
        (40, r"the file ends inside this row \(3 of 11 columns\); truncated file\?"),
    ],
)
def test_truncated_csv_names_the_cut_row(shared_data: Path, tmp_path: Path, keep: int, message: str) -> None:
    data = (shared_data / PRICING).read_bytes()
    (tmp_path / "asp.csv").write_bytes(data[: data.index(b"\r\nJ9032,") + 2 + keep])
    with pytest.raises(InputError, match=rf"asp\.csv, row 656: {message}"):
        read_asp(tmp_path / "asp.csv")


def test_missing_final_line_break_is_fine(
    shared_data: Path, tmp_path: Path, pricing: ParsedFile[AspPrice]
) -> None:
    (tmp_path / "asp.csv").write_bytes((shared_data / PRICING).read_bytes().removesuffix(b"\r\n"))
    assert read_asp(tmp_path / "asp.csv").rows == pricing.rows


def test_corrupt_xlsx(tmp_path: Path) -> None:
    (tmp_path / "asp.xlsx").write_bytes(b"PK\x03\x04" + bytes(200))
    with pytest.raises(InputError, match=r"asp\.xlsx: not a readable \.xlsx workbook"):
        read_asp(tmp_path / "asp.xlsx")
