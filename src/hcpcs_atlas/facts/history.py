"""Every loaded version of the quarterly sources, one standing edition per period, and what changed.

CMS publishes the ASP file, its NDC crosswalk and Addendum B every quarter and re-posts a quarter's file
when it corrects it. Versions are ordered by the period each file says it covers, then by edition (the
release date in CMS's file name or an "Updated January 2026" note: ``SourceFile.edition``), then by load
order as the last resort. The latest edition of a period stands; an earlier one it replaced is kept only
to report the correction, never as a quarterly change.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import pairwise
from typing import Any

from ..store import SourceFile
from .model import AspPoint, AspTrend, Change, HcpcsEvent, NdcEvent, OppsPoint
from .snapshot import VersionedRow

__all__ = [
    "Period",
    "asp_changes",
    "asp_history",
    "asp_trend",
    "hcpcs_changes",
    "hcpcs_history",
    "listing_changes",
    "ndc_changes",
    "ndc_history",
    "opps_changes",
    "opps_history",
    "periods",
    "previous_files",
    "walk",
]

Row = dict[str, Any]


@dataclass(frozen=True)
class Period:
    """One period of a source: the edition that stands and the earlier editions it replaced."""

    standing: SourceFile
    replaced: tuple[SourceFile, ...]


def periods(files: Iterable[SourceFile]) -> list[Period]:
    """The loaded files of one source as periods, oldest first; a file without a period is its own."""
    groups: dict[object, list[SourceFile]] = defaultdict(list)
    for f in sorted(files, key=lambda f: f.order):
        groups[f.effective_start or ("file", f.file_id)].append(f)
    return [Period(group[-1], tuple(group[:-1])) for group in groups.values()]


def _by_file(versions: Sequence[VersionedRow]) -> dict[int, list[Row]]:
    by_file: dict[int, list[Row]] = defaultdict(list)
    for v in versions:
        by_file[v.file.file_id].append(v.row)
    return by_file


def walk(versions: Sequence[VersionedRow], all_periods: Sequence[Period]) -> list[tuple[Period, Row | None]]:
    """Every period with the code's row in its standing edition (None where that edition lacks it)."""
    rows = _by_file(versions)
    return [(p, found[0] if (found := rows.get(p.standing.file_id)) else None) for p in all_periods]


def superseded(versions: Sequence[VersionedRow], period: Period) -> tuple[SourceFile, Row] | None:
    """The code's row in the latest edition of the period that a later one replaced."""
    rows = _by_file(versions)
    return next(((f, rows[f.file_id][0]) for f in reversed(period.replaced) if rows.get(f.file_id)), None)


# --- the history facts of one code -------------------------------------------------------------------------


def asp_history(versions: Sequence[VersionedRow], all_periods: Sequence[Period]) -> list[AspPoint]:
    """One entry per ASP quarter listing the code, from the edition that stands, oldest first."""
    points = []
    for period, row in walk(versions, all_periods):
        if row is None:
            continue
        earlier = superseded(versions, period)
        points.append(
            AspPoint(
                effective_start=period.standing.effective_start,
                effective_end=period.standing.effective_end,
                payment_limit=row["payment_limit_usd"],
                dosage=row["dosage"],
                coinsurance_pct=row["coinsurance_pct"],
                source_file=period.standing.file_name,
                revised=earlier is not None,
                superseded_value=None if earlier is None else earlier[1]["payment_limit_usd"],
                superseded_file=None if earlier is None else earlier[0].file_name,
            )
        )
    return points


def asp_trend(points: Sequence[AspPoint], quarters: int) -> AspTrend | None:
    """The latest payment limit against the one ``quarters`` quarters before it (when both are loaded)."""
    if not points or points[-1].effective_start is None:
        return None
    latest = points[-1]
    start = latest.effective_start
    assert start is not None
    month = start.year * 12 + start.month - 1 - 3 * quarters
    wanted = date(month // 12, month % 12 + 1, 1)
    earlier = next((p for p in points if p.effective_start == wanted), None)
    if earlier is None or earlier.payment_limit is None or latest.payment_limit is None:
        return None
    delta = latest.payment_limit - earlier.payment_limit
    pct = delta / earlier.payment_limit * 100 if earlier.payment_limit else None
    return AspTrend(quarters, wanted, start, earlier.payment_limit, latest.payment_limit, delta, pct)


def opps_history(versions: Sequence[VersionedRow], all_periods: Sequence[Period]) -> list[OppsPoint]:
    return [
        OppsPoint(
            effective_start=period.standing.effective_start,
            status_indicator=row["status_indicator"],
            apc=row["apc"],
            payment_rate=row["payment_rate_usd"],
            source_file=period.standing.file_name,
        )
        for period, row in walk(versions, all_periods)
        if row is not None
    ]


def ndc_history(versions: Sequence[VersionedRow], all_periods: Sequence[Period]) -> list[NdcEvent]:
    """NDCs added to or removed from the code, and billing units per package changed, quarter to quarter."""
    rows = _by_file(versions)
    events: list[NdcEvent] = []
    for old, new in pairwise(all_periods):
        before = {r["ndc"]: r for r in rows.get(old.standing.file_id, [])}
        after = {r["ndc"]: r for r in rows.get(new.standing.file_id, [])}
        events += _ndc_events(before, after, new.standing)
    return events


def _ndc_events(before: dict[str, Row], after: dict[str, Row], f: SourceFile) -> list[NdcEvent]:
    def event(change: str, ndc: str, old: float | None, new: float | None) -> NdcEvent:
        return NdcEvent(f.effective_start, change, ndc, old, new, f.file_name)

    events = [event("added", n, None, _units(after[n])) for n in sorted(after.keys() - before.keys())]
    events += [event("removed", n, _units(before[n]), None) for n in sorted(before.keys() - after.keys())]
    for ndc in sorted(before.keys() & after.keys()):
        old, new = _units(before[ndc]), _units(after[ndc])
        if old != new and old is not None and new is not None:
            events.append(event("units", ndc, old, new))
    return events


def _units(row: Row) -> float | None:
    value = row["billing_units_per_package"]
    return None if value is None else float(value)


#: HCPCS record fields whose change is reported, and the kind of change each one is.
HCPCS_TRACKED = {
    "long_description": "descriptor",
    "short_description": "descriptor",
    "coverage_code": "status",
    "opps_status_indicator": "status",
    "pricing_indicators": "pricing",
    "multiple_pricing_indicator": "pricing",
    "xrefs": "status",  # a terminated code's cross-reference names its replacement
}


#: HCPCS fields every file format carries: a value appearing where there was none is a change.
EVERY_FORMAT = frozenset({"xrefs"})


def hcpcs_history(versions: Sequence[VersionedRow], all_periods: Sequence[Period]) -> list[HcpcsEvent]:
    """Added, descriptor, status, pricing, terminated, reinstated: each from the file it was first seen in.

    A code missing from a later file was dropped (terminated, "no longer listed") unless a termination
    date was already seen; one listed again afterwards is reinstated.
    """
    events: list[HcpcsEvent] = []
    last: Row | None = None  # the code's row in the latest file that listed it
    listed = False
    for index, (period, row) in enumerate(walk(versions, all_periods)):
        f = period.standing
        if row is None:
            if listed and last is not None and last["termination_date"] is None:
                events.append(_event(f, "terminated", "listed", "listed", "no longer listed"))
            listed = False
            continue
        if last is None:
            events += [] if index == 0 else [_event(f, "added", "add_date", None, row["add_date"])]
        elif not listed:
            events.append(_event(f, "reinstated", "listed", "no longer listed", "listed"))
        else:
            events += _field_events(last, row, f)
        last, listed = row, True
    return events


def _field_events(old: Row, new: Row, f: SourceFile) -> list[HcpcsEvent]:
    events = []
    if old["termination_date"] != new["termination_date"]:
        kind = "terminated" if new["termination_date"] else "reinstated"
        events.append(_event(f, kind, "termination_date", old["termination_date"], new["termination_date"]))
    for field, kind in HCPCS_TRACKED.items():
        before, after = text(old[field]), text(new[field])
        # A field one file format leaves empty (the 2020 .xls has no OPPS columns) is not a change; every
        # format has cross-references, so one appearing (a terminated code's replacement) is.
        both = before is not None and after is not None
        if before != after and (both or (field in EVERY_FORMAT and after is not None)):
            events.append(_event(f, kind, field, before, after))
    return events


def _event(f: SourceFile, change: str, field: str, before: object, after: object) -> HcpcsEvent:
    return HcpcsEvent(f.effective_start, change, field, text(before), text(after), f.file_name)


def text(value: object) -> str | None:
    """A field as comparable text: lists joined, dates ISO, runs of spaces collapsed."""
    if value is None or value == [] or value == ():
        return None
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, date):
        return value.isoformat()
    return " ".join(str(value).split())


# --- the same history as changes between consecutive versions ------------------------------------------------


def asp_changes(points: Sequence[AspPoint]) -> list[Change]:
    """Payment limit and billing unit changes quarter to quarter, and corrections within a quarter."""
    changes = [_correction(p) for p in points if p.superseded_file and p.superseded_value != p.payment_limit]
    for old, new in pairwise(points):
        between = (old.source_file, new.source_file, old.effective_start, new.effective_start)
        if old.payment_limit != new.payment_limit:
            limit = Change("asp", "payment limit", _usd(old.payment_limit), _usd(new.payment_limit), *between)
            changes.append(_amount(limit, old.payment_limit, new.payment_limit))
        if (old.dosage or "") != (new.dosage or ""):
            changes.append(Change("asp", "billing unit (dosage)", old.dosage, new.dosage, *between))
    return sorted(changes, key=lambda c: c.to_effective or date.min)


def _correction(p: AspPoint) -> Change:
    """A later edition of the same quarter changed the figure: a correction, not a quarterly change."""
    before, after = _usd(p.superseded_value), _usd(p.payment_limit)
    files = (p.superseded_file or "", p.source_file, p.effective_start, p.effective_start)
    change = Change("asp", "payment limit", before, after, *files, kind="correction")
    return _amount(change, p.superseded_value, p.payment_limit)


#: OPPS fields compared quarter to quarter, and their labels.
OPPS_TRACKED = {
    "status_indicator": "OPPS status indicator",
    "apc": "APC",
    "payment_rate": "OPPS payment rate",
}


def opps_changes(points: Sequence[OppsPoint]) -> list[Change]:
    changes: list[Change] = []
    for old, new in pairwise(points):
        between = (old.source_file, new.source_file, old.effective_start, new.effective_start)
        for field, label in OPPS_TRACKED.items():
            before, after = getattr(old, field), getattr(new, field)
            # A file format without the column (the Softek CSV has no APC) is not a change.
            if before == after or (field == "apc" and not (before and after)):
                continue
            if field == "payment_rate":
                changes.append(
                    _amount(Change("opps", label, _usd(before), _usd(after), *between), before, after)
                )
            else:
                changes.append(Change("opps", label, before, after, *between))
    return changes


def ndc_changes(events: Sequence[NdcEvent], previous: dict[str, SourceFile]) -> list[Change]:
    """Crosswalk events as changes; ``previous`` maps a file to the standing edition of the period before."""
    changes = []
    for e in events:
        earlier = previous.get(e.source_file)
        between = (
            earlier.file_name if earlier else "",
            e.source_file,
            earlier.effective_start if earlier else None,
            e.effective,
        )
        if e.change == "units":
            label = f"billing units per package, NDC {e.ndc}"
            changes.append(Change("crosswalk", label, _num(e.before), _num(e.after), *between))
        else:
            before, after = (None, e.ndc) if e.change == "added" else (e.ndc, None)
            change = Change("crosswalk", f"NDC {e.ndc}", before, after, *between)
            change.kind = e.change
            changes.append(change)
    return changes


#: HCPCS record fields as the changes name them.
HCPCS_LABELS = {
    "long_description": "long descriptor",
    "short_description": "short descriptor",
    "coverage_code": "coverage code",
    "opps_status_indicator": "OPPS status indicator",
    "pricing_indicators": "pricing indicator",
    "multiple_pricing_indicator": "multiple pricing indicator",
    "termination_date": "termination date",
    "xrefs": "cross-reference (replacement code)",
    "add_date": "code",
    "listed": "code",
}


def hcpcs_changes(events: Sequence[HcpcsEvent], previous: dict[str, SourceFile]) -> list[Change]:
    changes = []
    for e in events:
        earlier = previous.get(e.source_file)
        kind = e.change if e.change in ("added", "terminated", "reinstated") else "change"
        changes.append(
            Change(
                "hcpcs",
                HCPCS_LABELS.get(e.field, e.field),
                e.before,
                e.after,
                earlier.file_name if earlier else "",
                e.source_file,
                earlier.effective_start if earlier else None,
                e.effective,
                kind=kind,
            )
        )
    return changes


def listing_changes(source: str, listed: set[date | None], all_periods: Sequence[Period]) -> list[Change]:
    """The code newly listed in a period's file, or no longer listed, against the period before."""
    changes = []
    for old, new in pairwise(all_periods):
        was, now = old.standing.effective_start in listed, new.standing.effective_start in listed
        if was == now:
            continue
        change = Change(
            source,
            "code",
            None if now else "listed",
            "listed" if now else None,
            old.standing.file_name,
            new.standing.file_name,
            old.standing.effective_start,
            new.standing.effective_start,
        )
        change.kind = "added" if now else "removed"
        changes.append(change)
    return changes


def previous_files(all_periods: Sequence[Period]) -> dict[str, SourceFile]:
    """Each standing file name -> the standing file of the period before it."""
    return {new.standing.file_name: old.standing for old, new in pairwise(all_periods)}


def _amount(change: Change, before: float | None, after: float | None) -> Change:
    """Exact change in USD and % (renderers round)."""
    change.before_usd, change.after_usd = before, after
    if before is not None and after is not None:
        change.change_usd = after - before
        change.change_pct = (after - before) / before * 100 if before else None
    return change


def _usd(value: float | None) -> str | None:
    """The shortest text that reads back as the same float: 52.474, never 52.4740000001 or 52.47."""
    return None if value is None else repr(float(value))


def _num(value: float | None) -> str | None:
    return None if value is None else repr(float(value)).removesuffix(".0")
