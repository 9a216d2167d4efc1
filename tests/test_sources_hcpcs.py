"""The HCPCS Level II file in all three shapes CMS ships, checked against the real 2020 and 2025 files."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from hcpcs_atlas.errors import InputError, SchemaDriftError
from hcpcs_atlas.sources import ParsedFile, is_level2
from hcpcs_atlas.sources._tabular import effective_from
from hcpcs_atlas.sources.hcpcs import HcpcsCode, HcpcsModifier, read_hcpcs

TXT_2020 = "hcpcs/2020/HCPC2020_ANWEB_w_disclaimer.txt"
XLS_2020 = "hcpcs/2020/HCPC2020_ANWEB_w_disclaimer.xls"
XLSX_2025 = "hcpcs/2025_oct/HCPC2025_OCT_ANWEB_v4.xlsx"


@pytest.fixture(scope="module")
def txt2020(shared_data: Path) -> ParsedFile[HcpcsCode]:
    return read_hcpcs(shared_data / TXT_2020)


@pytest.fixture(scope="module")
def xls2020(shared_data: Path) -> ParsedFile[HcpcsCode]:
    return read_hcpcs(shared_data / XLS_2020)


@pytest.fixture(scope="module")
def xlsx2025(shared_data: Path) -> ParsedFile[HcpcsCode]:
    return read_hcpcs(shared_data / XLSX_2025)


def by_code(parsed: ParsedFile[HcpcsCode]) -> dict[str, HcpcsCode]:
    return {row.code: row for row in parsed.rows}


def modifiers(parsed: ParsedFile[HcpcsCode]) -> dict[str, HcpcsModifier]:
    return {row.modifier: row for row in parsed.extra}


def comparable(row: HcpcsCode | HcpcsModifier) -> dict[str, Any]:
    """Every field, descriptions with whitespace normalized (the xls keeps CMS's double spaces, NBSPs)."""
    fields = dataclasses.asdict(row)
    for name in ("long_description", "short_description"):
        fields[name] = " ".join(fields[name].split())
    return fields


# --- 2020: fixed-width text and .xls of the same release ----------------------------------------------


def test_2020_text_counts(txt2020: ParsedFile[HcpcsCode]) -> None:
    assert (len(txt2020.rows), len(txt2020.extra)) == (6710, 369)
    assert txt2020.effective_start == date(2020, 1, 1)
    assert txt2020.effective_end is None
    assert txt2020.meta == {
        "format": "txt",
        "encoding": "cp1252",
        "decoding": "cp1252 (not UTF-8: byte 63, line 1)",  # the disclaimer's right single quote
        "period_from": "file name",
    }


def test_2020_xls_counts(xls2020: ParsedFile[HcpcsCode]) -> None:
    assert (len(xls2020.rows), len(xls2020.extra)) == (6710, 369)
    assert xls2020.effective_start == date(2020, 1, 1)
    assert xls2020.meta["format"] == "xls"
    assert xls2020.meta["header_row"] == 11  # 10 disclaimer rows come first


def test_2020_text_and_xls_agree_on_every_code(
    txt2020: ParsedFile[HcpcsCode], xls2020: ParsedFile[HcpcsCode]
) -> None:
    text, xls = by_code(txt2020), by_code(xls2020)
    assert text.keys() == xls.keys()
    differing = [code for code in text if comparable(text[code]) != comparable(xls[code])]
    assert differing == []


def test_2020_text_and_xls_agree_on_every_modifier(
    txt2020: ParsedFile[HcpcsCode], xls2020: ParsedFile[HcpcsCode]
) -> None:
    text, xls = modifiers(txt2020), modifiers(xls2020)
    assert text.keys() == xls.keys()
    assert [m for m in text if comparable(text[m]) != comparable(xls[m])] == []


def test_continuation_records_join_between_words(txt2020: ParsedFile[HcpcsCode]) -> None:
    a0080 = by_code(txt2020)["A0080"]
    assert a0080.long_description == (
        "Non-emergency transportation, per mile - vehicle provided by volunteer "
        "(individual or organization), with no vested interest"
    )
    assert a0080.short_description == "Noninterest escort in non er"
    assert sum(len(row.long_description) > 80 for row in txt2020.rows) == 2936


def test_xls_continuation_row_is_joined(
    txt2020: ParsedFile[HcpcsCode], xls2020: ParsedFile[HcpcsCode]
) -> None:
    # G0503 is the one code the 2020 xls splits over two rows (RECID 3 + RECID 4); the text file uses 17.
    g0503 = by_code(xls2020)["G0503"]
    assert g0503.long_description.startswith("Subsequent psychiatric collaborative care management, first 60")
    assert g0503.long_description.endswith("are prepared for discharge from active treatment")
    assert len(by_code(txt2020)["G0503"].long_description) == 1251
    assert comparable(g0503) == comparable(by_code(txt2020)["G0503"])


def test_text_and_xls_differ_only_in_spaces_at_record_breaks(
    txt2020: ParsedFile[HcpcsCode], xls2020: ParsedFile[HcpcsCode]
) -> None:
    # Where the xls has two spaces, the text file may break the record there; the padding hides which.
    text, xls = by_code(txt2020), by_code(xls2020)
    differing = [code for code in text if text[code].long_description != xls[code].long_description]
    assert len(differing) == 13
    for code in differing:
        assert text[code].long_description.split() == xls[code].long_description.split()


def test_2020_j9032_matches_manifest(txt2020: ParsedFile[HcpcsCode]) -> None:
    j9032 = by_code(txt2020)["J9032"]
    assert (j9032.long_description, j9032.short_description) == (
        "Injection, belinostat, 10 mg",
        "Injection, belinostat, 10mg",
    )
    assert j9032.seq == "00100"
    assert (j9032.asc_group, j9032.anesthesia_base_units) == ("YY", 0)


# --- 2025 October .xlsx --------------------------------------------------------------------------------


def test_2025_xlsx_loads_every_row(xlsx2025: ParsedFile[HcpcsCode]) -> None:
    assert (len(xlsx2025.rows), len(xlsx2025.extra)) == (8463, 383)
    assert len(xlsx2025.rows) + len(xlsx2025.extra) == 8846  # every data row under the header
    assert len(by_code(xlsx2025)) == 8463
    assert all(is_level2(row.code) for row in xlsx2025.rows)
    assert xlsx2025.effective_start == date(2025, 10, 1)
    assert (xlsx2025.meta["format"], xlsx2025.meta["header_row"]) == ("xlsx", 1)
    assert xlsx2025.meta["columns"]["add_date"] == "ADD DT"


def test_2025_j9032(xlsx2025: ParsedFile[HcpcsCode]) -> None:
    assert by_code(xlsx2025)["J9032"] == HcpcsCode(
        code="J9032",
        seq="00100",
        long_description="Injection, belinostat, 10 mg",
        short_description="Injection, belinostat, 10mg",
        pricing_indicators=("51",),
        multiple_pricing_indicator="A",
        cim_refs=(),
        mcm_refs=(),
        statute=None,
        lab_cert=(),
        xrefs=(),
        coverage_code="C",
        asc_group="YY",
        asc_date=date(2016, 1, 1),
        opps_status_indicator=None,
        opps_payment_indicator=None,
        opps_date=None,
        processing_note=None,
        betos="O1D",
        type_of_service=("1", "P"),
        anesthesia_base_units=0,
        add_date=date(2016, 1, 1),
        action_effective_date=date(2016, 1, 1),
        termination_date=None,
        action_code="N",
    )


def test_2025_j9330(xlsx2025: ParsedFile[HcpcsCode]) -> None:
    j9330 = by_code(xlsx2025)["J9330"]
    assert j9330.long_description == "Injection, temsirolimus, 1 mg"
    assert j9330.short_description == "Temsirolimus injection"
    assert (j9330.pricing_indicators, j9330.multiple_pricing_indicator, j9330.coverage_code) == (
        ("51",),
        "A",
        "C",
    )
    assert (j9330.betos, j9330.type_of_service) == ("O1D", ("1", "P"))
    assert (j9330.add_date, j9330.termination_date) == (date(2009, 1, 1), None)


def test_2025_modifier_jw(xlsx2025: ParsedFile[HcpcsCode]) -> None:
    assert modifiers(xlsx2025)["JW"] == HcpcsModifier(
        modifier="JW",
        long_description="Drug amount discarded/not administered to any patient",
        short_description="Discarded drug not administe",
        coverage_code="C",
        add_date=date(2003, 1, 1),
        action_effective_date=date(2003, 1, 1),
        termination_date=None,
        action_code="N",
    )
    assert modifiers(xlsx2025)["JZ"].add_date == date(2023, 1, 1)


def test_2025_numeric_cells_read_as_text(xlsx2025: ParsedFile[HcpcsCode]) -> None:
    # A few cells of the "all text" workbook are numbers: C9088's TERM DT, L6034's ADD DT, C1742's TOS1.
    codes = by_code(xlsx2025)
    assert codes["C9088"].termination_date == date(2025, 9, 30)
    assert codes["L6034"].add_date == date(2025, 10, 1)
    assert codes["C1742"].type_of_service[0] == "2"
    assert codes["J9333"].action_effective_date == date(2025, 10, 1)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("HCPC2025_OCT_ANWEB_v4.xlsx", date(2025, 10, 1)),
        ("HCPC2024_JUL_ANWEB.xlsx", date(2024, 7, 1)),
        ("HCPC2023_APR_ANWEB_v2.txt", date(2023, 4, 1)),
        ("HCPC2020_ANWEB_w_disclaimer.txt", date(2020, 1, 1)),
        ("hcpcs_codes.xlsx", None),
    ],
)
def test_effective_start_from_file_name(name: str, expected: date | None) -> None:
    assert effective_from("hcpcs", name) == expected


# --- synthetic workbooks: continuation rows and their errors -------------------------------------------


def write_hcpcs_xlsx(path: Path, header: list[str], rows: list[dict[str, str]]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(header)
    for row in rows:
        sheet.append([row.get(name, "") for name in header])
    book.save(path)
    return path


@pytest.fixture(scope="module")
def header2025(shared_data: Path) -> list[str]:
    book = openpyxl.load_workbook(shared_data / XLSX_2025, read_only=True)
    try:
        return [str(value) for value in next(book.worksheets[0].iter_rows(max_row=1, values_only=True))]
    finally:
        book.close()


def test_xlsx_continuation_rows_join(tmp_path: Path, header2025: list[str]) -> None:
    rows = [
        {
            "HCPC": "A9999",
            "SEQNUM": "0010",
            "RECID": "3",
            "LONG DESCRIPTION": "First part of",
            "ADD DT": "20250101",
        },
        {"HCPC": "A9999", "SEQNUM": "0020", "RECID": "4", "LONG DESCRIPTION": "a long description"},
        {"HCPC": "   Z1", "SEQNUM": "0010", "RECID": "7", "LONG DESCRIPTION": "A modifier that"},
        {"HCPC": "   Z1", "SEQNUM": "0020", "RECID": "8", "LONG DESCRIPTION": "continues"},
    ]
    parsed = read_hcpcs(write_hcpcs_xlsx(tmp_path / "HCPC2026_JAN_ANWEB.xlsx", header2025, rows))
    assert [(c.code, c.long_description, c.add_date) for c in parsed.rows] == [
        ("A9999", "First part of a long description", date(2025, 1, 1))
    ]
    assert [(m.modifier, m.long_description) for m in parsed.extra] == [("Z1", "A modifier that continues")]
    assert parsed.effective_start == date(2026, 1, 1)


def test_orphan_continuation_row_names_its_row(tmp_path: Path, header2025: list[str]) -> None:
    rows = [
        {"HCPC": "A9999", "SEQNUM": "0010", "RECID": "3", "LONG DESCRIPTION": "A code"},
        {"HCPC": "B9999", "SEQNUM": "0020", "RECID": "4", "LONG DESCRIPTION": "continues another code"},
    ]
    path = write_hcpcs_xlsx(tmp_path / "orphan.xlsx", header2025, rows)
    with pytest.raises(InputError, match=r"orphan\.xlsx, row 3, column 'RECID': continuation of 'B9999'"):
        read_hcpcs(path)


def test_unknown_record_id_names_its_row(tmp_path: Path, header2025: list[str]) -> None:
    rows = [{"HCPC": "A9999", "SEQNUM": "0010", "RECID": "5", "LONG DESCRIPTION": "A code"}]
    path = write_hcpcs_xlsx(tmp_path / "ric.xlsx", header2025, rows)
    with pytest.raises(InputError, match=r"ric\.xlsx, row 2, column 'RECID': unknown record id code '5'"):
        read_hcpcs(path)


# --- bad input -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "other",
    [
        "asp/2025_Oct_ASP_Pricing_File.csv",
        "asp/2025_Oct_ASP_NDC-HCPCS_Crosswalk.csv",
        "opps/2023_January_Web_Addendum_B.12212022.xlsx",
        "hcpcs/2025_oct/HCPC2025_OCT_ANWEB_Transaction Report_v4.xlsx",
        "hcpcs/2020/HCPC2020_README.txt",
    ],
)
def test_other_kinds_of_file_are_refused(shared_data: Path, other: str) -> None:
    with pytest.raises(SchemaDriftError, match="HCPCS Level II") as caught:
        read_hcpcs(shared_data / other)
    assert str(caught.value).startswith(str(shared_data / other))
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("name", ["HCPC2020.txt", "HCPC2025.xlsx", "HCPC2020.xls"])
def test_empty_file(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_bytes(b"")
    with pytest.raises(InputError, match=rf"{name}: file is empty"):
        read_hcpcs(tmp_path / name)


def line_of(data: bytes, needle: bytes) -> tuple[int, int]:
    """(byte offset, 1-based line number) of the record that starts with ``needle``."""
    offset = data.index(b"\r\n" + needle) + 2
    return offset, data.count(b"\n", 0, offset) + 1


def test_text_cut_inside_a_first_record(shared_data: Path, tmp_path: Path) -> None:
    data = (shared_data / TXT_2020).read_bytes()
    offset, line = line_of(data, b"J9032001003")
    (tmp_path / "cut.txt").write_bytes(data[: offset + 150])
    with pytest.raises(
        InputError, match=rf"cut\.txt, row {line}: record has 150 characters, a RIC 3 record needs 293"
    ):
        read_hcpcs(tmp_path / "cut.txt")


def test_text_cut_inside_a_continuation_record(shared_data: Path, tmp_path: Path) -> None:
    data = (shared_data / TXT_2020).read_bytes()
    offset, line = line_of(data, b"A0080002004")
    (tmp_path / "cut.txt").write_bytes(data[: offset + 40])
    with pytest.raises(
        InputError, match=rf"cut\.txt, row {line}: record has 40 characters, a RIC 4 record needs 91"
    ):
        read_hcpcs(tmp_path / "cut.txt")


def test_text_with_a_bad_date_names_row_and_column(shared_data: Path, tmp_path: Path) -> None:
    data = (shared_data / TXT_2020).read_bytes()
    offset, line = line_of(data, b"J9032001003")
    record = data[offset : offset + 320]
    bad = data[:offset] + record.replace(b"20160101", b"20161301", 1) + data[offset + 320 :]
    (tmp_path / "date.txt").write_bytes(bad)
    with pytest.raises(InputError, match=rf"date\.txt, row {line}, column 'asc_date \(cols 233-240\)'"):
        read_hcpcs(tmp_path / "date.txt")


def test_stray_line_among_records(shared_data: Path, tmp_path: Path) -> None:
    data = (shared_data / TXT_2020).read_bytes()
    offset, line = line_of(data, b"J9032001003")
    (tmp_path / "stray.txt").write_bytes(data[:offset] + b"page 2 of 40\r\n" + data[offset:])
    with pytest.raises(
        InputError, match=rf"stray\.txt, row {line}, column 'code \(cols 1-5\)': not a HCPCS record"
    ):
        read_hcpcs(tmp_path / "stray.txt")


def test_corrupt_xlsx(shared_data: Path, tmp_path: Path) -> None:
    data = (shared_data / XLSX_2025).read_bytes()
    (tmp_path / "half.xlsx").write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"half\.xlsx: not a readable \.xlsx workbook"):
        read_hcpcs(tmp_path / "half.xlsx")


def test_xlsx_that_is_not_a_zip(tmp_path: Path) -> None:
    (tmp_path / "plain.xlsx").write_text("HCPC,SEQNUM\n", encoding="ascii")
    with pytest.raises(InputError, match=r"plain\.xlsx: not a valid \.xlsx workbook"):
        read_hcpcs(tmp_path / "plain.xlsx")


def test_corrupt_xls(tmp_path: Path) -> None:
    (tmp_path / "junk.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1000))
    with pytest.raises(InputError, match=r"junk\.xls: not a readable \.xls workbook"):
        read_hcpcs(tmp_path / "junk.xls")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nothing\.txt: cannot read file"):
        read_hcpcs(tmp_path / "nothing.txt")
