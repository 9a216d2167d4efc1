"""The reference CSV files shipped in ``hcpcs_atlas/data``: shape, keys and a few known values."""

from __future__ import annotations

import csv
import io
import re
from importlib.resources import files

import pytest

BCBS = "Blue Cross Blue Shield"
PAYERS = {"Aetna", BCBS, "Cigna", "UnitedHealthcare"}
SITE_GROUPS = {"office", "outpatient hospital", "ASC", "other"}

# name -> (header, key columns, columns that must not be empty)
SPECS = {
    "hcpcs_code_values.csv": (
        ["field", "value", "meaning", "source"],
        ("field", "value"),
        ("field", "value", "meaning", "source"),
    ),
    "hcpcs_processing_notes.csv": (["note", "text", "source"], ("note",), ("note", "text", "source")),
    "opps_status_indicators.csv": (
        ["status_indicator", "meaning", "source"],
        ("status_indicator",),
        ("status_indicator", "meaning", "source"),
    ),
    "place_of_service_groups.csv": (
        ["service_code", "name", "site_group"],
        ("service_code",),
        ("service_code", "name", "site_group"),
    ),
    "payer_aliases.csv": (["pattern", "payer", "plan_label"], ("pattern",), ("pattern", "payer")),
}


def _load(name: str) -> tuple[list[str], list[dict[str, str]]]:
    text = (files("hcpcs_atlas") / "data" / name).read_text(encoding="utf-8")
    reader = csv.DictReader(io.StringIO(text))
    rows = list(reader)
    return list(reader.fieldnames or []), rows


@pytest.mark.parametrize("name", sorted(SPECS))
def test_shape(name: str) -> None:
    header, key_cols, required = SPECS[name]
    fieldnames, rows = _load(name)
    assert fieldnames == header
    assert rows
    seen: set[tuple[str, ...]] = set()
    for i, row in enumerate(rows, start=2):
        assert None not in row and all(v is not None for v in row.values()), f"{name}:{i} wrong column count"
        for col in required:
            assert row[col].strip(), f"{name}:{i} empty {col}"
            assert row[col] == row[col].strip(), f"{name}:{i} stray whitespace in {col}"
        key = tuple(row[c] for c in key_cols)
        assert key not in seen, f"{name}:{i} duplicate key {key}"
        seen.add(key)


def _values(field: str) -> dict[str, str]:
    return {r["value"]: r["meaning"] for r in _load("hcpcs_code_values.csv")[1] if r["field"] == field}


def test_hcpcs_code_values() -> None:
    _, rows = _load("hcpcs_code_values.csv")
    assert {r["source"] for r in rows} == {"CMS HCPCS record layout (2019)"}
    assert {r["field"] for r in rows} >= {
        "action_code",
        "coverage_code",
        "pricing_indicator",
        "multiple_pricing_indicator",
        "type_of_service",
        "betos",
        "lab_cert",
    }
    assert _values("action_code")["D"] == "Discontinue procedure or modifier code"
    assert set(_values("coverage_code")) == {"C", "D", "I", "M", "S"}
    assert _values("coverage_code")["M"] == "Non-covered by Medicare"
    assert _values("pricing_indicator")["00"].startswith("Service not separately priced by part B")
    assert len(_values("betos")) == 106
    tos_f = _values("type_of_service")["F"]
    assert tos_f == "Ambulatory surgical center (facility usage for surgical services)"


def test_processing_notes() -> None:
    _, rows = _load("hcpcs_processing_notes.csv")
    notes = [r["note"] for r in rows]
    assert notes == [f"{n:04d}" for n in range(1, len(notes) + 1)]
    by_note = {r["note"]: r["text"] for r in rows}
    assert by_note["0015"] == "REIMBURSEMENT IS INCLUDED IN THE BASIC ALLOWANCE OF ANOTHER PROCEDURE."


def test_opps_status_indicators() -> None:
    _, rows = _load("opps_status_indicators.csv")
    by_si = {r["status_indicator"]: r["meaning"] for r in rows}
    assert by_si["N"] == "Items and Services Packaged into APC Rates"
    assert {"A", "C", "E1", "G", "J1", "K", "N", "Q1", "S", "T"} <= set(by_si)


def test_place_of_service_groups() -> None:
    _, rows = _load("place_of_service_groups.csv")
    groups = {r["service_code"]: r["site_group"] for r in rows}
    assert all(re.fullmatch(r"\d\d", code) and 1 <= int(code) <= 99 for code in groups)
    assert set(groups.values()) <= SITE_GROUPS
    assert groups["11"] == "office"
    assert groups["19"] == "outpatient hospital"
    assert groups["22"] == "outpatient hospital"
    assert groups["23"] == "other"
    assert groups["24"] == "ASC"
    assert groups["21"] == "other"
    assert [c for c, g in groups.items() if g != "other"] == ["11", "19", "22", "24"]


def _match_payer(rows: list[dict[str, str]], name: str) -> tuple[str, str] | None:
    for row in rows:
        if re.search(row["pattern"], name, re.IGNORECASE):
            return row["payer"], row["plan_label"]
    return None


def test_payer_alias_rows() -> None:
    _, rows = _load("payer_aliases.csv")
    for row in rows:
        re.compile(row["pattern"], re.IGNORECASE)
        assert row["payer"] in PAYERS
        if row["payer"] == BCBS:
            assert row["plan_label"].strip(), row["pattern"]
        else:
            assert row["plan_label"] == "", row["pattern"]


@pytest.mark.parametrize(
    ("name", "payer"),
    [
        ("Aetna Life Insurance Company", "Aetna"),
        ("Cigna Health and Life Insurance Company", "Cigna"),
        ("UnitedHealthcare Insurance Company", "UnitedHealthcare"),
        ("Anthem Blue Cross", BCBS),
        ("Blue Cross and Blue Shield of Texas", BCBS),
        ("Kaiser Foundation Health Plan", None),
        ("Connecticut General Life Insurance Company", "Cigna"),
        ("UMR, Inc.", "UnitedHealthcare"),
        ("Oxford Health Plans (NY), Inc.", "UnitedHealthcare"),
        ("Aetna Better Health of Texas", "Aetna"),
        ("Highmark Inc.", BCBS),
        ("Humana Insurance Company", None),
    ],
)
def test_payer_aliases_match(name: str, payer: str | None) -> None:
    _, rows = _load("payer_aliases.csv")
    found = _match_payer(rows, name)
    assert (found[0] if found else None) == payer


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("Anthem Blue Cross", "Anthem"),
        ("Blue Cross and Blue Shield of Texas", "BCBS of Texas"),
        ("Blue Cross and Blue Shield of Kansas City", "Blue KC"),
        ("Blue Cross and Blue Shield of Kansas", "BCBS of Kansas"),
        ("Florida Blue", "Florida Blue"),
        ("Highmark Blue Cross Blue Shield of Western New York", "Highmark"),
    ],
)
def test_bcbs_plan_labels(name: str, label: str) -> None:
    _, rows = _load("payer_aliases.csv")
    assert _match_payer(rows, name) == (BCBS, label)
