"""From a parsed in_network item to rate rows: one per negotiated price and provider group (TIN + NPIs).

Items are kept as compact records while the file streams; rows are made at the end, once the provider
references the items used have been resolved (the references may come after ``in_network``).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from .. import is_level2
from .groups import GroupTable, Provider
from .groups import provider as _provider
from .groups import text as _text
from .model import RateRow
from .refs import Reference, id_token
from .scan import STRING_TOKEN

__all__ = ["ItemCollector", "KeptItem", "normalize_code"]

#: billing_code_type values under which a HCPCS Level II code is matched (payers mislabel HCPCS as CPT).
MATCHED_TYPES = frozenset({"HCPCS", "CPT"})
_REFERENCE_LISTS = re.compile(rb'"provider_references"\s*:\s*\[([^\]]*)\]')
_ID_TOKENS = re.compile(STRING_TOKEN + rb"|[^\s,]+")


def _token_text(token: bytes) -> str:
    """The text of a JSON string or scalar token; orjson only when it holds escapes."""
    if token.startswith(b'"') and b"\\" in token:
        try:
            return str(orjson.loads(token))
        except orjson.JSONDecodeError:
            pass  # a broken escape: the raw text (if its item is wanted, parsing it reports the error)
    if token.startswith(b'"'):
        return token[1:-1].decode("utf-8", "replace")
    return token.decode("utf-8", "replace")


def normalize_code(value: object) -> str:
    return str(value).strip().upper() if value is not None else ""


@dataclass(frozen=True, slots=True)
class Price:
    negotiated_type: str
    negotiated_rate: float
    expiration_date: str | None
    billing_class: str | None
    setting: str | None
    service_codes: tuple[str, ...]
    modifiers: tuple[str, ...]
    additional_information: str | None


@dataclass(frozen=True, slots=True)
class KeptRate:
    prices: tuple[Price, ...]
    groups: tuple[Provider, ...] | None  # inline provider_groups (v1)
    references: tuple[tuple[str, str], ...]  # (id as written, match key)


@dataclass(frozen=True, slots=True)
class KeptItem:
    billing_code: str
    billing_code_type: str
    negotiation_arrangement: str | None
    rates: tuple[KeptRate, ...]


class ItemCollector:
    """Receives the objects the scanner found around wanted codes and keeps the in_network items."""

    def __init__(self, keep_code: Callable[[str], bool]) -> None:
        self.keep_code = keep_code
        self.items: list[KeptItem] = []
        self.wanted_ids: set[str] = set()
        self.prices_skipped = 0
        #: skipped prices by reason (a price with a null rate must not vanish without a count)
        self.skipped_by: Counter[str] = Counter()
        self._verdicts: dict[bytes, bool] = {}

    @property
    def kept(self) -> int:
        return len(self.items)

    def close(self, flush: bool = True) -> None:
        """Release what the collector holds open, writing what it holds unless ``flush`` is False (the read
        failed). Nothing here; see ColumnCollector."""

    #: hands wanted objects' bytes to a helper process (see :mod:`.split`); None: all are parsed here
    divert: Callable[[bytearray, int, int], int | None] | None = None

    def sync(self) -> None:
        """Make ``wanted_ids`` complete for the items seen so far (a helper's too)."""

    def join(self) -> None:
        """At the end of the items: take in what a helper kept (raises :class:`.split.SplitFailed`)."""

    def helper_failed(self) -> bool:
        """After an error here: True if a helper failed first (the file is then read again alone)."""
        return False

    @property
    def code_rule(self) -> tuple[set[str] | frozenset[str] | None] | None:
        """``keep_code`` as data, for the scanner's C accelerator to apply :meth:`want`'s rule itself:
        ``(codes,)`` for a set's membership, ``(None,)`` for any Level II code, None for another callable."""
        keep = self.keep_code
        codes = getattr(keep, "__self__", None)
        if isinstance(codes, (set, frozenset)) and getattr(keep, "__name__", "") == "__contains__":
            return (codes,)
        return (None,) if keep is is_level2 else None

    def want(self, token: bytes) -> bool:
        """Cheap pre-filter on the raw ``billing_code`` token; cached, as codes repeat across items."""
        verdict = self._verdicts.get(token)
        if verdict is None:
            # bounded: memory must not grow with the file; wide enough for every code a file names (a
            # smaller bound made a file of 136 K distinct codes re-read a token at most hits)
            if len(self._verdicts) > 200_000:
                self._verdicts.clear()
            verdict = self._verdicts[token] = bool(self.keep_code(_token_text(token).strip().upper()))
        return verdict

    def on_object(self, obj: dict[str, Any], start: int, raw: bytes | bytearray) -> None:
        """An object holding a wanted code: an in_network item, or a bundled/covered code (ignored)."""
        rates = obj.get("negotiated_rates")
        if not isinstance(rates, list):
            return
        if normalize_code(obj.get("billing_code_type")) not in MATCHED_TYPES:
            return
        code = normalize_code(obj.get("billing_code"))
        if not self.keep_code(code):
            return
        references = _reference_ids(rates, raw)
        kept = tuple(self._rate(rate, refs) for rate, refs in zip(rates, references, strict=True))
        arrangement = obj.get("negotiation_arrangement")
        self.items.append(KeptItem(code, str(obj.get("billing_code_type")), _text(arrangement), kept))

    def _rate(self, rate: Any, refs: tuple[tuple[str, str], ...]) -> KeptRate:
        if not isinstance(rate, dict):
            return KeptRate((), None, ())
        prices = []
        for raw_price in rate.get("negotiated_prices") or ():
            price = _price(raw_price)
            if price is None:
                self.prices_skipped += 1
                self.skipped_by[skip_reason(raw_price)] += 1
            else:
                prices.append(price)
        groups = rate.get("provider_groups")
        inline = tuple(_provider(g) for g in groups) if isinstance(groups, list) else None
        self.wanted_ids.update(key for _, key in refs)
        return KeptRate(tuple(prices), inline, refs)

    def rows(self, refs: dict[str, Reference]) -> Iterator[RateRow]:

        groups: dict[str, tuple[Provider, ...] | None] = {}  # a group is shared by many rates: convert once
        for item in self.items:
            for rate in item.rates:
                providers = list(_providers(rate, refs, groups))
                for p in rate.prices:
                    for provider_id, network, provider in providers:
                        yield RateRow(
                            item.billing_code, item.billing_code_type, item.negotiation_arrangement,
                            p.negotiated_type, p.negotiated_rate, p.expiration_date, p.billing_class, p.setting,
                            p.service_codes, p.modifiers, p.additional_information, provider_id,
                            provider.tin_type if provider else None, provider.tin_value if provider else None,
                            provider.npis if provider else (), network,
                        )  # fmt: skip


def _providers(
    rate: KeptRate, refs: dict[str, Reference], groups: dict[str, tuple[Provider, ...] | None]
) -> Iterator[tuple[str | None, tuple[str, ...], Provider | None]]:
    """Inline groups, then each referenced group's entries; an unresolved id yields one empty provider."""
    for provider in rate.groups or ():
        yield None, (), provider
    for written, key in rate.references:
        ref = refs.get(key)
        if key not in groups:
            found = ref.groups if ref else None
            if isinstance(found, GroupTable):
                groups[key] = tuple(found.providers())
            else:
                groups[key] = tuple(_provider(g) for g in found) if found is not None else None
        providers = groups[key]
        network = ref.network_names if ref else ()
        if providers is None:
            yield written, network, None
        for provider in providers or ():
            yield written, network, provider


def _reference_ids(rates: list[Any], raw: bytes | bytearray) -> list[tuple[tuple[str, str], ...]]:
    """Per rate, its provider_references ids as written in the bytes (orjson turns 320.25975 into a float).

    Inside an item only negotiated rates have a ``"provider_references"`` key, so the lists found in the
    raw bytes line up, in order, with the rates that carry one.
    """
    lists = [
        tuple(id_token(t) for t in _ID_TOKENS.findall(m.group(1))) for m in _REFERENCE_LISTS.finditer(raw)
    ]
    holders = [isinstance(r, dict) and isinstance(r.get("provider_references"), list) for r in rates]
    if len(lists) != sum(holders):  # unexpected layout: fall back to the parsed values
        lists = [
            tuple(_parsed_id(v) for v in r["provider_references"])
            for r, h in zip(rates, holders, strict=True)
            if h
        ]
    found = iter(lists)
    return [next(found) if holder else () for holder in holders]


def _parsed_id(value: Any) -> tuple[str, str]:
    return id_token(orjson.dumps(value))


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    return tuple(sorted(str(v) for v in items if v is not None))


def _price(raw: Any) -> Price | None:
    """A negotiated price, or None when it has no usable type or numeric rate."""
    if not isinstance(raw, dict):
        return None
    ntype = raw.get("negotiated_type")
    rate = _number(raw.get("negotiated_rate"))
    if rate is None or not isinstance(ntype, str):
        return None
    return Price(
        ntype, rate, _text(raw.get("expiration_date")), _text(raw.get("billing_class")),
        _text(raw.get("setting")), _strings(raw.get("service_code")), _strings(raw.get("billing_code_modifier")),
        _text(raw.get("additional_information")),
    )  # fmt: skip


def skip_reason(raw: Any) -> str:
    """Why a negotiated price was not kept, in the words the ingest report uses."""
    if not isinstance(raw, dict):
        return "not an object"
    if _number(raw.get("negotiated_rate")) is None:
        return "no numeric negotiated_rate"
    return "no negotiated_type"


def _number(value: Any) -> float | None:
    """A finite float from a JSON number or numeric string (some payers quote their rates)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None
