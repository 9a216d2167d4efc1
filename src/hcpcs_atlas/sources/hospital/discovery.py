"""A hospital's ``cms-hpt.txt`` discovery file (45 CFR 180.50(d)(6)): where its price files are.

Plain text, one ``key: value`` per line, entries separated by blank lines::

    location-name: UNC Hospitals
    source-page-url: https://www.unchealth.org/...
    mrf-url: https://.../standardcharges.csv
    contact-name: ...
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

from ...errors import InputError
from ..tic.stream import is_url

__all__ = ["DiscoveryEntry", "looks_like_discovery", "parse_discovery"]

_LINE = re.compile(r"^\s*([A-Za-z-]+)\s*:\s*(.*?)\s*$")
KEYS = frozenset({"location-name", "source-page-url", "mrf-url", "contact-name", "contact-email"})


@dataclass(frozen=True)
class DiscoveryEntry:
    location_name: str | None
    mrf_url: str  # absolute URL or path


def looks_like_discovery(head: bytes) -> bool:
    """The first non-empty line is one of the discovery file's keys."""
    for line in head.decode("utf-8", "replace").splitlines():
        if line.strip():
            match = _LINE.match(line)
            return match is not None and match.group(1).lower() in KEYS
    return False


def parse_discovery(label: str, text: str) -> list[DiscoveryEntry]:
    """Every ``mrf-url`` with the ``location-name`` of its entry; relative URLs resolved against the file."""
    entries: list[DiscoveryEntry] = []
    location: str | None = None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            location = None
            continue
        match = _LINE.match(line)
        if match is None:
            raise InputError(label, f"not a 'key: value' line: {line.strip()[:60]!r}", row=number)
        key, value = match.group(1).lower(), match.group(2)
        if key == "location-name":
            location = value or None
        elif key == "mrf-url" and value:
            entries.append(DiscoveryEntry(location, _resolve(label, value)))
    if not entries:
        raise InputError(label, "a cms-hpt.txt file without any mrf-url line", row=0)
    return entries


def _resolve(label: str, url: str) -> str:
    if is_url(url):
        return url
    if is_url(label):
        return urljoin(label, url)
    return str(Path(label).parent / url)
