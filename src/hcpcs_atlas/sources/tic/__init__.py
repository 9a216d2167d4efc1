"""Transparency-in-Coverage in-network rate files (CMS schema v1.x and v2.x), streamed at inflate speed.

A file is one JSON document of up to hundreds of GB. It is never tokenized in Python:

- :mod:`.stream` reads, hashes and inflates (isal) on a background thread, into reused 4 MB buffers;
- :mod:`.scan` finds ``"billing_code"`` keys with ``bytes.find``, reads each code with a regex and,
  for a wanted code only, scans back to the enclosing ``{`` and lets orjson parse that one object;
- :mod:`.refs` notes where the top-level ``provider_references`` sections are (before or after
  ``in_network``) and resolves only the group ids the kept items use: on the fly when the section comes
  after the items, by a second read of the file's head when it comes first; :mod:`.remote` fetches
  remote ``location`` references;
- :mod:`.rows` turns kept items into rows: one per negotiated price and provider group;
- :mod:`.doc` checks the document's first and last bytes and reads its top-level fields.

Memory is flat in the file size: a few 5 MB buffers plus the kept items (see ``benchmarks/``). One file is
one unit of work: a truncated, corrupt or non-JSON file raises :class:`~hcpcs_atlas.errors.InputError`
naming the file and the byte offset in the decompressed stream, and nothing partial is returned.

Validated on every file: the first byte is ``{``; the document closes properly after its last array
element, which parses; gzip's end marker and CRC; every kept item parses exactly; documents of up to
4 MB (decompressed) are parsed whole. Not validated in larger files: the syntax of the bytes between the objects that are parsed.
"""

from __future__ import annotations

from .model import RateRow, StagedRates, TicFile, TocFile
from .reader import is_table_of_contents, read_in_network, read_table_of_contents, stage_in_network

__all__ = [
    "RateRow",
    "StagedRates",
    "TicFile",
    "TocFile",
    "is_table_of_contents",
    "read_in_network",
    "read_table_of_contents",
    "stage_in_network",
]
