"""One change of a field between two loaded versions of a source file."""

from __future__ import annotations

from .model import Change
from .snapshot import VersionedRow

__all__ = ["amount_change", "change_between"]


def change_between(
    source: str, old: VersionedRow, new: VersionedRow, label: str, before: str | None, after: str | None
) -> Change:
    return Change(
        source,
        label,
        before,
        after,
        old.file.file_name,
        new.file.file_name,
        old.file.effective_start,
        new.file.effective_start,
    )


def amount_change(
    source: str, old: VersionedRow, new: VersionedRow, label: str, before: float | None, after: float | None
) -> Change:
    """A change of a dollar amount, with the exact difference (renderers round, the facts never do)."""
    change = change_between(source, old, new, label, _exact(before), _exact(after))
    change.before_usd, change.after_usd = before, after
    if before is not None and after is not None:
        change.change_usd = after - before
        change.change_pct = (after - before) / before * 100 if before else None
    return change


def _exact(value: float | None) -> str | None:
    """The shortest text that reads back as the same float: 52.474, never 52.4740000001 or 52.47."""
    return None if value is None else repr(float(value))
