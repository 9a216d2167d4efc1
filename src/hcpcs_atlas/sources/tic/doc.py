"""Whole-document checks and top-level fields of a streamed TiC document, and the in-network scan.

Checked on every file, at no measurable cost:

- the first non-whitespace byte is ``{`` (an HTML error page, an empty file or binary garbage fails);
- the document ends with ``}``; the last element of its last array (the last in_network item or
  provider reference) parses, and only ``]``, further top-level fields and ``}`` follow it, so a file cut
  anywhere except exactly between two top-level fields fails;
- documents of up to 4 MB (decompressed: they arrive in one chunk) are parsed whole, every byte checked;
- gzip: the end-of-stream marker and CRC-32 (checked by the inflater, see :mod:`.stream`);
- every kept item is parsed exactly.

Not checked on larger files: the syntax of the bytes between the objects that are parsed (a corrupted
non-target item inside a plain ``.json`` goes unnoticed; in a ``.gz`` the CRC catches corruption).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import orjson

from ... import accel
from ...errors import InputError
from .refs import PROVIDER_GROUP_ID, REFERENCES_KEY, ReferenceSections, Resolver
from .rows import ItemCollector
from .scan import STRING_TOKEN, BadJson, ObjectFinder, byte_offset, object_start, parse_object
from .stream import CHUNK

__all__ = ["DocumentChecks", "InNetworkScan", "find_key"]

TOP_FIELDS = (
    "reporting_entity_name", "reporting_entity_type", "plan_name", "plan_id_type", "plan_id",
    "plan_market_type", "issuer_name", "plan_sponsor_name", "network_name", "last_updated_on", "version",
)  # fmt: skip
BILLING_CODE = b'"billing_code"'
NEGOTIATED_RATES = b'"negotiated_rates"'
IN_NETWORK = b'"in_network"'
FULL_PARSE_MAX = CHUNK
_COLON = re.compile(rb"\s*:")
_VALUE_START = re.compile(rb"\s*:\s*(\S)")
_NOT_SPACE = re.compile(rb"[^ \t\r\n]")
_SCALAR_FIELD = re.compile(
    rb'"(' + "|".join(TOP_FIELDS).encode() + rb')"\s*:\s*(' + STRING_TOKEN + rb"|-?[0-9][0-9.eE+-]*)"
)
BOM = b"\xef\xbb\xbf"
#: ``bytearray.count`` over every byte of in_network (the items seen): in C without the GIL if built
_count_key: Callable[[bytearray, bytes, int, int], int] = getattr(
    accel.load("hcpcs_atlas.sources.tic._hits"), "count", bytearray.count
)


def find_key(buf: bytes | bytearray, key: bytes, start: int) -> tuple[int, int]:
    """(index of ``key`` used as a key, i.e. followed by ``:``, or -1; where to resume the search)."""
    while True:
        index = buf.find(key, start)
        if index < 0:
            return -1, max(start, len(buf) - len(key) + 1)
        colon = _COLON.match(buf, index + len(key))
        if colon is not None:
            return index, index
        if len(buf) - index < 4096:  # the colon may still be on its way
            return -1, index
        start = index + 1


def _last_key(buf: bytes, key: bytes) -> int:
    end = len(buf)
    while (index := buf.rfind(key, 0, end)) >= 0:
        if _COLON.match(buf, index + len(key)):
            return index
        end = index
    return -1


def top_fields(obj: dict[str, Any]) -> dict[str, Any]:
    fields = {k: obj[k] for k in TOP_FIELDS if k in obj}
    if isinstance(obj.get("reporting_plans"), list):
        fields["reporting_plans"] = obj["reporting_plans"]
    return fields


class DocumentChecks:
    """First/last-byte checks, head and tail fields. ``head_keys`` end the head; ``anchors`` mark keys of
    objects that are elements of a top-level array (used to check the document's last element)."""

    def __init__(self, source: str, head_keys: tuple[bytes, ...], anchors: tuple[bytes, ...]) -> None:
        self.source, self.head_keys, self.anchors = source, head_keys, anchors
        self.fields: dict[str, Any] = {}
        self.top_keys: set[str] = set()
        self._brace: int | None = None
        self._head_done = False

    def feed(self, buf: bytearray, base: int, lo: int) -> None:
        """See the buffer after each chunk: valid bytes are ``buf[lo:]``, ``buf[i]`` is at ``base + i``."""
        if self._brace is None:
            self._check_start(buf, base, lo)
        if self._brace is not None and not self._head_done:
            self._head(buf, base, lo)

    def _check_start(self, buf: bytearray, base: int, lo: int) -> None:
        skip = len(BOM) if base + lo == 0 and buf.startswith(BOM, lo) else 0
        first = _NOT_SPACE.search(buf, lo + skip)
        if first is None:
            return
        if buf[first.start()] != ord("{"):
            # Never echo the bytes: a listed location may be a local file the reader must not disclose.
            kind = "an HTML page" if buf[first.start()] == ord("<") else "not a JSON object"
            raise InputError(
                self.source, f"{kind}: the document does not start with '{{'", byte=base + first.start()
            )
        self._brace = base + first.start()

    def _head(self, buf: bytearray, base: int, lo: int) -> None:
        """Parse the top-level fields before the first big array exactly, by closing them with ``}``."""
        if base + lo:
            self._head_done = True  # the head outgrew the buffer: scalar fields come from the windows
            return
        found = [(i, k) for k in self.head_keys if (i := find_key(buf, k, lo)[0]) >= 0]
        if not found:
            return
        end, key = min(found)
        self._head_done = True
        self.top_keys.add(key.strip(b'"').decode())
        assert self._brace is not None
        text = bytes(buf[self._brace - base : end]).rstrip()
        if text == b"{" or not text.endswith(b","):
            return
        try:
            head = orjson.loads(text[:-1] + b"}")
        except orjson.JSONDecodeError:
            self.scan_window(text)
            return
        if isinstance(head, dict):
            self.top_keys.update(head)
            self._merge(self._writable(top_fields(head), text, self._brace))

    def scan_window(self, window: bytes | bytearray) -> None:
        """Scalar top-level fields between big arrays (after the window's last ``]``), by regex."""
        window = window[window.rfind(b"]") + 1 :]
        for match in _SCALAR_FIELD.finditer(window):
            self.fields.setdefault(match.group(1).decode(), orjson.loads(match.group(2)))

    def _writable(self, fields: dict[str, Any], data: bytes | bytearray, base: int) -> dict[str, Any]:
        """The fields, once ``reporting_plans`` is known to be writable by orjson (the store keeps it as
        JSON text): orjson parses 1,024 levels but writes 254, and a traceback is no answer to bad input."""
        plans = fields.get("reporting_plans")
        if plans is not None:
            try:
                orjson.dumps(plans)
            except orjson.JSONEncodeError:
                at = max(data.rfind(b'"reporting_plans"'), 0)
                raise InputError(
                    self.source, "reporting_plans nested too deep to read", byte=base + at
                ) from None
        return fields

    def _merge(self, fields: dict[str, Any]) -> None:
        for key, value in fields.items():
            self.fields.setdefault(key, value)

    def finish(self, buf: bytes, base: int) -> dict[str, Any]:
        """At end of data (``buf`` = the retained tail, from offset ``base``): the closing checks; returns
        the top-level fields found."""
        if self._brace is None:
            what = "empty file" if base + len(buf) == 0 else "no JSON content (whitespace only)"
            raise InputError(self.source, what, byte=base + len(buf))
        last = len(buf.rstrip(b" \t\r\n")) - 1
        if last < 0 or buf[last] != ord("}"):
            raise InputError(
                self.source, "ends early: the document does not close with '}'", byte=base + last + 1
            )
        if base == 0 and len(buf) <= FULL_PARSE_MAX:
            self._parse_whole(buf)
        else:
            self._check_tail(buf, base, last + 1)
        return self.fields

    def _parse_whole(self, buf: bytes) -> None:
        assert self._brace is not None
        view = memoryview(buf)[self._brace :]
        try:
            doc = orjson.loads(view)
        except orjson.JSONDecodeError as exc:
            offset = self._brace + byte_offset(view, exc.pos)
            raise InputError(self.source, f"invalid JSON: {exc.msg}", byte=offset) from None
        if isinstance(doc, dict):
            self.top_keys.update(doc)
            self.fields = self._writable(top_fields(doc), buf, 0) | self.fields

    def _check_tail(self, buf: bytes, base: int, end: int) -> None:
        """The last element of the last array parses and is followed only by a valid closing."""
        anchor = max(_last_key(buf, key) for key in self.anchors)
        try:
            start = object_start(buf, anchor) if anchor >= 0 else None
        except ValueError as exc:
            raise InputError(self.source, f"invalid JSON: {exc}", byte=base + anchor) from None
        if start is None:
            return  # the last element is larger than the buffer: not checked
        try:
            parsed = parse_object(buf, start, at_eof=True)
        except BadJson as exc:
            raise InputError(self.source, exc.message, byte=base + start + exc.offset) from None
        assert parsed is not None
        after = buf[parsed[1] : end]
        rest_at = parsed[1] + len(after) - len(after.lstrip())
        rest = buf[rest_at:end]
        if not rest.startswith(b"]"):
            raise InputError(
                self.source, "unexpected bytes after the last array element", byte=base + rest_at
            )
        closing = rest[1:].lstrip()
        if closing == b"}":
            return
        try:
            trailing = orjson.loads(b"{" + closing[1:]) if closing.startswith(b",") else None
        except orjson.JSONDecodeError:
            trailing = None
        if not isinstance(trailing, dict):
            raise InputError(self.source, "invalid JSON after the last array", byte=base + rest_at + 1)
        self.top_keys.update(trailing)
        self._merge(self._writable(top_fields(trailing), buf, base))


class InNetworkScan:
    """One pass over an in-network document: kept items, item count, reference sections, checks."""

    def __init__(
        self,
        source: str,
        collector: ItemCollector,
        sections: ReferenceSections,
        resolver: Resolver,
        deep: bool,
        recycle: Callable[[bytearray], None] | None = None,
        max_object: int | None = None,
    ) -> None:
        self.finder = ObjectFinder(
            source, BILLING_CODE, collector.want, collector.on_object, recycle=recycle, max_object=max_object
        )
        self.finder.divert = None if deep else collector.divert
        self.finder.code_rule = collector.code_rule
        self.checks = DocumentChecks(
            source, (IN_NETWORK, REFERENCES_KEY), (NEGOTIATED_RATES, PROVIDER_GROUP_ID)
        )
        self.collector, self.sections, self.resolver, self.deep = collector, sections, resolver, deep
        self.items_seen = 0  # "negotiated_rates" keys: exactly one per in_network item
        self.in_network_at: int | None = None
        self.resolved_live = False  # the finder now resolves references (a section after in_network)
        self._counted = 0
        self._in_network_search = 0
        self._windows = 0

    def feed(self, chunk: bytearray, headroom: int) -> None:
        finder = self.finder
        finder.append(chunk, headroom)
        buf, base, lo = finder.buf, finder.base, finder.lo
        self.checks.feed(buf, base, lo)  # first: the exact head beats the regex windows below
        if self.in_network_at is None:
            self._find_in_network(buf, base, lo)
        known = len(self.sections.sections)
        self._scan(final=False)  # items first: where the last one is bounds the search for references
        self.sections.track(buf, base, lo, self.in_network_at, finder.last_hit)
        self._scan_new_windows(buf, base, lo)
        for start in self.sections.starts[known:]:
            if self.in_network_at is not None and start > self.in_network_at and not self.resolved_live:
                self._after_items(start)  # the scan above ran into this section: it holds no items
                break
        if self.deep:
            self._hold(buf, base, lo)

    def finish(self) -> dict[str, Any]:
        finder = self.finder
        finder.eof = True
        self._scan(final=True)
        return self.checks.finish(bytes(finder.buf[finder.lo :]), finder.base + finder.lo)

    def _items_zone(self) -> tuple[int, int] | None:
        """Where in_network items can be, as far as known: from the ``in_network`` key to the start of a
        provider_references section after it (or the end of the buffer). Elsewhere is not searched for
        items: the references can be half the file."""
        if self.in_network_at is None:
            return None
        after = [start for start in self.sections.starts if start > self.in_network_at]
        return self.in_network_at, after[0] if after else self.finder.end

    def _scan(self, final: bool) -> None:
        finder, zone = self.finder, self._items_zone()
        if self.resolved_live:
            finder.run()
            return
        if zone is None:  # the head, or a provider_references section before in_network
            finder.skip_to(finder.end - len(BILLING_CODE) + 1)
            self._counted = finder.end - len(NEGOTIATED_RATES) + 1
            return
        start, stop = zone
        finder.skip_to(start)
        finder.run(until=stop if stop < finder.end else None)
        self._count(start, stop, final)
        if stop < finder.end:  # deep mode, past the section after in_network: no items in it
            finder.skip_to(finder.end - len(BILLING_CODE) + 1)

    def _count(self, start: int, stop: int, final: bool) -> None:
        buf, base = self.finder.buf, self.finder.base
        begin = max(self._counted, start) - base
        self.items_seen += _count_key(buf, NEGOTIATED_RATES, max(begin, self.finder.lo), stop - base)
        self._counted = stop if final or stop < self.finder.end else stop - len(NEGOTIATED_RATES) + 1

    def _after_items(self, section_start: int) -> None:
        """Resolve the references while they stream past, or (deep mode) just let them pass."""
        finder = self.finder
        finder.run(until=section_start)  # items left for more data lie before the section: finish them
        if self.deep:  # resolved at the end (see tic.py), so the retained buffer can hold whole items
            finder.skip_to(finder.end - len(BILLING_CODE) + 1)
            return
        self.collector.sync()  # a helper's items are before the section too: their ids are wanted
        self.resolver.expect(self.collector.wanted_ids)
        self.resolver.retarget(finder)
        self.resolved_live = True
        finder.rewind_to(section_start)
        finder.run()

    def _find_in_network(self, buf: bytearray, base: int, lo: int) -> None:
        index, resume = find_key(buf, IN_NETWORK, max(self._in_network_search - base, lo))
        self._in_network_search = base + resume
        if index >= 0:
            self.in_network_at = base + index
            value = _VALUE_START.match(buf, index + len(IN_NETWORK))
            if value is not None and value.group(1) != b"[":
                # Nothing could be kept: recording the file as ingested would block a correct copy of it.
                raise InputError(self.checks.source, "in_network is not an array", byte=base + value.start(1))
            self.checks.scan_window(buf[max(index - 65536, lo) : index])

    def _scan_new_windows(self, buf: bytearray, base: int, lo: int) -> None:
        """A provider_references section after in_network: top-level fields may sit just before it."""
        for start in self.sections.starts[self._windows :]:
            local = start - base
            if local > lo:
                self.checks.scan_window(buf[max(local - 65536, lo) : local])
        self._windows = len(self.sections.sections)

    def _hold(self, buf: bytearray, base: int, lo: int) -> None:
        """Deep mode: keep the current item from its negotiated_rates key on, for a late billing_code."""
        zone = self._items_zone()
        if zone is None or zone[1] < self.finder.end:
            self.finder.hold = None  # no items here: keep nothing extra
            return
        index = buf.rfind(NEGOTIATED_RATES, lo, max(self.finder.pos - base, lo))
        if index >= 0:
            self.finder.hold = max(base + index - 65536, 0)
