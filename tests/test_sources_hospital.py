"""Hospital price files: the real UNC (tall CSV), MD Anderson (wide CSV) and UChicago (JSON) files checked
row for row against an independent parse, the CMS v2/v3 examples in all three layouts, cp1252 and BOM,
cms-hpt.txt, and every way a file can be broken."""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from hcpcs_atlas.errors import InputError, SchemaDriftError
from hcpcs_atlas.sources import is_level2
from hcpcs_atlas.sources.hospital import (
    HospitalCharge,
    is_discovery,
    read_discovery,
    read_hospital_file,
    sniff,
)

HPT = "hospital_price_transparency"
REAL = f"{HPT}/real"
UNC = f"{REAL}/unc-hospitals_standardcharges.csv.gz"
MDA = f"{REAL}/md-anderson_standardcharges.csv.gz"
UCHICAGO = f"{REAL}/uchicago_standardcharges.json.gz"
MVH = f"{REAL}/marthas-vineyard_standardcharges.csv"
TARGETS = ("J9032", "J9330")
EXAMPLES = {
    f"{HPT}/examples/CSV/Tall/V3.0.0_Tall_CSV_Format_Example.csv": ("tall", "3.0.0"),
    f"{HPT}/examples/CSV/Wide/V3.0.0_Wide_CSV_Format_Example.csv": ("wide", "3.0.0"),
    f"{HPT}/examples/JSON/v3_json_format_example.json": ("json", "3.0.0"),
    f"{HPT}/archive/examples/CSV/Tall/V2.0.0_Tall_CSV_Format_Example.csv": ("tall", "2.0.0"),
    f"{HPT}/archive/examples/CSV/Wide/V2.0.0_Wide_CSV_Format_Example.csv": ("wide", "2.0.0"),
    f"{HPT}/archive/examples/JSON/V2.0.0_JSON_Format_Example.json": ("json", "2.0.0"),
}


def keep_targets(code: str) -> bool:
    return code in TARGETS


def keep_all(code: str) -> bool:
    return True


def _key(c: HospitalCharge) -> tuple[Any, ...]:
    return (c.code, c.payer_name, c.plan_name, c.dollar, c.percentage, c.gross, c.discounted_cash)


def _float(text: str) -> float | None:
    return float(text) if text.strip() else None


def _csv_rows(path: Path) -> list[list[str]]:
    with gzip.open(path, "rt", encoding="utf-8-sig", errors="replace", newline="") as fh:
        return list(csv.reader(fh))


def _norm(name: str) -> str:
    return re.sub(r"\s*\|\s*", "|", name.strip()).lower()


# -- real files, against an independent parse --------------------------------------------------------


def test_unc_tall_csv_matches_an_independent_parse(shared_data: Path) -> None:
    rows = _csv_rows(shared_data / UNC)
    header = [_norm(h) for h in rows[2]]
    col = {name: i for i, name in enumerate(header)}
    code_cols = [i for i, name in enumerate(header) if re.fullmatch(r"code\|\d+", name)]
    expected: Counter[tuple[Any, ...]] = Counter()
    per_code: Counter[str] = Counter()
    for row in rows[3:]:
        for code in {row[i] for i in code_cols} & set(TARGETS):
            per_code[code] += 1
            expected[(code, row[col["payer_name"]] or None, row[col["plan_name"]] or None,
                      _float(row[col["standard_charge|negotiated_dollar"]]),
                      _float(row[col["standard_charge|negotiated_percentage"]]),
                      _float(row[col["standard_charge|gross"]]),
                      _float(row[col["standard_charge|discounted_cash"]]))] += 1  # fmt: skip
    hf = read_hospital_file(shared_data / UNC, keep_targets)
    assert (hf.layout, hf.version, hf.rows_seen) == ("tall", "3.0.0", 326_311)
    assert per_code == {"J9032": 35, "J9330": 105}
    assert Counter(_key(c) for c in hf.charges) == expected
    assert hf.hospital_name == "University of North Carolina Hospitals at Chapel Hill"
    assert hf.last_updated_on == "2026-06-04" and str(hf.last_updated) == "2026-06-04"
    assert hf.type_2_npis == ("1932208576", "1427142355")
    assert (hf.license_number, hf.license_state) == ("H0157", "NC")
    assert len(hf.location_names) == 3 and len(hf.addresses) == 3
    belinostat = [c for c in hf.charges if c.payer_name == "Healthspring (Cigna Medicare Advantage)"
                  and c.code == "J9032"]  # fmt: skip
    assert belinostat[0].dollar == 55.09 and belinostat[0].gross == 8650.25
    assert (
        belinostat[0].ndc == "72893000201"
        and belinostat[0].description == "BELINOSTAT 500 MG INTRAVENOUS SOLUTION"
    )
    assert len({c.payer_name for c in hf.charges}) == 18


def test_md_anderson_wide_csv_matches_an_independent_parse(shared_data: Path) -> None:
    rows = _csv_rows(shared_data / MDA)
    header = rows[2]
    assert len(header) == 1277
    code_cols = [i for i, name in enumerate(header) if re.fullmatch(r"code\|\d+", _norm(name))]
    dollar_cols = [(i, name.split("|")) for i, name in enumerate(header) if name.endswith("|negotiated_dollar")
                   and name.count("|") == 3]  # fmt: skip
    expected: Counter[tuple[Any, ...]] = Counter()
    for row in rows[3:]:
        for code in {row[i] for i in code_cols} & set(TARGETS):
            for i, (_, payer, plan, _) in dollar_cols:
                if row[i]:
                    expected[(code, payer, plan, float(row[i]))] += 1
    hf = read_hospital_file(shared_data / MDA, keep_targets)
    assert (hf.layout, hf.version, hf.rows_seen) == ("wide", "3.0.0", 31_501)
    got = Counter((c.code, c.payer_name, c.plan_name, c.dollar) for c in hf.charges if c.dollar is not None)
    assert got == expected
    assert sum(expected.values()) == 675
    assert {c.row for c in hf.charges if c.code == "J9032"} and len({c.row for c in hf.charges}) == 9
    assert hf.last_updated_on == "07/01/2026" and str(hf.last_updated) == "2026-07-01"
    units = {(c.code, c.drug_unit, c.drug_type, c.gross) for c in hf.charges}
    assert units == {("J9032", 500.0, "ME", 8413.55), ("J9330", 1.0, "ML", 1546.3),
                     ("J9330", 2.5, "ML", 4225.7), ("J9330", 2.5, "ML", 4695.2), ("J9330", 2.5, "ML", 6880.7)}  # fmt: skip


def test_uchicago_json_matches_an_independent_parse(shared_data: Path, json_path: str) -> None:
    with gzip.open(shared_data / UCHICAGO, "rb") as fh:
        doc = json.load(fh)
    expected: Counter[tuple[Any, ...]] = Counter()
    for item in doc["standard_charge_information"]:
        for code in {c["code"] for c in item["code_information"]} & set(TARGETS):
            for sc in item["standard_charges"]:
                for p in sc.get("payers_information") or [{}]:
                    expected[(code, p.get("payer_name"), p.get("plan_name"), p.get("standard_charge_dollar"),
                              p.get("standard_charge_percentage"), sc.get("gross_charge"),
                              sc.get("discounted_cash"))] += 1  # fmt: skip
    hf = read_hospital_file(shared_data / UCHICAGO, keep_targets)
    assert (hf.layout, hf.version, hf.rows_seen) == ("json", "3.0.0", 49_438)
    assert len(doc["standard_charge_information"]) == 49_438
    assert Counter(_key(c) for c in hf.charges) == expected
    assert hf.hospital_name == doc["hospital_name"] and hf.last_updated_on == "2026-04-01"
    assert hf.type_2_npis == tuple(doc["type_2_npi"])
    assert (hf.license_number, hf.license_state) == ("3897", "IL")
    assert hf.location_names == tuple(doc["location_name"])
    j9330 = sorted((c.payer_name, c.plan_name, c.dollar) for c in hf.charges if c.code == "J9330")
    assert ("Bcbs", "Ppo", 72.69) in j9330 and ("Unitedhealthcare", "All Commercial Plans", 48.71) in j9330


def test_cp1252_file_is_read_byte_for_byte(shared_data: Path) -> None:
    hf = read_hospital_file(shared_data / MVH, keep_all)
    assert (hf.layout, hf.rows_seen, hf.hospital_name) == ("tall", 10_452, "Martha's Vineyard Hospital")
    text = (shared_data / MVH).read_bytes().decode("cp1252")
    quoted = [c.description for c in hf.charges if c.description and "\u2019" in c.description]
    assert quoted and all(d in text for d in quoted)
    assert not any("\ufffd" in (c.description or "") for c in hf.charges)


# -- CMS examples ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "layout"), sorted(EXAMPLES.items()))
def test_cms_examples_in_every_layout(
    shared_data: Path, path: str, layout: tuple[str, str], json_path: str
) -> None:
    hf = read_hospital_file(shared_data / path, keep_all)
    assert (hf.layout, hf.version) == layout
    assert hf.hospital_name == "West Mercy Hospital"
    assert (hf.license_number, hf.license_state) == ("50056", "CA")
    fluconazole = sorted((c.payer_name.replace("_", " "), c.dollar, c.gross, c.drug_unit, c.drug_type)
                         for c in hf.charges if c.code == "J1450" and c.payer_name)  # fmt: skip
    assert fluconazole == [("Platform Health Insurance", 35.0, 75.0, 100.0, "ML"),
                           ("Region Health Insurance", 37.0, 75.0, 100.0, "ML")]  # fmt: skip


def test_bom_is_not_part_of_the_first_column(shared_data: Path) -> None:
    path = shared_data / f"{HPT}/examples/CSV/Wide/V3.0.0_Wide_CSV_Format_Example.csv"
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert read_hospital_file(path, keep_all).hospital_name == "West Mercy Hospital"


# -- discovery ----------------------------------------------------------------------------------------

DISCOVERY = """location-name: Main Campus
source-page-url: https://hospital.example/prices
mrf-url: https://hospital.example/mrf/main_standardcharges.json
contact-name: Jane Doe
contact-email: prices@hospital.example

location-name: East Clinic
source-page-url: https://hospital.example/prices
mrf-url: east_standardcharges.csv
contact-name: Jane Doe
contact-email: prices@hospital.example
"""


def test_cms_hpt_txt(tmp_path: Path) -> None:
    path = tmp_path / "cms-hpt.txt"
    path.write_text(DISCOVERY, encoding="utf-8")
    assert is_discovery(path)
    entries = read_discovery(path)
    assert [(e.location_name, e.mrf_url) for e in entries] == [
        ("Main Campus", "https://hospital.example/mrf/main_standardcharges.json"),
        ("East Clinic", str(tmp_path / "east_standardcharges.csv")),
    ]


# -- broken files -------------------------------------------------------------------------------------


def _tall(rows: list[str]) -> str:
    meta = "hospital_name,last_updated_on,version\nTest Hospital,2026-01-01,3.0.0\n"
    header = "description,code|1,code|1|type,payer_name,plan_name,standard_charge|negotiated_dollar\n"
    return meta + header + "".join(r + "\n" for r in rows)


def test_row_of_the_wrong_width(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        _tall(["Drug,J9032,HCPCS,Aetna,PPO,55.09", "Drug,J9032,HCPCS,Aetna,PPO"]), encoding="utf-8"
    )
    with pytest.raises(InputError, match=r"row 5: 5 fields, the header has 6"):
        read_hospital_file(path, keep_all)


def test_not_a_number(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(_tall(["Drug,J9032,HCPCS,Aetna,PPO,about 55"]), encoding="utf-8")
    with pytest.raises(InputError, match=r"row 4, column 'dollar': not a number: 'about 55'"):
        read_hospital_file(path, keep_all)
    path.write_text(
        _tall(['Drug,J9032,HCPCS,Aetna,PPO,"$1,055.50"', "Drug,J9032,HCPCS,Cigna,PPO,N/A"]), encoding="utf-8"
    )
    assert [c.dollar for c in read_hospital_file(path, keep_all).charges] == [1055.5, None]


def test_truncated_gzip(shared_data: Path, tmp_path: Path) -> None:
    path = tmp_path / "cut.csv.gz"
    path.write_bytes((shared_data / UNC).read_bytes()[:2_000_000])
    with pytest.raises(InputError, match="truncated"):
        read_hospital_file(path, keep_targets)


def test_json_cut_mid_item(shared_data: Path, tmp_path: Path, json_path: str) -> None:
    raw = (shared_data / f"{HPT}/examples/JSON/v3_json_format_example.json").read_bytes()
    path = tmp_path / "cut.json"
    path.write_bytes(raw[: raw.index(b"Aspirin") + 20])
    with pytest.raises(InputError, match=r"cut\.json.*byte"):
        read_hospital_file(path, keep_all)
    big = tmp_path / "cut.json.gz"
    with gzip.open(shared_data / UCHICAGO) as fh:
        body = fh.read()
    big.write_bytes(gzip.compress(body[: len(body) // 2]))
    with pytest.raises(InputError, match=r"cut\.json\.gz.*byte"):
        read_hospital_file(big, keep_targets)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<!DOCTYPE html><html><body>Access denied</body></html>", "HTML"),
        (b"", "empty file"),
        (b"   \n", "whitespace"),
        (b"\x00\x01\x02binary", "binary"),
        (b"name,value\nx,1\n", "no hospital_name"),
    ],
)
def test_not_a_hospital_file(tmp_path: Path, body: bytes, message: str, json_path: str) -> None:
    path = tmp_path / "standardcharges.csv"
    path.write_bytes(body)
    with pytest.raises(InputError, match=message):
        read_hospital_file(path, keep_all)


def test_schema_drift_names_the_column(tmp_path: Path) -> None:
    path = tmp_path / "drift.csv"
    path.write_text("hospital_name,version\nX,3.0.0\nitem,price\na,1\n", encoding="utf-8")
    with pytest.raises(SchemaDriftError, match="column 'description'"):
        read_hospital_file(path, keep_all)


def test_sniff_reads_content_not_names() -> None:
    assert sniff("x.csv", b'\xef\xbb\xbf  {"hospital_name": "A"}') == "json"
    assert sniff("x.json", b"hospital_name,version\n") == "csv"
    assert sniff("x.json", b"location-name: A\nmrf-url: https://a/b.csv\n") == "discovery"
    with pytest.raises(InputError, match="HTML"):
        sniff("x.json", io.BytesIO(b"\n<html>").read())


def test_level2_prefilter_keeps_what_the_callable_keeps(shared_data: Path, json_path: str) -> None:
    """Every Level II code kept: the item search skips items without a Level II-shaped code in the regex
    engine; a wrapped callable (no prefilter) must keep exactly the same charges."""
    path = shared_data / f"{HPT}/real/uchicago_standardcharges.json.gz"
    fast = read_hospital_file(path, is_level2).charges
    slow = read_hospital_file(path, lambda code: is_level2(code)).charges
    assert len(fast) > 1000 and Counter(fast) == Counter(slow)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ([None, " JZ ", "", "59"], ("59", "JZ")),  # a null or empty entry is no modifier (not "None")
        ("JZ|59", ("59", "JZ")),  # one text, as the CSV layouts list them (not one modifier a letter)
        ("JZ", ("JZ",)),
        ([], ()),
    ],
)
def test_json_modifier_codes(value: Any, expected: tuple[str, ...]) -> None:
    from hcpcs_atlas.sources.hospital.jsonfile import item_parts

    item = {"code_information": [{"code": "J9032", "type": "HCPCS"}],
            "standard_charges": [{"modifier_code": value, "gross_charge": 10}]}  # fmt: skip
    [(head, _payers)] = item_parts(item)
    assert head[6] == expected


@pytest.mark.parametrize("depth", [2000, 1010])
def test_json_item_nested_too_deep_names_its_byte(shared_data: Path, tmp_path: Path, depth: int) -> None:
    """A kept item 2,000 levels deep is refused by orjson at the level it overflows (no RecursionError:
    no msgspec on this path); 1,010 levels in a field the item does not use are read."""
    doc = json.loads((shared_data / f"{HPT}/examples/JSON/v3_json_format_example.json").read_bytes())
    items = doc["standard_charge_information"]
    kept = dict(items[0], code_information=[{"code": "J9032", "type": "HCPCS"}])
    deep = b"[" * depth + b"]" * depth
    bad = json.dumps(kept).encode()[:-1] + b', "x": ' + deep + b"}"
    filler = [json.dumps(items[0]).encode()] * 3000  # over 4 MB: the item is found by the byte scan
    doc["standard_charge_information"] = []
    head, tail = json.dumps(doc).encode().split(b'"standard_charge_information": []')
    data = head + b'"standard_charge_information": [' + b", ".join([*filler, bad, *filler]) + b"]" + tail
    path = tmp_path / "deep.json"
    path.write_bytes(data)
    if depth < 1024:
        assert read_hospital_file(path, keep_targets).n_charges > 0
        return
    with pytest.raises(InputError) as caught:
        read_hospital_file(path, keep_targets)
    message = str(caught.value)
    at = data.index(bad) + bad.index(deep) + 1024  # the bracket that opens the 1026th level
    assert "\n" not in message and "deep.json" in message and "nested deeper than 1024" in message
    assert caught.value.byte == at, message
