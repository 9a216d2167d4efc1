"""The registry of sources: one entry per public source, read by the CLI, the demo, facts and the writer.

Each entry (package data ``data/sources.csv``) says what a source is called in Sources & Methodology, which
parser reads it (imported only when used: start-up stays light), which store tables hold it (the first
holds one row per code and file) and how its effective period is read. Which file inside a CMS zip or a
folder is of a source's kind is ``data/source_files.csv``. Adding a source is one parser module, one row in
each file, and its tables in ``schema.sql`` (docs/adding-a-source.md).
"""

from __future__ import annotations

import fnmatch
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from ..data import read_table
from ..sources import ParsedFile

__all__ = ["SourceSpec", "file_sources", "member_rank", "source", "sources"]


@dataclass(frozen=True)
class SourceSpec:
    name: str
    label: str  # as shown in Sources & Methodology
    parser: str  # "module:function" returning a ParsedFile; empty for streamed sources (TiC)
    tables: tuple[str, ...]  # the first has one row per code (or NPI, ...) and file
    period: str  # how the effective period is read, in words (docs and --help)
    #: "module:function(store, path, effective_start) -> LoadResult" for a source that loads itself
    #: (streamed into the store, or many documents per path: NPPES, SPL labels); empty: parse, then load
    loader: str = ""

    @property
    def parse(self) -> Callable[[Path], ParsedFile[Any]]:
        parse: Callable[[Path], ParsedFile[Any]] = _resolve(self.parser)
        return parse

    @property
    def load(self) -> Callable[[Any, Path, date | None], Any]:
        load: Callable[[Any, Path, date | None], Any] = _resolve(self.loader)
        return load

    @property
    def is_file_source(self) -> bool:
        """Loaded by ``hcpcs-atlas load`` (TiC, streamed from URLs too, has a command of its own)."""
        return bool(self.parser or self.loader)


def _resolve(target: str) -> Any:
    module, _, function = target.partition(":")
    return getattr(importlib.import_module(module), function)


@cache
def sources() -> dict[str, SourceSpec]:
    return {
        row["name"]: SourceSpec(
            row["name"],
            row["label"],
            row["parser"],
            tuple(row["tables"].split()),
            row["period"],
            row["loader"],
        )
        for row in read_table("sources.csv")
    }


def source(name: str) -> SourceSpec:
    return sources()[name]


def file_sources() -> list[str]:
    """Sources that ``hcpcs-atlas load`` takes, in registry order."""
    return [name for name, spec in sources().items() if spec.is_file_source]


def member_rank(source_name: str, file_name: str) -> int | None:
    """How well a file name inside a zip or folder fits a source (1 = best), None when it is not of its kind."""
    name = Path(file_name).name.lower()
    ranks = [
        int(row["rank"])
        for row in read_table("source_files.csv")
        if row["source"] == source_name
        and fnmatch.fnmatch(name, row["pattern"])
        and not (row["exclude"] and fnmatch.fnmatch(name, row["exclude"]))
    ]
    return min(ranks) if ranks else None
