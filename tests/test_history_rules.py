"""The history rules on made-up versions (no store): editions, corrections, gaps, trends, terminations."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from hcpcs_atlas.facts.history import (
    asp_changes,
    asp_history,
    asp_trend,
    hcpcs_history,
    listing_changes,
    periods,
)
from hcpcs_atlas.facts.snapshot import VersionedRow
from hcpcs_atlas.store import SourceFile


def file(file_id: int, start: date, edition: date | None = None, source: str = "asp") -> SourceFile:
    name = f"{source}-{start.isoformat()}-{file_id}.csv"
    return SourceFile(file_id, source, name, "0" * 64, start, None, datetime(2026, 1, 1), "csv", edition)


def asp_row(f: SourceFile, limit: float) -> VersionedRow:
    return VersionedRow(f, {"payment_limit_usd": limit, "dosage": "10 MG", "coinsurance_pct": 20.0})


Q1, Q2, Q3 = date(2025, 1, 1), date(2025, 4, 1), date(2025, 7, 1)


def test_later_edition_stands_whatever_the_load_order() -> None:
    revised = file(1, Q2, edition=date(2025, 5, 2))  # loaded first, dated later
    first = file(2, Q2, edition=date(2025, 3, 20))
    q1 = file(3, Q1)
    all_periods = periods([revised, first, q1])
    assert [(p.standing.file_id, [f.file_id for f in p.replaced]) for p in all_periods] == [(3, []), (1, [2])]
    points = asp_history([asp_row(q1, 10.0), asp_row(revised, 12.5), asp_row(first, 13.0)], all_periods)
    assert [(p.payment_limit, p.revised, p.superseded_value) for p in points] == [
        (10.0, False, None),
        (12.5, True, 13.0),
    ]
    changes = asp_changes(points)
    assert sorted((c.kind, c.before_usd, c.after_usd) for c in changes) == [
        ("change", 10.0, 12.5),  # quarter to quarter: against the edition that stands
        ("correction", 13.0, 12.5),  # within Q2: the first edition's figure, revised
    ]


def test_without_edition_dates_load_order_decides() -> None:
    a, b = file(5, Q1), file(4, Q1)
    assert periods([a, b])[0].standing.file_id == 5


def test_trend_needs_the_quarter_it_compares_with() -> None:
    q1, q3 = file(1, Q1), file(2, Q3)
    points = asp_history([asp_row(q1, 10.0), asp_row(q3, 11.0)], periods([q1, q3]))
    assert asp_trend(points, 1) is None  # 2025 Q2 is not loaded
    assert asp_trend(points, 4) is None
    q2 = file(3, Q2)
    points = asp_history([asp_row(q1, 10.0), asp_row(q2, 10.0), asp_row(q3, 11.0)], periods([q1, q2, q3]))
    one = asp_trend(points, 1)
    assert one is not None and (one.from_limit, one.change_usd, one.change_pct) == (10.0, 1.0, 10.0)


def test_listed_again_after_a_gap() -> None:
    files = [file(1, Q1), file(2, Q2), file(3, Q3)]
    changes = listing_changes("asp", {Q1, Q3}, periods(files))
    assert [(c.kind, c.to_effective) for c in changes] == [("removed", Q2), ("added", Q3)]


def hcpcs_row(f: SourceFile, **fields: Any) -> VersionedRow:
    row = {
        "long_description": "Injection, x, 1 mg",
        "short_description": "Inj x",
        "coverage_code": "C",
        "opps_status_indicator": None,
        "pricing_indicators": ["51"],
        "multiple_pricing_indicator": "A",
        "xrefs": [],
        "add_date": date(2010, 1, 1),
        "termination_date": None,
    }
    return VersionedRow(f, row | fields)


def test_hcpcs_terminated_dropped_and_reinstated() -> None:
    y19, y20, y21, y22 = (file(i, date(2018 + i, 1, 1), source="hcpcs") for i in (1, 2, 3, 4))
    versions = [
        hcpcs_row(y19),
        hcpcs_row(y20, termination_date=date(2019, 12, 31), xrefs=["J0002"]),
        hcpcs_row(y22),
    ]
    events = hcpcs_history(versions, periods([y19, y20, y21, y22]))
    assert [(e.effective, e.change, e.field, e.before, e.after) for e in events] == [
        (date(2020, 1, 1), "terminated", "termination_date", None, "2019-12-31"),
        (date(2020, 1, 1), "status", "xrefs", None, "J0002"),  # the replacement code
        (date(2022, 1, 1), "reinstated", "listed", "no longer listed", "listed"),
    ]
