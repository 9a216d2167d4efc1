"""Top-level ``provider_references``: located while streaming, resolved only for the ids kept items use.

The section may come before or after ``in_network`` and may be most of the file, so it is never held:

- after ``in_network`` (every kept item already known): the document's own finder is retargeted to
  ``"provider_group_id"`` keys and resolves the wanted groups as the section streams past;
- before ``in_network``: its offsets are noted, and at the end a second read of the file (local files:
  inflating a prefix is cheaper than writing the section to disk) or a temp-file copy made while
  streaming (URLs: a second download is not) is searched for the wanted ids.

The search runs in the regex engine: wanted plain-integer ids are compiled into a trie, so the millions
of reference objects nobody wants never reach Python. Group ids are matched by value where they are
numbers (``1`` and ``1.0`` are one group; ``320.25975`` stays exact, via Decimal, never a float) and by
text otherwise; a row shows the id as its rate wrote it.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import orjson

from ...errors import InputError
from .scan import GUARD, LOOKBACK, NeedLookback, ObjectFinder, value_pattern
from .stream import CHUNK, BufferPool, ChunkStream, fill_chunks

if TYPE_CHECKING:
    from .groups import GroupTable

__all__ = [
    "PROVIDER_GROUP_ID",
    "REFERENCES_KEY",
    "Reference",
    "ReferenceSections",
    "Resolver",
    "id_key",
    "id_token",
]

PROVIDER_GROUP_ID = b'"provider_group_id"'
REFERENCES_KEY = b'"provider_references"'
#: A group listed before its own provider_group_id can be big: a second search looks back this far.
WIDE_LOOKBACK = 64 * LOOKBACK


def id_key(text: str) -> str:
    """The match key of a group id: a number's value in plain decimal digits (``1.0`` -> ``1``,
    ``320.250`` -> ``320.25``; exact, never through a float), else the text itself."""
    try:
        number = Decimal(text)
    except InvalidOperation:
        return text
    if not number.is_finite() or abs(number.adjusted()) > 100:
        return text
    return format(number.normalize(), "f")


def id_token(token: bytes) -> tuple[str, str]:
    """(id as written, match key) from a raw JSON token: a number or a string."""
    text = token.decode("utf-8", "replace")
    if token.startswith(b'"'):
        try:
            text = str(orjson.loads(token))
        except orjson.JSONDecodeError:
            text = text[1:-1]  # a broken escape: keep the raw text
    return text, id_key(text)


@dataclass
class Reference:
    """A provider reference: its provider_groups (inline or fetched) or the location to fetch them from."""

    groups: list[Any] | GroupTable | None  # a list written inline; a GroupTable fetched from its location
    location: str | None
    network_names: tuple[str, ...]


class ReferenceSections:
    """Finds where top-level provider_references sections start and end while the document streams.

    A section starts at the ``"provider_references"`` key before the first ``"provider_group_id"`` (a
    key only reference objects have) and ends at the ``"in_network"`` key or the end of the document.
    With ``spool``, sections are also copied to a temp file (a little more than the section is harmless:
    only reference objects are looked up); ``spool_after`` extends that to sections after in_network.
    """

    def __init__(self, spool: bool, spool_after: bool) -> None:
        self.sections: list[tuple[int, int | None]] = []  # document offsets [start, end); None: the end
        self._spool, self._spool_after = spool, spool_after
        self.file = tempfile.TemporaryFile(prefix="tic-refs-") if spool else None  # noqa: SIM115 - __exit__
        self.size = 0
        self.segments: list[tuple[int, int]] = []  # (spool offset, document offset) of each copied run
        self._active = False
        self._copying = False
        self._copied = 0
        self._search = 0

    def __enter__(self) -> ReferenceSections:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.file is not None:
            self.file.close()

    @property
    def starts(self) -> list[int]:
        return [start for start, _ in self.sections]

    def track(
        self, buf: bytearray, base: int, lo: int, in_network_at: int | None, last_item_key: int
    ) -> None:
        """See the buffer after each chunk: valid bytes are ``buf[lo:]``, ``buf[i]`` is at ``base + i``."""
        more = True
        while more:
            if self._active:
                more = self._follow(buf, base, lo, in_network_at)
            else:
                more = self._begin(buf, base, lo, in_network_at, last_item_key)

    def _begin(
        self, buf: bytearray, base: int, lo: int, in_network_at: int | None, last_item_key: int
    ) -> bool:
        start = self._search
        if in_network_at is not None and start > in_network_at:
            start = max(start, last_item_key)  # no reference object sits before the last item's key
        found = buf.find(PROVIDER_GROUP_ID, max(start - base, lo))
        if found < 0:
            self._search = max(self._search, base + len(buf) - len(PROVIDER_GROUP_ID) + 1)
            return False
        key = buf.rfind(REFERENCES_KEY, lo, found)
        start = self._copied = base + (key if key >= 0 else lo)
        self.sections.append((start, None))
        after = in_network_at is not None and start > in_network_at
        self._active, self._copying = True, self._spool and (self._spool_after or not after)
        return True

    def _follow(self, buf: bytearray, base: int, lo: int, in_network_at: int | None) -> bool:
        start = self.sections[-1][0]
        end = base + len(buf)
        stop = in_network_at if in_network_at is not None and in_network_at > start else end
        if self._copying and self.file is not None and stop > max(self._copied, base + lo):
            begin = max(self._copied, base + lo)
            self.segments.append((self.size, begin))
            with memoryview(buf) as view:
                self.size += self.file.write(view[begin - base : stop - base])
        self._copied = max(self._copied, stop)
        if stop < end:
            self.sections[-1] = (start, stop)
            self._active, self._search = False, stop
            return True
        return False

    def document_offset(self, spool_offset: int) -> int:
        """Where a spooled byte came from, for error messages that must name the document's offset."""
        position = 0
        for start, origin in self.segments:
            if start > spool_offset:
                break
            position = origin + spool_offset - start
        return position


class Resolver:
    """Parses the reference objects of the wanted group ids; the first definition of an id wins."""

    def __init__(self, source: str, max_object: int | None = None) -> None:
        self.source = source
        self.max_object = max_object
        self.wanted: set[str] = set()
        self.found: dict[str, Reference] = {}
        self.search = _id_search(set())

    def expect(self, wanted: set[str]) -> None:
        self.wanted = set(wanted)
        self.search = _id_search(self.wanted)

    @property
    def done(self) -> bool:
        return self.wanted <= self.found.keys()

    def want(self, token: bytes) -> bool:
        key = id_token(token)[1]
        return key in self.wanted and key not in self.found

    def on_object(self, obj: dict[str, Any], start: int, raw: bytes | bytearray) -> None:
        key = _raw_id_key(raw)
        if key is not None:
            self.found.setdefault(key, _reference(obj))

    def retarget(self, finder: ObjectFinder) -> None:
        """Turn a finder done with in_network into a reference finder for the rest of the document."""
        finder.key, finder.value_re, finder.search = (
            PROVIDER_GROUP_ID,
            value_pattern(PROVIDER_GROUP_ID),
            self.search,
        )
        finder.want, finder.on_object, finder.hold = self.want, self.on_object, None
        finder.divert = None  # references are parsed here
        finder.code_rule = None  # another want

    def scan_spool(self, sections: ReferenceSections) -> None:
        """Search the copy of the sections made while streaming (URL sources)."""
        assert sections.file is not None
        try:
            self._retry_wide(lambda lookback: self._scan_file(sections, lookback))
        except InputError as exc:
            byte = sections.document_offset(exc.byte or 0)
            raise InputError(self.source, f"in provider_references: {exc.message}", byte=byte) from None

    def scan_source(self, source: str | Path, spans: list[tuple[int, int | None]]) -> None:
        """Read the document again, up to the last span, and search only inside the spans."""
        self._retry_wide(lambda lookback: self._scan_stream(source, spans, lookback))

    def _retry_wide(self, scan: Any) -> None:
        try:
            scan(LOOKBACK)
        except NeedLookback:  # a group listed megabytes before its provider_group_id: once more, wider
            self.found.clear()
            try:
                scan(WIDE_LOOKBACK)
            except NeedLookback as exc:
                raise InputError(
                    self.source, "a provider reference object too large to locate", byte=exc.offset
                ) from None

    def _finder(self, lookback: int, pool: BufferPool) -> ObjectFinder:
        return ObjectFinder(
            self.source, PROVIDER_GROUP_ID, self.want, self.on_object, lookback, self.search, pool.put,
            self.max_object,
        )  # fmt: skip

    def _scan_file(self, sections: ReferenceSections, lookback: int) -> None:
        assert sections.file is not None
        headroom = lookback + 2 * GUARD
        pool = BufferPool(headroom + CHUNK, keep=2)
        finder = self._finder(lookback, pool)
        sections.file.seek(0)
        for block in fill_chunks(sections.file.readinto, pool, headroom):
            finder.feed(block, headroom)
        finder.finish()

    def _scan_stream(self, source: str | Path, spans: list[tuple[int, int | None]], lookback: int) -> None:
        headroom = lookback + 2 * GUARD
        with ChunkStream(source, headroom) as stream:
            finder = ObjectFinder(self.source, PROVIDER_GROUP_ID, self.want, self.on_object, lookback,
                                  self.search, stream.pool.put, self.max_object)  # fmt: skip
            for chunk in stream:
                finder.append(chunk, headroom)
                if not _search_spans(finder, spans) or self.done:
                    return  # past the last span: stop reading
            finder.eof = True
            _search_spans(finder, spans)


def _search_spans(finder: ObjectFinder, spans: list[tuple[int, int | None]]) -> bool:
    """Run the finder over the parts of its buffer inside ``spans``; False once past the last one."""
    for start, stop in spans:
        if stop is not None and stop <= finder.pos:
            continue
        finder.skip_to(start)
        finder.run(until=stop if stop is not None and stop <= finder.end else None)
        if stop is None or stop > finder.end:
            return True
    return False


#: Ids that are not plain integers (strings, decimals like 320.25975, exponents, leading zeros or signs):
#: these are normalized in Python. Plain integers only match when wanted, inside the regex engine.
_ODD_ID = rb'"[^"\\]*(?:\\.[^"\\]*)*"|[-0][^\s,}\]]+|[0-9]*[^0-9\s,}\]][^\s,}\]]*'
_ID_AT = re.compile(rb'"provider_group_id"\s*:\s*("[^"\\]*(?:\\.[^"\\]*)*"|[^\s,}\]]+)')


def _id_search(wanted: set[str]) -> re.Pattern[bytes]:
    """``"provider_group_id": <id>`` for wanted plain-integer ids (as a trie) or any id that needs
    normalizing in Python."""
    integers = [key.encode() for key in wanted if key.isdigit() and (key == "0" or key[0] != "0")]
    wanted_branch = _trie(integers) + rb"(?=[\s,}\]])|" if integers else b""
    return re.compile(PROVIDER_GROUP_ID + rb"\s*:\s*(" + wanted_branch + _ODD_ID + rb")")


def _trie(words: list[bytes]) -> bytes:
    """A regex matching exactly ``words``, factored by common prefix so a match costs O(length)."""
    root: dict[int, Any] = {}
    for word in words:
        node = root
        for byte in word:
            node = node.setdefault(byte, {})
        node[-1] = {}  # end of a word

    def emit(node: dict[int, Any]) -> bytes:
        branches = [re.escape(bytes([b])) + emit(child) for b, child in sorted(node.items()) if b >= 0]
        if not branches:
            return b""
        group = b"(?:" + b"|".join(branches) + b")"
        return group + b"?" if -1 in node else group

    return emit(root)


def _raw_id_key(raw: bytes | bytearray) -> str | None:
    """The id as written (orjson turns 320.25975 into a float); the object's own key, not a nested one."""
    match = _ID_AT.search(raw)
    return id_token(match.group(1))[1] if match else None


def _reference(obj: dict[str, Any]) -> Reference:
    names = obj.get("network_name")
    network = tuple(str(n) for n in names) if isinstance(names, list) else ((str(names),) if names else ())
    groups = obj.get("provider_groups")
    location = obj.get("location")
    return Reference(
        groups if isinstance(groups, list) else None, location if isinstance(location, str) else None, network
    )
