"""Load an ASP Pricing File (one quarter of Medicare Part B payment limits)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from ..sources.asp import read_asp
from .db import LoadResult, Store
from .load import load_parsed_file


def load_asp(store: Store, path: Path, effective_start: date | None = None) -> LoadResult:
    return load_parsed_file(store, "asp", path, read_asp, ("core_asp_prices", None), effective_start)
