"""Kept prices as columns, staged to Parquet while the file streams: the ingest path at inflate speed.

:class:`.rows.ItemCollector` builds one Python object per row; at 36% Level II items (a real TPA file)
that cost ~50 µs per price and memory grew with the rows kept. Here a kept item is decoded by msgspec
into typed structs that declare only the fields the ingest uses (descriptions, bundled codes and the
like are skipped in C; the code lists stay their raw JSON text), and Python touches each *rate*, not each
price: it adds the item's code and the rate's *provider set*: the tuple of references it uses (or its
inline groups), resolved once at the end, when every reference is known (they may come after
``in_network``). Every 16 K prices the columns are taken from the structs by C functions (``map``) and
a Parquet row group is written to the staging directory, so memory stays flat. The store makes the rows
(price x provider) with one join (``store/tic.py``), sorting and filtering the code lists there.

The typed decoder never guesses: an item with a value of another type than declared (a quoted rate, a
numeric code, an object where a list is due) or bytes it cannot take as one object takes the dict path
(orjson, then the exact rules of :func:`.rows._price` for each price).
"""

from __future__ import annotations

import json
from array import array
from collections.abc import Callable, Iterable
from itertools import accumulate, chain, compress, repeat
from operator import attrgetter, is_, itemgetter
from typing import Any, cast

import msgspec
import orjson
from msgspec.structs import astuple

from ... import accel
from .groups import GroupTable, Provider
from .groups import provider as _provider
from .groups import text as _text
from .model import PART_IDS, StagedRates
from .refs import Reference, id_key, id_token
from .rows import (
    _ID_TOKENS,
    _REFERENCE_LISTS,
    MATCHED_TYPES,
    ItemCollector,
    _number,
    _parsed_id,
    _price,
    _strings,
    normalize_code,
)
from .scan import hinted_end
from .split import Export, Helper, SplitFailed

__all__ = ["BATCH", "ColumnCollector", "StagedRates", "system_memory_pool"]

BATCH = 1 << 14
PRICE_FIELDS = (
    ("negotiated_type", "string"), ("negotiated_rate", "float64"), ("expiration_date", "string"),
    ("billing_class", "string"), ("setting", "string"), ("additional_information", "string"),
)  # fmt: skip
_INT = frozenset({int})
#: with the accelerator, a batch is also written out once its strings pass this size: memory stays flat
#: whatever the prices' strings (Arrow's int32 offsets would stop a string field at 2 GB)
_STRING_BYTES = 1 << 26
LIST_FIELDS = ("service_code", "billing_code_modifier")
_ProviderSet = tuple[bytes | None, tuple[tuple[str, str], ...]]
_NULL = msgspec.Raw(b"null")
_LIST_TEXTS = attrgetter(*LIST_FIELDS)
_PRICES = itemgetter(1)
#: the C accelerator (``_flatten.c``): a kept item's bytes straight to the columns; None: msgspec alone
_FLATTEN = accel.load("hcpcs_atlas.sources.tic._flatten")


class _Price(msgspec.Struct, gc=False):
    """A negotiated price as the typed decoder reads it: the fields pyarrow takes as they are, and the two
    code lists as their raw JSON text (interned by that text: no Python string per code is made).
    ``gc=False``: decoded structs make no cycles, and untracked ones are smaller and faster to make."""

    negotiated_type: str | None = None
    negotiated_rate: float | None = None
    expiration_date: str | None = None
    billing_class: str | None = None
    setting: str | None = None
    additional_information: str | None = None
    service_code: msgspec.Raw = _NULL
    billing_code_modifier: msgspec.Raw = _NULL  # the fields in the order of PRICE_FIELDS, LIST_FIELDS


class _Rate(msgspec.Struct, gc=False):
    negotiated_prices: list[_Price] | None = None
    provider_references: msgspec.Raw = _NULL
    provider_groups: msgspec.Raw = _NULL


class _Item(msgspec.Struct, gc=False):
    """Only the fields the ingest uses; msgspec skips the others (descriptions, bundled codes) in C. A
    value of another type than declared (a quoted rate, a numeric code) fails the decode: the item then
    takes the dict path (orjson and the exact rules), so the typed path never guesses."""

    billing_code: str | None = None
    billing_code_type: str | None = None
    negotiation_arrangement: str | None = None
    negotiated_rates: list[_Rate] | None = None


_DECODE = msgspec.json.Decoder(_Item).decode
assert _Price.__struct_fields__ == (*(name for name, _ in PRICE_FIELDS), *LIST_FIELDS)  # the flush's order


#: what sends a typed item to the dict path, which then names the byte: JSON the decoder skipped (1e400),
#: or values nested deeper than orjson writes (254 levels) or Python recurses (about 1000)
_REREAD = (orjson.JSONDecodeError, orjson.JSONEncodeError, RecursionError)


def _dumps(value: Any) -> bytes:
    """JSON text of a parsed value; the stdlib writes what orjson refuses (more than 254 levels), as the
    typed path, which keys by the raw text, takes it."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return json.dumps(value).encode()


def _from_dict(raw: Any) -> _Price:
    """A price of the dict path through the exact rules (:func:`.rows._price`); one it leaves out keeps
    its numeric rate, if any, so the flush counts it under the reason :func:`.rows.skip_reason` gives."""
    price = _price(raw)
    if price is None:
        return _Price(negotiated_rate=_number(raw.get("negotiated_rate")) if isinstance(raw, dict) else None)
    return _Price(price.negotiated_type, price.negotiated_rate, price.expiration_date, price.billing_class,
                  price.setting, price.additional_information, msgspec.Raw(orjson.dumps(price.service_codes)),
                  msgspec.Raw(orjson.dumps(price.modifiers)))  # fmt: skip


def _pset_texts(rate: Any) -> tuple[bytes, bytes]:
    """A typed rate's provider groups and references as JSON text (groups mostly absent: the default)."""
    groups = rate.provider_groups
    return (b"null" if groups is _NULL else bytes(groups), bytes(rate.provider_references))


def _codes(text: bytes) -> tuple[str, ...]:
    """A code list's JSON text as the exact rules read it (sorted strings, nulls left out)."""
    return _strings(orjson.loads(text))


def _reference_list(text: bytes) -> tuple[tuple[str, str], ...]:
    """A rate's ``provider_references`` from its JSON text: each id as written (a float id such as
    690.64462 keeps its digits); anything but a list holds none."""
    value = orjson.loads(text)
    if not isinstance(value, list):
        return ()
    tokens = _ID_TOKENS.findall(text.strip()[1:-1])
    if len(tokens) != len(value) or any(isinstance(v, (list, dict)) for v in value):
        return tuple(_parsed_id(v) for v in value)
    return tuple(id_token(t) for t in tokens)


def system_memory_pool() -> None:
    """Arrow's buffers go back to the C allocator when freed, for DuckDB's insert to reuse. pyarrow's
    default mimalloc pool kept them: 366 MB peak against 280 MB for a 1 M-group remote reference file
    (benchmarks/tic_remote_refs_memory.py), 368 against 343 MB for the 1 GB realistic file."""
    import pyarrow as pa

    pa.set_memory_pool(pa.system_memory_pool())


def _providers_schema() -> Any:
    import pyarrow as pa

    return pa.schema([("pset", pa.int32()), ("ordinal", pa.int32()), ("provider_group_id", pa.string()),
                      ("network_names", pa.list_(pa.string())), ("tin_type", pa.string()),
                      ("tin_value", pa.string()), ("npis", pa.list_(pa.int64()))])  # fmt: skip


class _ProviderWriter:
    """Rows of ``providers.parquet``: (pset, ordinal within the set, group id, networks, TIN, NPIs)."""

    ROWS = 1 << 16

    def __init__(self, writer: Any) -> None:
        self.writer = writer
        self.count = 0  # rows written or pending
        self.empty = 0  # of those, rows of an unresolved reference (no provider)
        self._ordinal: dict[int, int] = {}
        self._rows: list[list[Any]] = [[] for _ in range(7)]

    def _next(self, pset: int, size: int = 1) -> int:
        ordinal = self._ordinal.get(pset, 0)
        self._ordinal[pset] = ordinal + size
        self.count += size
        return ordinal

    def add(
        self, pset: int, group_id: str | None, network: tuple[str, ...], provider: Provider | None
    ) -> None:
        values = (pset, self._next(pset), group_id, list(network), provider.tin_type if provider else None,
                  provider.tin_value if provider else None, list(provider.npis) if provider else [])  # fmt: skip
        for column, value in zip(self._rows, values, strict=True):
            column.append(value)
        self.empty += provider is None
        if len(self._rows[0]) >= self.ROWS:
            self._flush()

    def table(self, pset: int, group_id: str, network: tuple[str, ...], groups: GroupTable) -> None:
        """A fetched reference's groups, chunk by chunk (the NPIs stay in Arrow)."""
        import pyarrow as pa

        self._flush()
        for chunk in groups.chunks():
            size = chunk.num_rows
            first = self._next(pset, size)
            columns = [
                pa.array([pset] * size, pa.int32()),
                pa.array(range(first, first + size), pa.int32()),
                pa.array([group_id] * size, pa.string()),
                pa.array([list(network)] * size, pa.list_(pa.string())),
                *chunk.columns,
            ]
            self.writer.write_batch(pa.record_batch(columns, schema=self.writer.schema))

    def _flush(self) -> None:
        if not self._rows[0]:
            return
        import pyarrow as pa

        schema = self.writer.schema
        arrays = [pa.array(v, type=f.type) for v, f in zip(self._rows, schema, strict=True)]
        self.writer.write_batch(pa.record_batch(arrays, schema=schema))
        for column in self._rows:
            column.clear()

    def close(self) -> None:
        try:
            self._flush()
        finally:
            self.writer.close()


_COUNTING: list[Any] = []  # 0, 1, 2, ... as an int64 Arrow array, grown when a batch needs more


def _counting(count: int) -> Any:
    """0 .. count-1 as an int64 array: a price's place in its batch. Made once (pa.array over a range
    converts each Python int: 0.12 s for the 1 GB realistic file's 800 K prices) and sliced."""
    import pyarrow as pa

    if not _COUNTING or len(_COUNTING[0]) < count:
        size = max(count, BATCH)
        _COUNTING[:] = [
            pa.Array.from_buffers(pa.int64(), size, [None, pa.py_buffer(array("q", range(size)))])
        ]
    return _COUNTING[0].slice(0, count)


def _arrays(count: int, columns: list[tuple[bytes, bytes | None, bytes]], lists: list[bytes]) -> Any:
    """The accelerator's batch (``_flatten.Batch.take``) as Arrow arrays over its buffers (no copy)."""
    import pyarrow as pa

    scalars = [
        pa.Array.from_buffers(
            getattr(pa, kind)(), count, [pa.py_buffer(bits), *([] if offsets is None else [pa.py_buffer(offsets)]),
                                         pa.py_buffer(data)]
        )
        for (bits, offsets, data), (_, kind) in zip(columns, PRICE_FIELDS, strict=True)
    ]  # fmt: skip
    return scalars, [pa.Array.from_buffers(pa.int32(), count, [None, pa.py_buffer(ids)]) for ids in lists]


class ColumnCollector(ItemCollector):
    """Same filter as :class:`ItemCollector` (it inherits ``want``); keeps prices as staged columns."""

    def __init__(
        self,
        keep_code: Callable[[str], bool],
        staged: StagedRates,
        part: int = 0,
        helper: Helper | None = None,
    ) -> None:
        """``part`` > 0: a helper process's collector, writing its own prices file, its provider sets and
        code lists numbered from ``part * PART_IDS`` so that the main collector can take them in as they are."""
        super().__init__(keep_code)
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.staged = staged
        self.part = part
        self._base = part * PART_IDS
        self.helper = helper
        self.divert = self.take
        # two processes, two batches in memory at once: each half as large (memory as with one)
        self._batch_size = BATCH if part == 0 and helper is None else BATCH >> 1
        self._absorbed: list[Export] = []
        item = [
            (name, pa.string()) for name in ("billing_code", "billing_code_type", "negotiation_arrangement")
        ]
        prices = [(name, getattr(pa, kind)()) for name, kind in PRICE_FIELDS]
        lists = [(name, pa.int32()) for name in LIST_FIELDS]
        self._schema = pa.schema([("seq", pa.int64()), *item, *prices, *lists, ("pset", pa.int32())])
        self._lists: dict[tuple[str, ...], int] = {(): self._base}
        self._raw_lists: dict[bytes, int] = {}
        #: per price of the batch, the ids of its interned lists, interleaved in the order of LIST_FIELDS
        self._price_lists: list[int] = []
        # Dictionary pages for the repeated strings only, no statistics (nothing filters on them): writing
        # the 1 GB realistic file's 960 K prices took 0.23 CPU-s instead of 0.49 (benchmarks/tic_throughput.py)
        strings = [f.name for f in self._schema if f.type == pa.string()]
        self._writer = pq.ParquetWriter(staged.prices_part(part), self._schema, compression="none",
                                        use_dictionary=strings, write_statistics=False)  # fmt: skip
        self._prices: list[_Price] = []
        #: with the C accelerator, the batch's prices as Arrow buffers (``_flatten.Batch``: validity bits,
        #: offsets and bytes per field, the code list ids) instead of ``_prices`` and ``_price_lists``: no
        #: Python object per price or value
        self._batch = _FLATTEN.Batch() if _FLATTEN is not None else None
        self._raw_refs: dict[bytes, tuple[tuple[str, str], ...]] = {}
        #: (groups, references) as JSON text -> provider set: one lookup per rate (as many keys as sets)
        self._pset_texts: dict[tuple[bytes, bytes], int] = {}
        # per kept item of the batch: (code, type, arrangement); per rate: its item, provider set, prices
        self._item_rows: list[tuple[str, str, str | None]] = []
        self._rates: tuple[list[int], list[int], list[int]] = ([], [], [])
        self._seq = part << 40
        self._kept = 0
        self._psets: dict[_ProviderSet, int] = {}
        self._inline: list[tuple[Any, ...] | None] = []
        self._pset_prices: list[int] = []
        self._ref_lists: dict[bytes, tuple[tuple[str, str], ...]] = {}
        self._int_refs: dict[tuple[int, ...], tuple[tuple[str, str], ...]] = {}
        rule = self.code_rule
        #: what _flatten.keep appends to and looks up in (the order of its S_* indices): the same objects
        #: for the collector's life (the batch's lists are cleared in place)
        self._state = (
            self._batch, self._raw_lists, self._pset_texts, *self._rates, self._pset_prices, self._item_rows,
            self._base, MATCHED_TYPES, self.keep_code if rule is None else rule[0],
        )  # fmt: skip

    @property
    def kept(self) -> int:
        return self._kept + sum(e.kept for e in self._absorbed)

    def sync(self) -> None:
        if self.helper is not None:
            self.wanted_ids.update(self.helper.sync())

    def join(self) -> None:
        if self.helper is not None:
            helper, self.helper = self.helper, None
            self._absorb(helper.join())

    def helper_failed(self) -> bool:
        if self.helper is None:
            return False
        helper, self.helper = self.helper, None
        try:
            self._absorb(helper.join())
        except SplitFailed:
            return True
        return False

    def export(self) -> Export:
        """What a helper's collector hands back once its prices file is closed."""
        return Export(self._base, self._psets, self._inline, self._pset_prices, self._lists, self.wanted_ids,
                      self._kept, self.prices_skipped, dict(self.skipped_by))  # fmt: skip

    def _absorb(self, export: Export | None) -> None:
        if export is None:
            return
        self._absorbed.append(export)
        self.wanted_ids.update(export.wanted_ids)
        self.prices_skipped += export.prices_skipped
        self.skipped_by.update(export.skipped_by)

    def take(self, buf: bytearray, start: int, hint: int) -> int | None:
        """The scanner's hook for a wanted object whose end the hint tells (see :mod:`.scan`): handed to
        the helper process if it has room, else decoded here by the typed decoder. None leaves the object
        to the dict path: bytes that are not exactly one object, not valid UTF-8, or a value of another
        type than :class:`_Item` declares."""
        if self.helper is not None:
            end = self.helper.divert(buf, start, hint)
            if end is not None:
                return end
        end = hinted_end(buf, start, hint)
        if self._batch is not None:  # the accelerator reads the item in place (no copy of its bytes)
            with memoryview(buf) as whole, whole[start:end] as view:
                flat = self._flattened(view)
            if flat is not None:
                return end if flat else None
        return end if self._typed(bytes(memoryview(buf)[start:end])) else None

    def decoded(self, data: bytes) -> bool:
        """Keep the item ``data`` holds, by the typed decoder; False if the dict path must take it."""
        if self._batch is not None:
            flat = self._flattened(data)
            if flat is not None:
                return flat
        return self._typed(data)

    def _typed(self, data: bytes) -> bool:
        """:meth:`decoded` by msgspec's typed decoder (without the accelerator, or an item it leaves)."""
        if not data.isascii():
            try:  # msgspec checks the UTF-8 of the strings it decodes, not of those it skips
                data.decode("utf-8")
            except UnicodeDecodeError:
                return False
        try:
            item = _DECODE(data)
        except (msgspec.DecodeError, RecursionError):  # too deep for msgspec: orjson's limit names the byte
            return False
        rates = item.negotiated_rates
        if rates is None or normalize_code(item.billing_code_type) not in MATCHED_TYPES:
            return True
        code = normalize_code(item.billing_code)
        if not self.keep_code(code):
            return True
        priced = [(rate, prices) for rate in rates if (prices := rate.negotiated_prices)]
        kept = list(chain.from_iterable(map(_PRICES, priced)))
        try:  # before anything is kept: JSON the decoder skipped is then reported by the dict path
            rate_psets = [self._pset_of(_pset_texts(rate)) for rate, _ in priced]
            list_ids = self._list_ids(kept)
        except _REREAD:
            return False
        self._append(kept, list_ids)
        self._keep_item(
            (code, str(item.billing_code_type), item.negotiation_arrangement),
            zip(rate_psets, (len(prices) for _, prices in priced), strict=True),
        )
        if self._full():
            self._flush()
        return True

    def _flattened(self, data: bytes | memoryview) -> bool | None:
        """:meth:`decoded` by the C accelerator; None when it leaves the item to msgspec (anything but
        the plain shape it reads). C does all of a kept item's bookkeeping (the rule of :meth:`decoded`,
        provider sets by their text, the batch's lists, ``_kept``), calling back :meth:`_pset_of` and
        :meth:`_intern_list` only for a set or code list not seen before; an item not kept, or an
        exception (1e400 in a code list, a Ctrl-C in a call back), leaves the batch as it was."""
        assert _FLATTEN is not None and self._batch is not None
        self._bound_lists()
        try:
            kept = _FLATTEN.keep(data, self._state, self)
        except _REREAD:
            return False  # the dict path names the byte
        if kept is None:  # not the plain shape: msgspec reads the item
            return None
        if kept and self._full():
            self._flush()
        return True

    def _keep_item(self, row: tuple[str, str, str | None], rates: Iterable[tuple[int, int]]) -> None:
        """Count a kept item (``row``: code, type, arrangement) and its rates: (provider set, prices)."""
        self._kept += 1
        self._item_rows.append(row)
        index = len(self._item_rows) - 1
        items, psets, counts = self._rates
        for pset, count in rates:
            items.append(index)
            psets.append(pset)
            counts.append(count)
            self._pset_prices[pset - self._base] += count

    def _intern_list(self, text: bytes) -> int:
        """The id of a code list by its JSON text, parsed and interned when first met (by C's call back
        and by :meth:`_list_ids`)."""
        known = self._raw_lists
        if text not in known:
            known[text] = self._lists.setdefault(_codes(text), self._base + len(self._lists))
        return known[text]

    def _bound_lists(self) -> None:
        """The cache of code lists by their text stays bounded: memory flat whatever the file."""
        if len(self._raw_lists) > 100_000:
            self._raw_lists.clear()

    def _full(self) -> bool:
        """Time to write the batch out: BATCH prices, or (with the accelerator) _STRING_BYTES of strings."""
        if self._pending() >= self._batch_size:
            return True
        return self._batch is not None and self._batch.nbytes() > _STRING_BYTES

    def _pending(self) -> int:
        """Prices in the batch."""
        return len(self._prices) if self._batch is None else len(self._batch)

    def _append(self, prices: list[_Price], list_ids: list[int]) -> None:
        """Prices the typed decoder or the dict path made, and their code lists' ids, to the batch."""
        if self._batch is None:
            self._prices += prices
            self._price_lists += list_ids
        elif prices:
            self._batch.extend(list(map(astuple, prices)), list_ids)

    def _pset_of(self, texts: tuple[bytes, bytes]) -> int:
        pset = self._pset_texts.get(texts)
        if pset is None:
            pset = self._pset_texts[texts] = self._text_pset(*texts)
        return pset

    def _text_pset(self, groups: bytes, listed: bytes) -> int:
        """The provider set of a rate's groups and references as JSON text (the typed path)."""
        refs = self._raw_refs.get(listed)
        if refs is None:
            refs = _reference_list(listed)
            if len(self._raw_refs) < 100_000:  # bounded: memory stays flat
                self._raw_refs[listed] = refs
        found = self._psets.get((groups, refs))
        return self._new_pset((groups, refs), orjson.loads(groups)) if found is None else found

    def on_object(self, obj: dict[str, Any], start: int, raw: bytes | bytearray) -> None:
        rates = obj.get("negotiated_rates")
        if not isinstance(rates, list) or normalize_code(obj.get("billing_code_type")) not in MATCHED_TYPES:
            return
        code = normalize_code(obj.get("billing_code"))
        if not self.keep_code(code):
            return
        added = [
            self._add_rate(rate, refs)
            for rate, refs in zip(rates, self._reference_ids(rates, raw), strict=True)
            if isinstance(rate, dict)
        ]
        self._keep_item(
            (code, str(obj.get("billing_code_type")), _text(obj.get("negotiation_arrangement"))),
            [rate for rate in added if rate is not None],
        )
        if self._full():
            self._flush()

    def _add_rate(self, rate: dict[str, Any], refs: tuple[tuple[str, str], ...]) -> tuple[int, int] | None:
        """A rate's prices to the batch; its (provider set, price count), None when it has no price."""
        prices = rate.get("negotiated_prices")
        if not isinstance(prices, list) or not prices:
            return None
        pset = self._pset(rate.get("provider_groups"), refs)
        converted = list(map(_from_dict, prices))
        self._append(converted, self._list_ids(converted))
        return pset, len(prices)

    def _reference_ids(self, rates: list[Any], raw: bytes | bytearray) -> list[tuple[tuple[str, str], ...]]:
        """Per rate, its provider_references ids (as :func:`.rows._reference_ids`). Lists of plain
        integers are read from the parsed values (an int's text is the token, but for ``-0``); any other
        id sends the item to its bytes, where a float id stays as written."""
        cache = self._int_refs
        out: list[tuple[tuple[str, str], ...]] = []
        for rate in rates:
            listed = rate.get("provider_references") if isinstance(rate, dict) else None
            if not isinstance(listed, list):
                out.append(())
                continue
            if not _INT.issuperset(map(type, listed)) or 0 in listed:
                return self._raw_reference_ids(rates, raw)
            key = tuple(listed)
            ids = cache.get(key)
            if ids is None:
                ids = tuple((str(v), id_key(str(v))) for v in key)
                if len(cache) < 100_000:  # bounded: memory stays flat
                    cache[key] = ids
            out.append(ids)
        return out

    def _raw_reference_ids(
        self, rates: list[Any], raw: bytes | bytearray
    ) -> list[tuple[tuple[str, str], ...]]:
        """The ids as written in the item's bytes, each distinct list parsed once (they repeat)."""
        cache = self._ref_lists
        lists = []
        for match in _REFERENCE_LISTS.finditer(raw):
            token = match.group(1)
            ids = cache.get(token)
            if ids is None:
                ids = tuple(id_token(t) for t in _ID_TOKENS.findall(token))
                if len(cache) < 100_000:  # bounded: memory stays flat
                    cache[bytes(token)] = ids
            lists.append(ids)
        holders = [isinstance(r, dict) and isinstance(r.get("provider_references"), list) for r in rates]
        if len(lists) != sum(holders):  # unexpected layout: the parsed values
            lists = [
                tuple(_parsed_id(v) for v in r["provider_references"])
                for r, h in zip(rates, holders, strict=True)
                if h
            ]
        found = iter(lists)
        return [next(found) if holder else () for holder in holders]

    def _pset(self, groups: Any, refs: tuple[tuple[str, str], ...]) -> int:
        key = (_dumps(groups) if isinstance(groups, list) else None, refs)
        found = self._psets.get(key)
        return self._new_pset(key, groups) if found is None else found

    def _new_pset(self, key: _ProviderSet, groups: Any) -> int:
        """A provider set first met (keyed by its groups' JSON text: the typed path's raw text and the
        dict path's orjson text may key the same set twice, which only splits its rows in two sets)."""
        found = self._psets[key] = self._base + len(self._psets)
        self.wanted_ids.update(ref for _, ref in key[1])
        self._inline.append(tuple(_provider(g) for g in groups) if isinstance(groups, list) else None)
        self._pset_prices.append(0)
        return found

    def _flush(self) -> None:
        count = self._pending()
        if not count:
            return
        import pyarrow as pa
        import pyarrow.compute as pc

        if self._batch is None:
            scalars = self._columns(self._prices)
            lists = [
                pa.array(self._price_lists[n :: len(LIST_FIELDS)], pa.int32())
                for n in range(len(LIST_FIELDS))
            ]
        else:
            scalars, lists = _arrays(*self._batch.take())
        seq = pc.add(_counting(count), self._seq)
        # each price's rate, from the rates' price counts (no per-price Python work)
        rate_items, rate_psets, counts = self._rates
        offsets = pa.array([0, *accumulate(counts)], pa.int32())
        rate_of = pc.list_parent_indices(pa.ListArray.from_arrays(offsets, pa.nulls(count)))
        item_of = pa.array(rate_items, pa.int32()).take(rate_of)
        items = [pa.array(column, pa.string()).take(item_of) for column in zip(*self._item_rows, strict=True)]
        pset = pa.array(rate_psets, pa.int32()).take(rate_of)
        batch = pa.RecordBatch.from_arrays([seq, *items, *scalars, *lists, pset], schema=self._schema)
        valid = pc.and_(pc.is_valid(batch["negotiated_type"]), pc.is_valid(batch["negotiated_rate"]))
        kept = batch if valid.true_count == count else batch.filter(valid)  # a copy only when needed
        self._skipped(batch, kept)
        self._writer.write_batch(kept)
        self._seq += count
        self._prices.clear()
        self._item_rows.clear()
        self._price_lists.clear()
        for column in self._rates:
            column.clear()

    def _columns(self, prices: list[_Price]) -> list[Any]:
        """The scalar fields as arrays (typed already: pyarrow converts them in C)."""
        import pyarrow as pa

        # one C call per price gives all its fields; zip turns the rows into columns (8 attribute getters,
        # a pass each over the batch's structs, took twice as long)
        *values, _, _ = zip(*map(astuple, prices), strict=True)
        return [
            pa.array(column, getattr(pa, kind)())
            for column, (_, kind) in zip(values, PRICE_FIELDS, strict=True)
        ]

    def _list_ids(self, prices: list[_Price]) -> list[int]:
        """Per price, the ids of its interned sorted code lists (interleaved, in the order of LIST_FIELDS),
        taken when the item is: a list's text msgspec only skipped (a number out of a double's range,
        1e400) raises here, before anything is kept, and the dict path then names its byte.

        A list is looked up by its JSON text (msgspec's raw span of the input: one string to hash and
        compare, no Python string per code) through ``map`` over C functions (no Python code per price);
        only lists not seen before are parsed, sorted and interned."""
        self._bound_lists()
        known = self._raw_lists
        texts = list(map(bytes, chain.from_iterable(map(_LIST_TEXTS, prices))))
        ids = list(map(known.get, texts))
        if None in ids:  # the misses (rare once warm) are interned, then all looked up again
            for text in compress(texts, map(is_, ids, repeat(None))):
                self._intern_list(text)  # a list new to this item may come again in it
            ids = list(map(known.__getitem__, texts))
        return cast("list[int]", ids)  # no miss left

    def _skipped(self, batch: Any, kept: Any) -> None:
        """Prices without a type or rate are left out; the rows they would have made are not counted."""
        if kept.num_rows == batch.num_rows:
            return
        import pyarrow.compute as pc

        self.prices_skipped += batch.num_rows - kept.num_rows
        no_rate = batch.num_rows - int(pc.sum(pc.is_valid(batch["negotiated_rate"])).as_py() or 0)
        self.skipped_by["no numeric negotiated_rate"] += no_rate
        self.skipped_by["no negotiated_type"] += batch.num_rows - kept.num_rows - no_rate
        dropped = batch.filter(pc.invert(pc.is_in(batch["seq"], value_set=kept["seq"])))
        for pset in dropped["pset"].to_pylist():
            self._pset_prices[pset - self._base] -= 1

    def close(self, flush: bool = True) -> None:
        """Flush (unless the read failed: the directory is then discarded whole, and a batch cut short
        by the failure must not raise over it) and close the prices file."""
        try:
            if self.helper is not None:
                self.helper.stop()
        finally:
            try:
                if flush:
                    self._flush()
            finally:
                self._writer.close()
                # the bound method held by the instance is a cycle, and the cyclic GC is off while the
                # next file is read: this collector's caches would live on through it
                self.divert = None

    def _check_written(self, pq: Any) -> None:
        """The prices files hold every price counted (this process's and the helper's), or nothing of
        the file is stored: with a helper the file is read again alone (a helper's file removed while it
        wrote it lost a third of a file's rows once); without one it is a bug, and the file fails."""
        counted = sum(self._pset_prices) + sum(sum(e.pset_prices) for e in self._absorbed)
        written = sum(pq.read_metadata(path).num_rows for path in self.staged.prices)
        if written != counted:
            lost = f"staged prices lost: {counted:,} counted, {written:,} in the prices files"
            raise SplitFailed(lost) if self._absorbed else RuntimeError(lost)

    def finish(self, refs: dict[str, Reference]) -> None:
        """Write the provider sets (now that every reference is known), in row groups as they are made:
        a fetched reference's groups (a :class:`.groups.GroupTable`) go over as Arrow slices, never as one
        Python object per NPI (a 10-million-NPI reference file took 1.1 GB that way)."""
        self.close()
        import pyarrow as pa
        import pyarrow.parquet as pq

        self._check_written(pq)

        providers = _ProviderWriter(
            pq.ParquetWriter(self.staged.providers, _providers_schema(), compression="none")
        )
        converted: dict[str, tuple[Provider, ...] | None] = {}
        own = Export(self._base, self._psets, self._inline, self._pset_prices, self._lists, set(), 0, 0, {})
        sets = [own, *self._absorbed]
        try:
            for (_, references), pset, inline, count in (
                (key, pset, e.inline[pset - e.base], e.pset_prices[pset - e.base])
                for e in sets
                for key, pset in e.psets.items()
            ):
                start, empty = providers.count, providers.empty
                for provider in inline or ():
                    providers.add(pset, None, (), provider)
                for written, key in references:
                    ref = refs.get(key)
                    network, groups = (ref.network_names, ref.groups) if ref else ((), None)
                    if isinstance(groups, GroupTable):
                        providers.table(pset, written, network, groups)
                        continue
                    if key not in converted:
                        converted[key] = tuple(map(_provider, groups)) if groups is not None else None
                    found = converted[key]
                    if found is None:
                        providers.add(pset, written, network, None)
                    for provider in found or ():
                        providers.add(pset, written, network, provider)
                self.staged.rows += (providers.count - start) * count
                if providers.empty > empty:
                    self.staged.unresolved[pset] = providers.empty - empty
                    self.staged.rows_without_provider += (providers.empty - empty) * count
        finally:
            providers.close()
        ids, codes = zip(*((i, list(v)) for e in sets for v, i in e.lists.items()), strict=True)
        lists = pa.table({"id": pa.array(ids, pa.int32()), "codes": pa.array(codes, pa.list_(pa.string()))})
        pq.write_table(lists, self.staged.lists, compression="none")
