"""Every change between consecutive loaded versions, over all codes: the page a policy analyst bookmarks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from .build import FactsBuilder
from .model import Change

__all__ = ["SOURCES", "CodeChange", "store_changes"]

SOURCES = ("asp", "opps", "hcpcs", "crosswalk")


@dataclass(frozen=True)
class CodeChange:
    """One change of one code between two loaded versions (``hcpcs-atlas changes``, ``changes.json``)."""

    code: str
    source: str  # asp | opps | hcpcs | crosswalk
    kind: str  # change | correction | added | removed | terminated | reinstated
    field: str
    before: str | None
    after: str | None
    from_file: str
    to_file: str
    effective: date | None  # the later version's period start, on its source's clock
    change_usd: float | None  # exact, for dollar amounts
    change_pct: float | None


def store_changes(
    builder: FactsBuilder,
    since: date | None = None,
    sources: Sequence[str] = SOURCES,
    min_pct: float = 0.0,
) -> list[CodeChange]:
    """Newest first, then by code. ``since``: effective on or after; ``min_pct``: smallest payment move kept."""
    codes = sorted(set().union(*(builder.snapshot.rows[source] for source in sources)))
    found = [
        _code_change(code, c)
        for code in codes
        for c in builder.history(code).changes(builder.periods)
        if c.source in sources and _kept(c, since, min_pct)
    ]
    return sorted(found, key=lambda c: (-(c.effective or date.min).toordinal(), c.code, c.source, c.field))


def _kept(c: Change, since: date | None, min_pct: float) -> bool:
    if since is not None and (c.to_effective is None or c.to_effective < since):
        return False
    return c.change_pct is None or abs(c.change_pct) >= min_pct


def _code_change(code: str, c: Change) -> CodeChange:
    return CodeChange(
        code,
        c.source,
        c.kind,
        c.field,
        c.before,
        c.after,
        c.from_file,
        c.to_file,
        c.to_effective,
        c.change_usd,
        c.change_pct,
    )
