"""Exceptions raised by hcpcs-atlas.

Every error a user can cause is an ``AtlasError`` and prints as one line::

    AtlasError
     +-- InputError            a source file is unreadable, of the wrong kind, truncated or malformed
     |    +-- SchemaDriftError  the file is readable but expected columns or fields are missing
     +-- UnknownCodeError      the code is not in the loaded HCPCS file(s)
     +-- NoHcpcsFileError      the store holds no HCPCS file at all, so no code can be looked up
     +-- StoreError            the store file is missing, locked, or from an incompatible version
     +-- OutputError           an output place cannot be used (a directory not writable, a port taken)

The CLI maps every ``AtlasError`` to exit code 2; anything else is a bug.
"""

from __future__ import annotations

from pathlib import Path

from .text import printable

__all__ = [
    "AtlasError",
    "InputError",
    "NoHcpcsFileError",
    "OutputError",
    "SchemaDriftError",
    "StoreError",
    "UnknownCodeError",
]


class AtlasError(Exception):
    """Base class of every error hcpcs-atlas raises on purpose."""


class InputError(AtlasError):
    """A source file cannot be used. ``str()`` names the file and, where known, the row or byte."""

    def __init__(
        self,
        path: str | Path,
        message: str,
        *,
        row: int | None = None,
        byte: int | None = None,
        column: str | None = None,
    ) -> None:
        self.path = str(path)
        self.message = message
        self.row = row
        self.byte = byte
        self.column = column
        super().__init__(self.__str__())

    def __reduce__(self) -> tuple[object, ...]:
        """Picklable (``ingest hospital --jobs`` parses in worker processes)."""
        return (
            self.__class__,
            (self.path, self.message),
            {"row": self.row, "byte": self.byte, "column": self.column},
        )

    def __str__(self) -> str:
        where = [printable(self.path, 300)]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.byte is not None:
            where.append(f"byte {self.byte}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        return ": ".join([", ".join(where), printable(" ".join(self.message.split()), 500)])


class SchemaDriftError(InputError):
    """Expected columns or fields are missing: the publisher changed the layout."""


class UnknownCodeError(AtlasError):
    """The requested code is not in any loaded HCPCS file."""

    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(f"{code}: not a code in the loaded HCPCS file(s)")


class NoHcpcsFileError(AtlasError):
    """No HCPCS file is loaded: every code would be unknown, so say how to load one instead."""

    def __init__(self, store: str | Path) -> None:
        super().__init__(
            f"{store}: no HCPCS file is loaded, so no code can be looked up; "
            "load one first: hcpcs-atlas load hcpcs FILE (the CMS HCPCS Level II file, .xlsx, .txt or .zip)"
        )


class StoreError(AtlasError):
    """The store cannot be opened or used."""


class OutputError(AtlasError):
    """An output place cannot be used: a directory that cannot be written, a port that cannot be bound."""
