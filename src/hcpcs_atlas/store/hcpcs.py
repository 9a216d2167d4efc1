"""Load a HCPCS Level II file: codes and modifiers, versioned by file."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from ..sources.hcpcs import read_hcpcs
from .db import LoadResult, Store
from .load import load_parsed_file


def load_hcpcs(store: Store, path: Path, effective_start: date | None = None) -> LoadResult:
    tables = ("core_hcpcs_codes", "core_hcpcs_modifiers")
    return load_parsed_file(store, "hcpcs", path, read_hcpcs, tables, effective_start)
