"""The real quarterly series (MANIFEST.md §9-§11): periods, editions and quirks of every file."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from hcpcs_atlas.sources._tabular import parse_number
from hcpcs_atlas.sources.asp import read_asp
from hcpcs_atlas.sources.crosswalk import read_crosswalk
from hcpcs_atlas.sources.hcpcs import read_hcpcs
from hcpcs_atlas.sources.opps import read_opps

HISTORY = "asp/history"
#: file name stem -> (quarter start, release date in the name, J9032 payment limit)
ASP_SERIES = {
    "section 508 version of January 2024 ASP Pricing File 121223.csv": (
        date(2024, 1, 1),
        date(2023, 12, 12),
        48.884,
    ),
    "section 508 version of April 2024 ASP Pricing File 032124.csv": (
        date(2024, 4, 1),
        date(2024, 3, 21),
        48.837,
    ),
    "section 508 version of Jul 2024 ASP Pricing File 062024.csv": (
        date(2024, 7, 1),
        date(2024, 6, 20),
        49.956,
    ),
    "section 508 version of Oct 2024 ASP Pricing File 091824.csv": (
        date(2024, 10, 1),
        date(2024, 9, 18),
        50.088,
    ),
    "section 508 version of Jan 2025 ASP Pricing File 121924.csv": (
        date(2025, 1, 1),
        date(2024, 12, 19),
        50.280,
    ),
    "section 508 version of APR 2025 ASP Pricing File 032725.csv": (
        date(2025, 4, 1),
        date(2025, 3, 27),
        50.919,
    ),
    "section 508 verision of JUL 2025 ASP Pricing File 062325.csv": (
        date(2025, 7, 1),
        date(2025, 6, 23),
        52.040,
    ),
    "section 508 version of Oct 2025 ASP Pricing File 091725.csv": (
        date(2025, 10, 1),
        date(2025, 9, 17),
        52.474,
    ),
}
OPPS_EDITIONS = {
    "Section 508 vesrion of January_Web_2024_Addendum_B.04.24.24.csv": (
        date(2024, 1, 1),
        date(2024, 4, 24),
        48.884,
        7,
    ),
    "Section 508 version of January 2025 Web Addendum B.12.31.24.csv": (
        date(2025, 1, 1),
        date(2024, 12, 31),
        50.28,
        5,
    ),
    "Section 508 version of July 2025 Web Addendum B.06.26.25.csv": (
        date(2025, 7, 1),
        date(2025, 6, 26),
        52.040,
        5,
    ),
}


@pytest.mark.parametrize("name", ASP_SERIES)
def test_asp_quarter_and_release_from_the_file(shared_data: Path, name: str) -> None:
    start, released, limit = ASP_SERIES[name]
    parsed = read_asp(shared_data / HISTORY / name)
    j9032 = next(row for row in parsed.rows if row.code == "J9032")
    assert parsed.effective_start == start
    assert parsed.meta["edition"] == released.isoformat()
    assert parsed.meta["edition_from"].startswith("release date in the CMS file name")
    assert (j9032.payment_limit_usd, j9032.dosage) == (limit, "10 MG")


def test_revised_edition_dated_by_its_update_note(shared_data: Path) -> None:
    first = read_asp(shared_data / HISTORY / "section 508 version of Oct 2025 ASP Pricing File 091725.csv")
    revised = read_asp(shared_data / "asp/2025_Oct_ASP_Pricing_File.csv")
    assert first.effective_start == revised.effective_start == date(2025, 10, 1)
    assert revised.meta["edition"] == "2026-01-01" > first.meta["edition"] == "2025-09-17"
    assert revised.meta["edition_from"] == "a correction note in the file: Updated January 2026"
    j2782 = [next(r for r in f.rows if r.code == "J2782") for f in (first, revised)]
    assert [r.payment_limit_usd for r in j2782] == [105.124, 103.397]
    assert j2782[1].notes == "Updated January 2026"


def test_crosswalk_named_after_the_year_before(shared_data: Path) -> None:
    parsed = read_crosswalk(
        shared_data / HISTORY / "section 508 version of January 2024 ASP NDC-HCPCS Crosswalk 122023.csv"
    )
    assert parsed.meta["columns"]["code"] == "_2023_CODE"
    assert parsed.effective_start == date(2024, 1, 1)
    assert len(parsed.rows) == 6684
    assert sorted(r.ndc for r in parsed.rows if r.code == "J9032") == ["68152-0108-09", "72893-0002-01"]


def test_crosswalk_value_with_a_lost_character(shared_data: Path) -> None:
    parsed = read_crosswalk(
        shared_data / HISTORY / "section 508 version of April 2024 ASP NDC-HCPCS Crosswalk 032124.csv"
    )
    row = next(r for r in parsed.rows if r.ndc == "64281-0110-06")
    assert (row.billing_units, row.billing_units_per_package) == (21.3125, 127.875)
    assert parse_number("$2.462") == 2.462


@pytest.mark.parametrize("name", OPPS_EDITIONS)
def test_addendum_b_csv_editions(shared_data: Path, name: str) -> None:
    start, released, rate, header_row = OPPS_EDITIONS[name]
    parsed = read_opps(shared_data / "opps/history" / name)
    j9032 = next(row for row in parsed.rows if row.code == "J9032")
    assert (j9032.status_indicator, j9032.apc, j9032.payment_rate_usd) == ("K", "1658", rate)
    assert parsed.effective_start == start
    assert parsed.meta["period_from"] == "file name"
    assert parsed.meta["edition"] == released.isoformat()
    assert parsed.meta["header_row"] == header_row


def test_quarterly_hcpcs_file_without_a_period_in_its_name(shared_data: Path) -> None:
    parsed = read_hcpcs(shared_data / "hcpcs/2020_oct/anweb.xlsx")
    assert parsed.effective_start == date(2020, 10, 1)
    assert parsed.meta["period_from"] == "latest action effective date"
    assert len(parsed.rows) == 6825
