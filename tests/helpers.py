"""Helpers shared by tests: real-file paths and a row count of every store table."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from hcpcs_atlas.facts import CodeFacts, to_data
from hcpcs_atlas.store import Store
from hcpcs_atlas.writer.fmt import usd, usd_limit

HCPCS_2020_TXT = "hcpcs/2020/HCPC2020_ANWEB_w_disclaimer.txt"
HCPCS_2020_XLS = "hcpcs/2020/HCPC2020_ANWEB_w_disclaimer.xls"
HCPCS_2025_XLSX = "hcpcs/2025_oct/HCPC2025_OCT_ANWEB_v4.xlsx"
ASP = "asp/2025_Oct_ASP_Pricing_File.csv"
CROSSWALK = "asp/2025_Oct_ASP_NDC-HCPCS_Crosswalk.csv"
OPPS_2023 = "opps/2023_January_Web_Addendum_B.12212022.xlsx"
OPPS_2026 = "opps/softek_derived_Addendum_B_2026-04.csv"


def table_counts(path: Path) -> dict[str, int]:
    with Store(path) as store:
        tables = [
            r[0] for r in store.con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        ]
        counts = {t: store.con.execute(f"SELECT count(*) FROM {t}").fetchone() for t in sorted(tables)}
        return {t: row[0] for t, row in counts.items() if row is not None}


def _numbers(value: Any) -> list[float]:
    if isinstance(value, dict):
        return [n for v in value.values() for n in _numbers(v)]
    if isinstance(value, list):
        return [n for v in value for n in _numbers(v)]
    if isinstance(value, bool):
        return []
    if isinstance(value, int | float):
        return [float(value)]
    if isinstance(value, str) and re.fullmatch(r"-?\d+(\.\d+)?", value):
        return [float(value)]
    return []


def assert_dollars_traceable(text: str, facts: CodeFacts) -> None:
    """Every $ figure shown is a number of the facts record, shown the one way the writer shows it, and
    within half a unit of its last shown digit of that number (checked without the writer's rounding)."""
    known = {abs(n) for n in _numbers(to_data(facts))}
    # Medicare payment limits and rates show to the tenth of a cent, as CMS publishes them ($52.474).
    displays = {usd(k) for k in known} | {usd_limit(k) for k in known}
    for amount in re.findall(r"\$[\d,]+(?:\.\d+)?", text):
        assert amount in displays, f"{amount} is not a figure of the facts as the writer shows it"
        digits = amount[1:].replace(",", "")
        half_unit = 0.5 * 10 ** -len(digits.partition(".")[2])
        assert any(abs(k - float(digits)) <= half_unit + 1e-12 for k in known), (
            f"{amount} is not in the facts"
        )
