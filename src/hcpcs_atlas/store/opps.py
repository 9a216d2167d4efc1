"""Load an OPPS Addendum B file."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from ..sources.opps import read_opps
from .db import LoadResult, Store
from .load import load_parsed_file


def load_opps(store: Store, path: Path, effective_start: date | None = None) -> LoadResult:
    return load_parsed_file(store, "opps", path, read_opps, ("core_opps_rates", None), effective_start)
