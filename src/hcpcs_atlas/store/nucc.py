"""The NUCC taxonomy code set in the store: what taxonomy codes mean, per the latest file loaded."""

from __future__ import annotations

from collections.abc import Iterable

from ..sources.nucc import Taxonomy
from .db import Store

__all__ = ["taxonomies"]


def taxonomies(store: Store, codes: Iterable[str]) -> dict[str, Taxonomy]:
    """The meaning of each code, from the most recently loaded NUCC file that lists it."""
    rows = store.con.execute(
        """SELECT code, grouping, classification, specialization, definition, notes, display_name, section
           FROM core_nucc_taxonomies WHERE code IN (SELECT unnest(?))
           QUALIFY row_number() OVER (PARTITION BY code ORDER BY file_id DESC) = 1""",
        [sorted(set(codes))],
    ).fetchall()
    return {row[0]: Taxonomy(*row) for row in rows}
