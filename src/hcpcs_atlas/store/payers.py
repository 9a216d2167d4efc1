"""Canonical payer names from a TiC file's reporting entity (aliases are package data)."""

from __future__ import annotations

import re
from functools import cache

from ..data import read_table

__all__ = ["resolve_payer"]


@cache
def _aliases() -> list[tuple[re.Pattern[str], str, str | None]]:
    return [
        (re.compile(row["pattern"], re.IGNORECASE), row["payer"], row["plan_label"] or None)
        for row in read_table("payer_aliases.csv")
    ]


def resolve_payer(name: str | None) -> tuple[str | None, str | None]:
    """(canonical payer, plan label) for a reporting entity name; unknown names keep their own name."""
    if not name:
        return None, None
    for pattern, payer, plan in _aliases():
        if pattern.search(name):
            return payer, plan
    return " ".join(name.split()), None
