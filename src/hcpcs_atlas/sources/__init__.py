"""Sources: parse one public file format each into typed rows. No store, no network unless given a URL.

Each module reads one source and returns a :class:`ParsedFile`, the whole file parsed and checked, so the
store can load it in one transaction (CMS files are a few MB). Transparency-in-Coverage files are too big
for that and stream instead (see :mod:`hcpcs_atlas.sources.tic`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Generic, TypeVar

__all__ = ["LEVEL2_CODE", "ParsedFile", "file_sha256", "is_level2"]

T = TypeVar("T")

#: A HCPCS Level II code: a letter A-V and four digits. CPT codes start with a digit.
LEVEL2_CODE = re.compile(r"^[A-V][0-9]{4}$")


def is_level2(code: str) -> bool:
    """True for a HCPCS Level II code (public domain descriptors); False for CPT (AMA descriptors)."""
    return bool(LEVEL2_CODE.match(code))


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class ParsedFile(Generic[T]):
    """One source file, fully parsed. ``effective_*`` is the period the publisher says the file covers."""

    source: str  # "hcpcs", "asp", "crosswalk", "opps"
    path: Path
    rows: list[T]
    effective_start: date | None = None
    effective_end: date | None = None
    extra: list[Any] = field(default_factory=list)  # secondary rows (HCPCS modifiers)
    meta: dict[str, Any] = field(default_factory=dict)  # e.g. {"format": "xlsx", "title": ...}
