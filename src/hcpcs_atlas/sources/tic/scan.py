"""Byte-level search of a JSON stream: find the objects that hold a key, parse only the wanted ones.

Tokenizing a 300 GB document in Python is out of the question, so the stream is never tokenized. Instead:

1. ``bytes.find`` locates a key such as ``"billing_code"`` in a sliding buffer (several GB/s). Inside a
   JSON string every ``"`` is escaped, so ``billing_code"`` (a letter, then an unescaped quote) only occurs
   where a string ends: a hit is a key, or a string value equal to the key's name, which the value regex
   rejects (it wants a ``:``). Only a key whose own name ends in ``\"billing_code`` could fool it.
2. A compiled regex reads the key's value; only values the caller wants go further.
3. An exact backward scan from the hit (known to be outside any string) finds the ``{`` that opens the
   enclosing object, tracking strings and escapes.
4. ``orjson`` parses from that ``{``; it stops with "unexpected content after document" right where the
   object ends, which gives its end without a tokenizer of ours. The window grows geometrically, because
   orjson validates the UTF-8 of its whole input before parsing.

What is validated: every parsed object is exact JSON. What is not: bytes between wanted objects, which
are only searched. :mod:`hcpcs_atlas.sources.tic` adds cheap whole-document checks (first and last
bytes, gzip CRC, the document's last element and closing).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import orjson

from ... import accel
from ...errors import InputError

__all__ = [
    "HEADROOM",
    "LOOKBACK",
    "NeedLookback",
    "ObjectFinder",
    "byte_offset",
    "hinted_end",
    "object_start",
    "parse_object",
]

#: How much already-searched data stays in the buffer for backward scans (the start of the object that
#: holds a hit). Items put ``billing_code`` in their first few hundred bytes; 1 MB is a wide margin, and
#: every byte kept is copied once per chunk. A key further in triggers NeedLookback (see tic.py).
LOOKBACK = 1 << 20
#: Bytes that must follow a hit before its value is read (a value split by the buffer end waits).
GUARD = 4096
#: Free bytes in front of each chunk for the retained tail of the previous one.
HEADROOM = LOOKBACK + 2 * GUARD
FIRST_WINDOW = 64 << 10
QUOTE, BACKSLASH, OPEN_OBJECT, COMMA = ord('"'), ord("\\"), ord("{"), ord(",")
WHITESPACE = b" \t\r\n"
CLOSERS = frozenset(b"}]")
STRUCTURE = re.compile(rb'[{}\[\]"]')
_NON_ASCII = re.compile(rb"[\x80-\xff]")
_NESTING = re.compile(rb"[\\\[\]}]")
#: A JSON string token, unrolled so the regex engine does not recurse per character.
STRING_TOKEN = rb'"[^"\\]*(?:\\.[^"\\]*)*"'
#: orjson refuses deeper documents; the stdlib fallback would hit Python's recursion limit instead.
MAX_DEPTH = 1024
TOO_DEEP = "depth limit exceeded"
#: orjson's message when a complete value is followed by more data: the end we are looking for.
TRAILING = "unexpected content after document"
#: the C accelerator (``_hits.c``): passes over unwanted hits in C; None: ``bytes.find`` and the regex
_HITS = accel.load("hcpcs_atlas.sources.tic._hits")


class NeedLookback(Exception):
    """The object holding a hit starts before the retained buffer (a key deep inside a huge object)."""

    def __init__(self, offset: int) -> None:
        super().__init__(f"object start before the retained buffer (hit at byte {offset})")
        self.offset = offset


def value_pattern(key: bytes) -> re.Pattern[bytes]:
    """``key : value`` where value is a string token or a bare scalar (number, literal)."""
    return re.compile(re.escape(key) + rb"\s*:\s*(" + STRING_TOKEN + rb"|[^\s,}\]]+)")


def _escaped(buf: bytes | bytearray, index: int, floor: int) -> bool:
    """True if buf[index] is preceded by an odd run of backslashes."""
    run = 0
    while index - run - 1 >= floor and buf[index - run - 1] == BACKSLASH:
        run += 1
    return run % 2 == 1


_BLANKS = b" \t\n\r"


def object_start(buf: bytes | bytearray, pos: int, floor: int = 0) -> int | None:
    """Index of the ``{`` opening the object that holds ``buf[pos]`` (``pos`` outside any string).

    Returns None when that ``{`` would lie before ``floor``. Raises ValueError when ``pos`` is directly
    inside an array, which valid JSON never has for a key.
    """
    before = pos - 1
    while before >= floor and buf[before] in _BLANKS:
        before -= 1
    if before >= floor and buf[before] == OPEN_OBJECT:
        return before  # the key is the object's first: JSON puts a structural { or , before a key
    brace = buf.rfind(b"{", floor, pos)
    if brace >= 0 and buf.count(b'"', brace, pos) % 2 == 0 and _NESTING.search(buf, brace, pos) is None:
        # The last { before the key, with only flat, complete strings between (an even number of quotes,
        # none escaped, no other bracket): outside any string, so it opens the key's object. The usual
        # case (a few keys before billing_code), at C speed; anything else takes the exact scan below.
        return brace
    depth, in_string, hi, width = 0, False, pos, 256
    while hi > floor:
        lo = max(floor, hi - width)
        marks = [m.start() for m in STRUCTURE.finditer(buf, lo, hi)]
        for index in reversed(marks):
            char = buf[index]
            if in_string:
                in_string = not (char == QUOTE and not _escaped(buf, index, floor))
            elif char == QUOTE:
                in_string = True  # a closing quote: outside strings a quote is never escaped
            elif char in CLOSERS:
                depth += 1
            elif depth:
                depth -= 1
            elif char == OPEN_OBJECT:
                return index
            else:
                raise ValueError("a key directly inside an array")
        hi, width = lo, width * 4
    return None


def byte_offset(data: bytes | bytearray | memoryview, char_pos: int) -> int:
    """Map orjson's / json's character position in UTF-8 ``data`` back to a byte offset."""
    if _NON_ASCII.search(data, 0, char_pos) is None:  # no copy: the window can be hundreds of MB
        return char_pos
    text = bytes(data).decode("utf-8", "replace")
    return len(text[:char_pos].encode("utf-8", "replace"))


def _char_end(data: bytes | bytearray, end: int) -> int:
    """Move ``end`` forward off UTF-8 continuation bytes, so a window never splits a character."""
    while end < len(data) and 0x80 <= data[end] < 0xC0:
        end += 1
    return end


class BadJson(Exception):
    def __init__(self, offset: int, message: str) -> None:
        super().__init__(message)
        self.offset = offset
        self.message = message


def parse_object(
    buf: bytes | bytearray,
    start: int,
    at_eof: bool,
    first_window: int = FIRST_WINDOW,
    hint: int | None = None,
) -> tuple[dict[str, Any], int] | None:
    """Parse the object starting at ``buf[start]``; return it and its end index, or None for "need more".

    ``hint``: where the object probably ends (the next object's start). When the bytes up to there,
    less whitespace and a comma, parse as one JSON value, that value is the object (its extent is fixed
    by its first byte): one parse instead of two. Raises BadJson (offset relative to ``start``) when the
    bytes are not JSON.
    """
    view = memoryview(buf)
    if hint is not None:
        exact = _exact_window(view, start, hint)
        if exact is not None:
            return exact
    avail = len(buf) - start
    window = min(avail, max(first_window, 1))
    while True:
        end = _char_end(buf, start + window)
        outcome = _try_window(view[start:end], at_eof and end >= len(buf))
        if outcome is not None:
            obj, size = outcome
            return obj, start + size
        if end >= len(buf):
            return None
        window = min(avail, window * 4)


def hinted_end(data: bytes | bytearray | memoryview, start: int, hint: int) -> int:
    """Where the object starting at ``start`` ends if the hint (the next object's start) is right: the
    hint less the blanks and the one comma between two array elements."""
    end = hint
    while end > start and data[end - 1] in WHITESPACE:
        end -= 1
    if end > start and data[end - 1] == COMMA:
        end -= 1
    return end


def _exact_window(view: memoryview, start: int, hint: int) -> tuple[dict[str, Any], int] | None:
    end = hinted_end(view, start, hint)
    try:
        value = orjson.loads(view[start:end])
    except orjson.JSONDecodeError:
        return None  # not the end after all (the next hit was inside this object): the general way
    return (value, end) if isinstance(value, dict) else None


def _try_window(data: memoryview, final: bool) -> tuple[dict[str, Any], int] | None:
    """The object at the start of ``data`` and its size; None if the window cuts it."""
    try:
        return _as_object(orjson.loads(data), len(data))
    except orjson.JSONDecodeError as exc:
        pos = byte_offset(data, exc.pos)
        if exc.msg == TRAILING:
            return _as_object(orjson.loads(data[:pos]), pos)
        if exc.msg == TOO_DEEP:
            raise BadJson(pos, f"invalid JSON: nested deeper than {MAX_DEPTH} levels") from None
        if not final and pos >= len(data) - 64:
            return None  # cut by the window: a truncated string, number or literal
    return _stdlib_fallback(data, final)


def _as_object(value: Any, size: int) -> tuple[dict[str, Any], int]:
    if not isinstance(value, dict):
        raise BadJson(0, "expected a JSON object")
    return value, size


def _stdlib_fallback(data: memoryview, final: bool) -> tuple[dict[str, Any], int] | None:
    """orjson rejects some valid JSON (lone surrogate escapes) and reports invalid UTF-8 at 0: ask the
    slower json module, which also gives the exact position of a real error."""
    raw = bytes(data)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadJson(exc.start, "invalid UTF-8") from None
    try:
        value, end = json.JSONDecoder().raw_decode(text)
    except RecursionError:  # orjson reports depth first; this guards a stdlib-only path
        raise BadJson(0, f"invalid JSON: nested deeper than {MAX_DEPTH} levels") from None
    except json.JSONDecodeError as exc:
        pos = len(text[: exc.pos].encode())
        if not final and pos >= len(raw) - 64:
            return None
        raise BadJson(pos, f"invalid JSON: {exc.msg}") from None
    return _as_object(value, len(text[:end].encode()))


class ObjectFinder:
    """Feeds on chunks of one JSON document and hands over each wanted object holding ``key``.

    ``want(value_token)`` sees the raw JSON token of the key's value (quotes included for strings); with
    ``want=None`` every object holding the key is wanted. ``search``, a regex whose group 1 is the value
    token, replaces ``bytes.find`` when hits are dense and most can be rejected inside the regex engine.
    ``on_object(obj, start, raw)`` gets the parsed object, its absolute start offset and its bytes.
    Hits inside an object already handed over are skipped (e.g. codes in an item's ``bundled_codes``).

    The buffer is ``buf[lo:]``, at absolute offset ``base + lo``. Chunks arrive with ``headroom`` free
    bytes in front, where the retained tail of the previous buffer is copied: only that tail is ever
    copied, never the chunk (copying every chunk cost more than searching it).
    """

    def __init__(
        self,
        source: str,
        key: bytes,
        want: Callable[[bytes], bool] | None,
        on_object: Callable[[dict[str, Any], int, bytearray], None],
        lookback: int = LOOKBACK,
        search: re.Pattern[bytes] | None = None,
        recycle: Callable[[bytearray], None] | None = None,
        max_object: int | None = None,
    ) -> None:
        self.source, self.key, self.want, self.on_object = source, key, want, on_object
        self.value_re = value_pattern(key)
        self.search = search
        self.lookback = lookback
        self.recycle = recycle
        self.buf = bytearray()
        self.lo = 0  # first valid index of buf
        self.base = 0  # absolute offset of buf[0] in the decompressed document
        self.pos = 0  # absolute offset where the next key search starts
        self.done_until = 0  # absolute end of the last object handed over
        self.last_hit = -1  # absolute offset of the last key seen
        self.hold: int | None = None  # absolute offset a caller needs kept (deep lookback mode)
        self._pending: tuple[int, int] | None = None  # (object start, hit) waiting for its end
        self._peek: tuple[int, int] | None = None  # (from, index): the last search for the next key
        self._retry_end = 0
        self._window = FIRST_WINDOW
        self._grown = False  # buf is our own growing bytearray, not a pool buffer
        self.eof = False
        #: the largest object held to be parsed (an item with a 1 GiB description must not take 5 GB)
        self.max_object = max_object
        #: ``divert(buf, start, hint)``: takes the bytes of a wanted object whose end the hint tells, to be
        #: parsed elsewhere, and returns that end; None leaves the object to be parsed here
        self.divert: Callable[[bytearray, int, int], int | None] | None = None
        #: ``want``'s rule as data (:attr:`.rows.ItemCollector.code_rule`): with the C accelerator, hits
        #: of codes not wanted are passed over in C; None (another ``want``) leaves every hit to Python
        self.code_rule: tuple[set[str] | frozenset[str] | None] | None = None

    @property
    def end(self) -> int:
        return self.base + len(self.buf)

    @property
    def at_start(self) -> bool:
        """True while the buffer still holds the document's first byte."""
        return self.base + self.lo == 0

    def feed(self, chunk: bytearray, headroom: int) -> None:
        self.append(chunk, headroom)
        self.run()

    def append(self, chunk: bytearray, headroom: int) -> None:
        """Take the next chunk (``headroom`` free bytes in front) without searching it yet."""
        keep_from = self._keep_from()
        self._check_size(keep_from)
        old, old_lo = self.buf, keep_from - self.base
        tail = len(old) - old_lo
        if tail <= headroom:
            self.lo = headroom - tail
            chunk[self.lo : headroom] = memoryview(old)[old_lo:]
            self.buf = chunk
            if not self._grown:
                self._give_back(old)
            self._grown = False
        elif self._grown:  # still growing (a big pending object): extend in place, amortized
            del old[:old_lo]  # drops the front without moving the rest
            old += memoryview(chunk)[headroom:]
            self.lo = 0
            self._give_back(chunk)
        else:  # a pending object or a deep hold outgrew the headroom: a buffer of our own from now on
            self.buf, self.lo, self._grown = old[old_lo:] + memoryview(chunk)[headroom:], 0, True
            self._give_back(chunk)
            self._give_back(old)
        self.base = keep_from - self.lo

    def _check_size(self, keep_from: int) -> None:
        """Refuse an object that outgrows ``max_object`` while it is held for parsing."""
        limit = self.max_object
        if limit is None or self.end - keep_from <= limit + self.lookback:
            return
        start = self._pending[0] if self._pending is not None else keep_from
        raise InputError(
            self.source,
            f"a JSON object larger than the {limit / (1 << 20):g} MB item limit "
            "(raise it with --max-item-mb if the file is right)",
            byte=start,
        )

    def _give_back(self, buf: bytearray) -> None:
        if self.recycle is not None and buf:
            self.recycle(buf)

    def skip_to(self, offset: int) -> None:
        """Search no key before ``offset`` (bytes the caller knows hold no wanted object)."""
        self.pos = max(self.pos, min(offset, self.end))

    def rewind_to(self, offset: int) -> None:
        """Search again from ``offset`` (still in the buffer): the caller changed what it looks for."""
        self.pos = max(offset, self.base + self.lo)

    def finish(self, until: int | None = None) -> None:
        self.eof = True
        self.run(until)

    def _keep_from(self) -> int:
        marks = [self.pos - self.lookback, self.end - self.lookback]
        if self._pending is not None:
            marks.append(self._pending[0])
        if self.hold is not None:
            marks.append(self.hold)
        return min(max(self.base + self.lo, min(marks)), self.end)

    def run(self, until: int | None = None) -> None:
        """Hand over the wanted objects whose key lies before ``until`` (default: all complete ones)."""
        bounded = until is not None and until <= self.end  # every wanted object before it is complete
        if self._pending is not None:
            if not (self.eof or bounded) and self.end < self._retry_end:
                return
            if not self._hand_over(*self._pending):
                return
        limit = self.end if self.eof else self.end - GUARD
        if until is not None:
            limit = until if bounded else min(limit, until)
        if self.search is None:
            self._find_hits(limit)
        else:
            self._search_hits(limit)

    def _find_hits(self, limit: int) -> None:
        """Sparse keys: ``bytes.find`` (several GB/s), then the value regex at each hit. Locals only in
        the loop: it runs once per in_network item."""
        if _HITS is not None and self.code_rule is not None and self.want is not None:
            self._next_hits(limit, self.code_rule[0])
            return
        buf, base, key, find = self.buf, self.base, self.key, self.buf.find
        want, value_at = self.want, self.value_re.match
        index, last = find(key, self.pos - base), -1
        while index >= 0 and base + index < limit:
            after, last = index + len(key), index
            if base + index >= self.done_until:
                match = value_at(buf, index)  # None for a string value equal to the key's name
                if match is not None and (want is None or want(match.group(1))):
                    self.pos, self.last_hit = base + after, base + index
                    self._peek = None
                    if not self._locate(index):
                        return
                    peek = self._peek  # the end hint's search found the next key already
                    if peek is not None and peek[0] == after and self.buf is buf:
                        index = peek[1]
                        continue
            index = find(key, after)
        if last >= 0:
            self.last_hit = max(self.last_hit, base + last)
        self.pos = base + index if index >= 0 else max(self.pos, self.end - len(key) + 1)

    def _next_hits(self, limit: int, codes: set[str] | frozenset[str] | None) -> None:
        """:meth:`_find_hits` with the C accelerator: one call per hit handed back. It passes over the
        hits of codes ``want`` would refuse; for a wanted one it also locates its object and the next hit
        (:meth:`_locate`), where the following search starts: the bytes between two wanted hits are
        searched once. A value C does not read exactly is read here as there."""
        assert _HITS is not None and self.want is not None
        buf, base, key, klen = self.buf, self.base, self.key, len(self.key)
        next_wanted, stop, lo = _HITS.next_wanted, limit - base, self.lo
        index, last = self.pos - base, -1
        while True:
            index, seen, resume, wanted, start, after, brace = next_wanted(
                buf, key, index, stop, self.done_until - base, codes, lo
            )
            if seen >= 0:
                last = seen
            if index < 0:
                index = resume
                break
            last = index
            if not wanted:  # a value C does not read exactly: the regex and want, as _find_hits
                match = self.value_re.match(buf, index)  # None for a string value equal to the key's name
                if match is None or not self.want(match.group(1)):
                    index += klen
                    continue
                start, after, brace = _HITS.locate(buf, index, lo, key)
            self.pos, self.last_hit = base + index + klen, base + index
            if start < 0:
                start = self._object_start(index, base + index)
            if not self._hand_over(base + start, base + index, brace if brace >= 0 else None):
                return
            index = after if after >= 0 else len(buf)  # no hit lies between: searched already
        if last >= 0:
            self.last_hit = max(self.last_hit, base + last)
        self.pos = base + index if index >= 0 else max(self.pos, self.end - len(key) + 1)

    def _search_hits(self, limit: int) -> None:
        """Dense keys: the regex engine skips unwanted values itself."""
        assert self.search is not None
        for match in self.search.finditer(self.buf, self.pos - self.base):
            index = match.start()
            if self.base + index >= limit:
                self.pos = self.base + index
                return
            self.pos, self.last_hit = self.base + match.end(), self.base + index
            wanted = self.want is None or self.want(match.group(1))
            if self.base + index >= self.done_until and wanted and not self._locate(index):
                return
        self.pos = max(self.pos, limit)

    def _locate(self, index: int) -> bool:
        """Find and parse the object holding the wanted key at buf[index]; False while it is incomplete."""
        hit = self.base + index
        if _HITS is not None:  # object_start's fast cases and _next_start in one C call
            start, after, brace = _HITS.locate(self.buf, index, self.lo, self.key)
            self._peek = (index + len(self.key), after)
            hint = brace if brace >= 0 else None
        else:
            start, hint = -1, None
        if start < 0:
            start = self._object_start(index, hit)
            if _HITS is None:
                hint = self._next_start(index)
        return self._hand_over(self.base + start, hit, hint)

    def _object_start(self, index: int, hit: int) -> int:
        try:
            start = object_start(self.buf, index, self.lo)
        except ValueError as exc:
            raise InputError(self.source, f"invalid JSON: {exc}", byte=hit) from None
        if start is None:
            if self.at_start:
                raise InputError(self.source, "invalid JSON: a key outside any object", byte=hit)
            raise NeedLookback(hit)
        return start

    def _next_start(self, index: int) -> int | None:
        """Where the object holding the next hit probably starts: the last ``{`` before it (the next
        item, whose first keys hold no braces in practice; a wrong guess only costs a failed parse)."""
        after = self.buf.find(self.key, index + len(self.key))
        self._peek = (index + len(self.key), after)
        brace = self.buf.rfind(b"{", index, after) if after >= 0 else -1
        return brace if brace >= 0 else None

    def _hand_over(self, start: int, hit: int, hint: int | None = None) -> bool:
        local = start - self.base
        if hint is not None and self.divert is not None:
            end = self.divert(self.buf, local, hint)
            if end is not None:
                self._pending, self._window = None, FIRST_WINDOW
                self.done_until = self.base + end
                return True
        try:
            parsed = parse_object(self.buf, local, self.eof, self._window, hint)
        except BadJson as exc:
            raise InputError(self.source, exc.message, byte=start + exc.offset) from None
        if parsed is None:  # wait until the buffer has doubled: total parse work stays linear
            self._pending = (start, hit)
            self._window = len(self.buf) - local
            self._retry_end = self.end + max(self._window, 1 << 20)
            return False
        obj, end = parsed
        self._pending, self._window = None, FIRST_WINDOW
        self.done_until = self.base + end
        try:
            self.on_object(obj, start, self.buf[local:end])
        except (RecursionError, orjson.JSONEncodeError):
            # values nested hundreds of levels deep (orjson parses 1024, but writes 254 and Python's
            # recursion stops near 1000): a traceback otherwise, where the rule is a line naming the byte
            raise InputError(self.source, "an object nested too deep to read", byte=start) from None
        return True
