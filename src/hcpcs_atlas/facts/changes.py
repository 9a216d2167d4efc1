"""One change of a field between two loaded versions of a source file."""

from __future__ import annotations

from .model import Change
from .snapshot import VersionedRow

__all__ = ["change_between"]


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
