"""Untrusted strings made safe to show: in a one-line error, or in a publication.

Payer files and downloaded documents may carry control characters (NUL, escape sequences that repaint a
terminal) and bidi overrides (U+202E shows ``exe.txt`` as ``txt.exe``). Neither has a place in what we
print, so both are taken out where strings are shown, not where they are stored (the store keeps the
file's values as they were).
"""

from __future__ import annotations

__all__ = ["BIDI_CONTROLS", "clean_text", "one_line", "printable"]

#: Directional formatting characters (Unicode bidi controls): embeddings, overrides, isolates, marks.
BIDI_CONTROLS = (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
_DROP = dict.fromkeys([0x00, *BIDI_CONTROLS])
_UNPRINTABLE = dict.fromkeys([*range(0x20), 0x7F, *range(0x80, 0xA0), *BIDI_CONTROLS], "?")


def clean_text(text: str) -> str:
    """A string for a publication: NUL and bidi controls removed (line breaks and tabs stay)."""
    return text.translate(_DROP)


def printable(text: str, limit: int = 160) -> str:
    """A string for a one-line message: control and bidi characters replaced by ``?``, shortened."""
    clean = text.translate(_UNPRINTABLE)
    return clean if len(clean) <= limit else clean[: limit - 3] + "..."


def one_line(message: str, limit: int = 2000) -> str:
    """A message on one printable line: runs of whitespace (newlines, tabs) become one space."""
    return printable(" ".join(message.split()), limit)
