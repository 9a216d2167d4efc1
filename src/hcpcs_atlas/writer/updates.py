"""Section 6: Policy & Coding Updates, a dated timeline (newest first) of every change between loaded files.

Each line names the clock its date is on (ASP quarter, Addendum B quarter, crosswalk quarter, HCPCS file
period, rule effective date) and the file(s) it was read from.
"""

from __future__ import annotations

from datetime import date

from ..facts.model import Change, CodeFacts, Rule
from .fmt import iso_date, or_na, signed_pct, signed_usd, usd_limit
from .model import NA, Block, Bullets, Paragraph, Section

#: The clock each source's dates are on: every dated line names it.
CLOCKS = {
    "asp": "ASP quarter",
    "opps": "Addendum B quarter",
    "crosswalk": "crosswalk quarter",
    "hcpcs": "HCPCS file period",
}
_NAMES = {
    "asp": "ASP payment limit file",
    "opps": "OPPS Addendum B",
    "crosswalk": "NDC crosswalk",
    "hcpcs": "HCPCS file",
}


def _delta(c: Change) -> str:
    if c.change_usd is None:
        return ""
    rel = f", {signed_pct(c.change_pct)}" if c.change_pct is not None else ""
    return f" ({signed_usd(c.change_usd)}{rel})"


def _value(text: str | None, amount: float | None) -> str:
    return usd_limit(amount) if amount is not None else or_na(text)


def _what(c: Change) -> str:
    before, after = _value(c.before, c.before_usd), _value(c.after, c.after_usd)
    if c.kind == "correction":
        return f"{c.field} revised in a later edition of the same quarter: {before} → {after}{_delta(c)}"
    if c.source == "crosswalk" and c.kind in ("added", "removed"):
        return f"{c.field} {c.kind} in the crosswalk"
    if c.source == "hcpcs" and c.kind == "terminated" and c.field == "termination date":
        return f"terminated: termination date {after} (the HCPCS file's TERM DT)"
    if c.source in ("asp", "opps") and c.kind in ("added", "removed"):
        listed = "newly listed" if c.kind == "added" else "no longer listed"
        return f"code {listed} in the {_NAMES[c.source]}"
    if c.kind == "added" and c.after:
        return f"code added (the HCPCS file's ADD DT {after})"
    if c.kind in ("added", "terminated", "reinstated"):
        return f"code {c.kind}" + (" (no longer listed)" if c.kind == "terminated" else "")
    return f"{c.field} {before} → {after}{_delta(c)}"


def _files(c: Change) -> str:
    name = _NAMES.get(c.source, c.source)
    if c.from_file and c.from_file != c.to_file:
        return f"{name} {c.to_file} (against {c.from_file})"
    return f"{name} {c.to_file}"


def _change_line(c: Change) -> tuple[date, str]:
    when = c.to_effective or date.min
    clock = CLOCKS.get(c.source, c.source)
    return when, f"{iso_date(c.to_effective)} ({clock}): {_what(c)}. Source: {_files(c)}."


def _rule_line(r: Rule) -> tuple[date, str]:
    return (
        r.effective_from,
        f"{iso_date(r.effective_from)} (rule effective date): {r.modifier}. {r.text} Source: {r.source}.",
    )


def timeline(f: CodeFacts) -> list[str]:
    """Every change and dated rule, newest first."""
    lines = [_change_line(c) for c in f.changes] + [_rule_line(r) for r in f.rules]
    return [text for _, text in sorted(lines, key=lambda item: item[0], reverse=True)]


def updates(f: CodeFacts) -> Section:
    lines = timeline(f)
    block: Block = Bullets(lines) if lines else Paragraph(f"Changes between loaded file versions: {NA}")
    return Section("updates", "Policy & Coding Updates", [block])


__all__ = ["CLOCKS", "timeline", "updates"]
