"""OPPS Addendum B: CMS's January 2023 workbook and Softek's CSV conversion of April 2026."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from hcpcs_atlas.errors import InputError, SchemaDriftError
from hcpcs_atlas.sources import ParsedFile, is_level2
from hcpcs_atlas.sources._tabular import effective_from
from hcpcs_atlas.sources.opps import OppsRow, read_opps

ADDENDUM_2023 = "opps/2023_January_Web_Addendum_B.12212022.xlsx"
SOFTEK_2026 = "opps/softek_derived_Addendum_B_2026-04.csv"


@pytest.fixture(scope="module")
def addendum(shared_data: Path) -> ParsedFile[OppsRow]:
    return read_opps(shared_data / ADDENDUM_2023)


@pytest.fixture(scope="module")
def softek(shared_data: Path) -> ParsedFile[OppsRow]:
    return read_opps(shared_data / SOFTEK_2026)


def by_code(parsed: ParsedFile[OppsRow]) -> dict[str, OppsRow]:
    return {row.code: row for row in parsed.rows}


# --- CMS workbook, January 2023 ------------------------------------------------------------------------


def test_2023_every_row_parsed(addendum: ParsedFile[OppsRow]) -> None:
    assert len(addendum.rows) == 17559
    assert len(by_code(addendum)) == 17559
    assert sum(row.changed for row in addendum.rows) == 486
    assert addendum.source == "opps"


def test_2023_effective_and_meta(addendum: ParsedFile[OppsRow]) -> None:
    assert (addendum.effective_start, addendum.effective_end) == (date(2023, 1, 1), None)
    assert (addendum.meta["format"], addendum.meta["header_row"]) == ("xlsx", 4)
    assert addendum.meta["title"] == "Addendum B.- OPPS Payment by HCPCS Code for CY 2023"
    assert addendum.meta["columns"]["status_indicator"] == "SI"


def test_2023_j9032(addendum: ParsedFile[OppsRow]) -> None:
    assert by_code(addendum)["J9032"] == OppsRow(
        code="J9032",
        short_descriptor="Injection, belinostat, 10mg",
        status_indicator="K",
        apc="1658",
        relative_weight=None,
        payment_rate_usd=46.154,
        national_copay_usd=None,  # "." in the workbook
        minimum_copay_usd=9.24,
        changed=True,
    )


def test_2023_j9330(addendum: ParsedFile[OppsRow]) -> None:
    j9330 = by_code(addendum)["J9330"]
    assert (j9330.status_indicator, j9330.apc, j9330.payment_rate_usd, j9330.minimum_copay_usd) == (
        "K",
        "1168",
        35.20,
        7.04,
    )


def test_2023_stray_spaces_are_trimmed(addendum: ParsedFile[OppsRow]) -> None:
    rows = by_code(addendum)
    assert {"G0465", "J1429", "0134A"} <= rows.keys()  # written "G0465\xa0", "J1429" + 13 spaces, "0134A "
    assert all(
        row.status_indicator == row.status_indicator.strip() for row in addendum.rows if row.status_indicator
    )
    assert (rows["0362T"].apc, rows["G2214"].apc) == ("5821", "5822")  # "5821 ", "5822       "
    assert rows["0598T"].apc == "5722"  # a numeric cell
    assert (rows["0001A"].relative_weight, rows["0001A"].payment_rate_usd) == (0.4851, 41.52)
    assert rows["0001A"].national_copay_usd == 0.0


def test_2023_cpt_descriptors_are_not_kept(addendum: ParsedFile[OppsRow]) -> None:
    cpt = [row for row in addendum.rows if not is_level2(row.code)]
    assert len(cpt) == 11010
    assert all(row.short_descriptor is None for row in cpt)
    assert by_code(addendum)["90371"].payment_rate_usd == 128.051


# --- Softek CSV, April 2026 ----------------------------------------------------------------------------


def test_softek_every_row_parsed(softek: ParsedFile[OppsRow]) -> None:
    # 19,061 lines: the header, 19,059 rows and a trailing empty line.
    assert len(softek.rows) == 19059
    assert sum(row.changed for row in softek.rows) == 135
    assert all(row.apc is None for row in softek.rows)


def test_softek_values(softek: ParsedFile[OppsRow]) -> None:
    rows = by_code(softek)
    assert (rows["J9032"].status_indicator, rows["J9032"].payment_rate_usd) == ("K", 53.111)
    assert (rows["J9330"].status_indicator, rows["J9330"].payment_rate_usd) == ("K", 30.078)
    assert rows["J9032"].short_descriptor == "Injection, belinostat, 10mg"
    assert rows["90371"].short_descriptor is None
    assert rows["G0465"].payment_rate_usd == 2107.97  # written "G0465\xa0"


def test_softek_effective_and_meta(softek: ParsedFile[OppsRow]) -> None:
    assert softek.effective_start == date(2026, 4, 1)
    assert (softek.meta["format"], softek.meta["encoding"], softek.meta["header_row"]) == ("csv", "cp1252", 1)


def test_source_column_dates_a_renamed_file(shared_data: Path, tmp_path: Path) -> None:
    shutil.copy(shared_data / SOFTEK_2026, tmp_path / "sample.csv")
    assert read_opps(tmp_path / "sample.csv").effective_start == date(2026, 4, 1)


@pytest.mark.parametrize(
    ("name", "texts", "expected"),
    [
        ("2023_January_Web_Addendum_B.12212022.xlsx", [], date(2023, 1, 1)),
        ("2025_October_Web_Addendum_B.xlsx", [], date(2025, 10, 1)),
        ("softek_derived_Addendum_B_2026-04.csv", [], date(2026, 4, 1)),
        ("addendum_b.xlsx", ["Addendum B.- OPPS Payment by HCPCS Code for CY 2023"], date(2023, 1, 1)),
        ("sample.csv", ["2026-07"], date(2026, 7, 1)),
        ("addendum_b.xlsx", [], None),
    ],
)
def test_effective_start_sources(name: str, texts: list[str], expected: date | None) -> None:
    assert effective_from("opps", name, texts) == expected


# --- bad input -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "other",
    [
        "asp/2025_Oct_ASP_Pricing_File.csv",
        "hcpcs/2025_oct/HCPC2025_OCT_ANWEB_v4.xlsx",
        "asp/2025_Oct_ASP_NDC-HCPCS_Crosswalk.csv",
        "hcpcs/2020/HCPC2020_ANWEB_w_disclaimer.txt",
    ],
)
def test_other_kinds_of_file_are_refused(shared_data: Path, other: str) -> None:
    with pytest.raises(SchemaDriftError, match="no OPPS Addendum B header row") as caught:
        read_opps(shared_data / other)
    assert str(caught.value).startswith(str(shared_data / other))
    assert "\n" not in str(caught.value)


def test_status_indicator_table_is_refused_naming_its_header(shared_data: Path) -> None:
    with pytest.raises(
        SchemaDriftError, match=r"status_indicators\.csv, row 1: .*lacks HCPCS Code, Payment Rate$"
    ):
        read_opps(shared_data / "opps/softek_derived_status_indicators.csv")


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "addendum_b.xlsx").write_bytes(b"")
    with pytest.raises(InputError, match=r"addendum_b\.xlsx: file is empty"):
        read_opps(tmp_path / "addendum_b.xlsx")


def test_corrupt_xlsx(shared_data: Path, tmp_path: Path) -> None:
    data = (shared_data / ADDENDUM_2023).read_bytes()
    (tmp_path / "addendum_b.xlsx").write_bytes(data[: len(data) // 3])
    with pytest.raises(InputError, match=r"addendum_b\.xlsx: not a readable \.xlsx workbook"):
        read_opps(tmp_path / "addendum_b.xlsx")


def test_bad_rate_and_flag_name_row_and_column(shared_data: Path, tmp_path: Path) -> None:
    data = (shared_data / SOFTEK_2026).read_bytes()
    line = data[: data.index(b'\n"J9032"')].count(b"\n") + 2
    (tmp_path / "rate.csv").write_bytes(data.replace(b'"K",53.111,', b'"K",53.1x1,'))
    with pytest.raises(
        InputError, match=rf"rate\.csv, row {line}, column 'PaymentRate': not a number: '53\.1x1'"
    ):
        read_opps(tmp_path / "rate.csv")
    (tmp_path / "flag.csv").write_bytes(data.replace(b"53.111,false,", b"53.111,maybe,"))
    with pytest.raises(
        InputError, match=rf"flag\.csv, row {line}, column 'Changed\?': not a yes/no flag: 'maybe'"
    ):
        read_opps(tmp_path / "flag.csv")
