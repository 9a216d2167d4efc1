"""Package data: source quirks and reference tables as small CSV files (read-only, cached)."""

from __future__ import annotations

import csv
import io
from functools import cache
from importlib import resources

__all__ = ["meaning", "read_table"]


@cache
def read_table(name: str) -> tuple[dict[str, str], ...]:
    """Rows of ``hcpcs_atlas/data/<name>`` as dicts (header row = keys)."""
    text = resources.files(__name__).joinpath(name).read_text(encoding="utf-8")
    return tuple(csv.DictReader(io.StringIO(text)))


@cache
def _meanings(field: str) -> dict[str, str]:
    return {
        row["value"]: row["meaning"] for row in read_table("hcpcs_code_values.csv") if row["field"] == field
    }


def meaning(field: str, value: str | None) -> str | None:
    """What a HCPCS record-layout value means (e.g. action_code "D"), or None when not documented."""
    if not value:
        return None
    return _meanings(field).get(value)
