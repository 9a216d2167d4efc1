"""National Drug Codes: the three 10-digit labeler-product-package layouts, normalized to 11-digit 5-4-2."""

from __future__ import annotations

import re

__all__ = ["normalize_ndc"]

_DASHED = re.compile(r"^(\d{4,5})-(\d{3,4})-(\d{1,2})$")
#: The 10-digit layouts: which segment gets the leading zero that makes 5-4-2.
_WIDTHS = {(4, 4, 2), (5, 3, 2), (5, 4, 1), (5, 4, 2)}


def normalize_ndc(text: str | None) -> str | None:
    """``0074-3799-02`` (4-4-2) -> ``00074-3799-02``; 5-3-2 and 5-4-1 likewise; 11 digits undashed too.

    An undashed 10-digit NDC is ambiguous (which segment lost its zero is unknowable): None, never a guess.
    """
    if not text:
        return None
    text = text.strip()
    if text.isdigit() and len(text) == 11:
        return f"{text[:5]}-{text[5:9]}-{text[9:]}"
    match = _DASHED.match(text)
    if not match or tuple(len(g) for g in match.groups()) not in _WIDTHS:
        return None
    labeler, product, package = match.groups()
    return f"{labeler.zfill(5)}-{product.zfill(4)}-{package.zfill(2)}"
