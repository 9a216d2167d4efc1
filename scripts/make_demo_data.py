"""Write the project's small demo inputs (src/hcpcs_atlas/demo/files) from the real CMS files.

The demo files keep each source's real format (preamble lines, fixed-width records, xlsx layout) and hold
only the demo codes, so `hcpcs-atlas demo` runs offline on a machine without ../shared. Run from the repo
root: python scripts/make_demo_data.py [../shared/data]
"""

from __future__ import annotations

import sys
from pathlib import Path

import openpyxl

DEMO_CODES = ["J9032", "J9330", "J9035", "Q5107", "J9011", "J0131", "J9010", "J0202"]
MODIFIERS = ["JW", "JZ", "JG", "TB", "PO", "PN"]
OUT = Path(__file__).resolve().parents[1] / "src" / "hcpcs_atlas" / "demo" / "files"


def _fixed_width(src: Path, dest: Path) -> None:
    lines = src.read_bytes().split(b"\r\n")
    first_record = next(i for i, line in enumerate(lines) if line[10:11] in b"3478" and len(line) > 90)
    keep = lines[:first_record]
    for line in lines[first_record:]:
        code = line[:5].decode("cp1252").strip()
        if code in DEMO_CODES or code in MODIFIERS:
            keep.append(line)
    dest.write_bytes(b"\r\n".join(keep) + b"\r\n")


def _xlsx_subset(src: Path, dest: Path, header_row: int, code_col: int) -> None:
    source = openpyxl.load_workbook(src, read_only=True).active
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = source.title
    for i, row in enumerate(source.iter_rows(values_only=True)):
        code = str(row[code_col] or "").strip()
        if i <= header_row or code in DEMO_CODES or code in MODIFIERS:
            sheet.append(list(row))
    book.save(dest)


def _csv_subset(src: Path, dest: Path, header_line: int, code_of: int = 0) -> None:
    lines = src.read_bytes().split(b"\r\n") if b"\r\n" in src.read_bytes() else src.read_bytes().split(b"\n")
    newline = b"\r\n" if b"\r\n" in src.read_bytes() else b"\n"
    keep = lines[: header_line + 1]
    for line in lines[header_line + 1 :]:
        code = line.split(b",")[code_of].strip(b'"').decode("cp1252")
        if code in DEMO_CODES:
            keep.append(line)
    dest.write_bytes(newline.join(keep) + newline)


#: NUCC taxonomies given to the demo's synthetic NPIs (demo/__init__.py), with the real NUCC rows.
DEMO_TAXONOMIES = ["207RX0202X", "207RH0003X", "2080P0207X", "261QX0203X", "282N00000X", "3336H0001X"]


def _nucc_subset(src: Path, dest: Path) -> None:
    lines = src.read_bytes().splitlines(keepends=True)
    keep = [lines[0], *(line for line in lines[1:] if line[:10].decode() in DEMO_TAXONOMIES)]
    dest.write_bytes(b"".join(keep))


def main(shared: Path) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    _fixed_width(shared / "hcpcs/2020/HCPC2020_ANWEB_w_disclaimer.txt", OUT / "HCPC2020_ANWEB_demo.txt")
    _xlsx_subset(
        shared / "hcpcs/2025_oct/HCPC2025_OCT_ANWEB_v4.xlsx", OUT / "HCPC2025_OCT_ANWEB_demo.xlsx", 0, 0
    )
    _csv_subset(shared / "asp/2025_Oct_ASP_Pricing_File.csv", OUT / "2025_Oct_ASP_Pricing_File_demo.csv", 8)
    _csv_subset(
        shared / "asp/2025_Oct_ASP_NDC-HCPCS_Crosswalk.csv",
        OUT / "2025_Oct_ASP_NDC-HCPCS_Crosswalk_demo.csv",
        8,
    )
    _xlsx_subset(
        shared / "opps/2023_January_Web_Addendum_B.12212022.xlsx",
        OUT / "2023_January_Web_Addendum_B_demo.xlsx",
        3,
        0,
    )
    _csv_subset(shared / "opps/softek_derived_Addendum_B_2026-04.csv", OUT / "Addendum_B_2026-04_demo.csv", 0)
    _nucc_subset(shared / "nucc/nucc_taxonomy_251.csv", OUT / "nucc_taxonomy_251_demo.csv")
    for path in sorted(OUT.iterdir()):
        print(f"{path.stat().st_size:>8,}  {path.name}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared" / "data")
