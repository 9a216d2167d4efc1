"""Load an ASP NDC-HCPCS crosswalk (one quarter)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from ..sources.crosswalk import read_crosswalk
from .db import LoadResult, Store
from .load import load_parsed_file


def load_crosswalk(store: Store, path: Path, effective_start: date | None = None) -> LoadResult:
    tables = ("core_asp_crosswalk", None)
    return load_parsed_file(store, "crosswalk", path, read_crosswalk, tables, effective_start)
