"""Section 6: Policy & Coding Updates."""

from __future__ import annotations

from ..facts.model import Change, CodeFacts
from .fmt import iso_date, or_na, signed_pct, signed_usd, usd
from .model import NA, Block, Bullets, Paragraph, Section, Table


def _delta(c: Change) -> str:
    if c.change_usd is None:
        return ""
    text = signed_usd(c.change_usd)
    return f"{text} ({signed_pct(c.change_pct)})" if c.change_pct is not None else text


def _value(text: str | None, amount: float | None) -> str:
    return usd(amount) if amount is not None else or_na(text)


def _change_row(c: Change) -> list[str]:
    period = f"{c.from_file} ({iso_date(c.from_effective)}) -> {c.to_file} ({iso_date(c.to_effective)})"
    before, after = _value(c.before, c.before_usd), _value(c.after, c.after_usd)
    return [c.source.upper(), c.field, before, after, _delta(c) or "-", period]


def _changes(f: CodeFacts) -> Block:
    if not f.changes:
        return Paragraph(f"Changes between loaded file versions: {NA}")
    rows = [_change_row(c) for c in f.changes]
    return Table(["Source", "What changed", "Before", "After", "Change", "Between files (effective)"], rows)


def _rules(f: CodeFacts) -> Block:
    if not f.rules:
        return Paragraph(f"Dated coding rules: {NA}")
    return Bullets(
        [f"From {iso_date(r.effective_from)}: {r.modifier}. {r.text} Source: {r.source}." for r in f.rules]
    )


def updates(f: CodeFacts) -> Section:
    return Section("updates", "Policy & Coding Updates", [_changes(f), _rules(f)])


__all__ = ["updates"]
