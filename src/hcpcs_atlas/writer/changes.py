"""The changes page over all codes: biggest payment movers first, then every change newest first."""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Sequence

import orjson

from ..facts.changes import CodeChange
from .fmt import iso_date, or_na, signed_pct, signed_usd, usd_limit
from .model import NA, Block, Paragraph, Publication, Section, Table
from .updates import CLOCKS

__all__ = ["CHANGE_FIELDS", "changes_csv", "changes_json", "changes_publication", "changes_scope"]

CHANGE_FIELDS = [f.name for f in dataclasses.fields(CodeChange)]
MOVERS = 25


def _pct(value: float | None) -> str:
    return "-" if value is None else signed_pct(value)


def _usd(value: float | None) -> str:
    return "-" if value is None else signed_usd(value)


def _value(c: CodeChange, text: str | None) -> str:
    """An amount as CMS publishes it (the change carries the exact float text); anything else as is."""
    if c.change_usd is not None and text is not None:
        return usd_limit(float(text))
    return or_na(text)


def _row(c: CodeChange) -> list[str]:
    what = [c.code, c.kind, c.field, _value(c, c.before), _value(c, c.after)]
    change = [_usd(c.change_usd), _pct(c.change_pct), c.to_file, c.from_file or "-"]
    return [iso_date(c.effective), CLOCKS.get(c.source, c.source), *what, *change]


_COLUMNS = [
    "Effective",
    "Clock",
    "Code",
    "Kind",
    "What",
    "Before",
    "After",
    "Change",
    "Change %",
    "File",
    "Against",
]


def _movers(changes: Sequence[CodeChange]) -> Block:
    priced = [c for c in changes if c.change_pct is not None and c.kind == "change"]
    if not priced:
        return Paragraph(f"Payment changes: {NA}")
    top = sorted(priced, key=lambda c: abs(c.change_pct or 0.0), reverse=True)[:MOVERS]
    return Table(_COLUMNS, [_row(c) for c in top], caption=f"The {len(top)} largest payment changes by %")


def _counts(changes: Sequence[CodeChange]) -> str:
    kinds: dict[str, int] = {}
    for c in changes:
        kinds[f"{c.source} {c.kind}"] = kinds.get(f"{c.source} {c.kind}", 0) + 1
    listed = ", ".join(f"{n:,} {k}" for k, n in sorted(kinds.items()))
    return f"{len(changes):,} changes between consecutive loaded file versions ({listed})." if changes else NA


def changes_publication(changes: Sequence[CodeChange], scope: str) -> Publication:
    every = Table(_COLUMNS, [_row(c) for c in changes]) if changes else Paragraph(NA)
    return Publication(
        code="changes",
        title="What changed: every code, every loaded file version",
        subtitle=scope,
        sections=[
            Section("movers", "Biggest payment movers", [Paragraph(_counts(changes)), _movers(changes)]),
            Section("all-changes", "All changes, newest first", [every]),
        ],
    )


def changes_json(changes: Sequence[CodeChange]) -> bytes:
    return orjson.dumps(list(changes), option=orjson.OPT_INDENT_2)


def changes_csv(changes: Sequence[CodeChange]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CHANGE_FIELDS)
    for c in changes:
        writer.writerow(["" if v is None else v for v in dataclasses.astuple(c)])
    return out.getvalue()


def changes_scope(since: object, sources: Sequence[str], min_pct: float) -> str:
    """One line saying what the list covers."""
    parts = [f"sources: {', '.join(sources)}" if sources else "all sources"]
    if since:
        parts.append(f"effective on or after {str(since)[:10]}")
    if min_pct:
        parts.append(f"payment changes of at least {min_pct:g}%")
    return "Changes between consecutive loaded file versions; " + "; ".join(parts) + "."
