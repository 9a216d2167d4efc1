"""Package data: source quirks and reference tables as small CSV files (read-only, cached)."""

from __future__ import annotations

import csv
import io
from functools import cache
from importlib import resources

__all__ = ["lookup", "major_payers", "meaning", "payer_order", "read_table"]


@cache
def read_table(name: str) -> tuple[dict[str, str], ...]:
    """Rows of ``hcpcs_atlas/data/<name>`` as dicts (header row = keys)."""
    text = resources.files(__name__).joinpath(name).read_text(encoding="utf-8")
    return tuple(csv.DictReader(io.StringIO(text)))


@cache
def lookup(name: str, key: str, value: str, **where: str) -> dict[str, str]:
    """``{row[key]: row[value]}`` over the rows of a table that match ``where`` (cached)."""
    rows = read_table(name)
    return {r[key]: r[value] for r in rows if all(r[k] == v for k, v in where.items())}


def meaning(field: str, value: str | None) -> str | None:
    """What a HCPCS record-layout value means (e.g. action_code "D"), or None when not documented."""
    if not value:
        return None
    return lookup("hcpcs_code_values.csv", "value", "meaning", field=field).get(value)


@cache
def major_payers() -> tuple[str, ...]:
    """The payers every publication names, in the order it names them (``major_payers.csv``)."""
    return tuple(row["payer"] for row in read_table("major_payers.csv"))


def payer_order(payer: str) -> tuple[int, str]:
    """Sort key: the major payers first, in their order, then the others by name."""
    majors = major_payers()
    return (majors.index(payer) if payer in majors else len(majors), payer)
