"""The JSON layout of the CMS hospital price template (v2.0-v3.0), streamed with the TiC byte scanner.

The file is one JSON object whose ``standard_charge_information`` array holds the items; it is never
parsed whole (a 5 GB file must not be in memory). The scanner of :mod:`..tic_scan` finds every item's
``"code_information": [...]`` array with one regex (hits are dense: one per item), reads the codes in
that small array and hands only the items with a kept code to orjson. Hospital-level fields are read
from the bytes before the first item and after the last one. The whole-document checks of TiC apply:
the file starts with ``{`` and ends with a closing that follows a parseable last element; a file of up
to 4 MB is parsed whole; a gzip stream's CRC and end marker are checked by the inflater.

With the optional C accelerator (``_jsonitems.c``) the search, the codes' verdicts, each wanted item's
extent and each kept item's parts come from C wherever the input is the common case, and from the code
here wherever it is not: the same charges and the same refusals (docs/formats.md, "Hospital JSON in C").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

import orjson

from ... import accel
from ...errors import InputError
from .. import is_level2
from ..tic.doc import DocumentChecks
from ..tic.scan import FIRST_WINDOW, HEADROOM, STRING_TOKEN, ObjectFinder
from .model import HospitalCharge, HospitalFile, split_list

__all__ = ["ItemParts", "JsonScan", "item_parts"]

ITEM_KEY = b'"code_information"'
ITEM_CODES = re.compile(rb'"code_information"\s*:\s*(\[[^\]]*\])')
#: Codes a keep set can hold (HCPCS, CPT: five characters): other strings of the array (types, revenue
#: codes, NDCs, CDM numbers) are not offered to ``keep_code``.
_CANDIDATE = re.compile(rb'"\s*([A-Za-z0-9]{5})\s*"')
#: Items with a code shaped like a Level II code (``_CANDIDATE`` then upper-cases it): when nothing else
#: is kept, the regex engine skips the others (most items of a hospital file: CPT, DRG, CDM lines).
LEVEL2_ITEMS = re.compile(rb'"code_information"\s*:\s*(\[[^\]]*"\s*[A-Va-v][0-9]{4}\s*"[^\]]*\])')
#: Up to this many wanted codes go into the search regex itself: items without one are skipped by the
#: regex engine, without a Python call per item.
INLINE_CODES = 64
_FIELDS = re.compile(
    rb'"(hospital_name|last_updated_on|version|location_name|hospital_location|hospital_address|type_2_npi'
    rb'|license_information)"\s*:\s*(' + STRING_TOKEN + rb"|\[[^\[\]]*\]|\{[^{}]*\})"
)
HEAD_KEYS = (b'"standard_charge_information"', b'"modifier_information"')
ANCHORS = (b'"code_information"', b'"modifier_payer_information"')


class JsonScan:
    """One pass over a JSON hospital file: feed decompressed chunks, then :meth:`finish`."""

    def __init__(self, label: str, keep_code: Callable[[str], bool], into: HospitalFile,
                 recycle: Callable[[bytearray], None] | None = None) -> None:  # fmt: skip
        self.label, self.keep_code, self.into = label, keep_code, into
        search, mode, codes = _search(keep_code)
        fast = _accelerated(mode, codes)
        finder = ObjectFinder if fast is None else partial(_CFinder, fast, self)
        self.finder = finder(label, ITEM_KEY, self._want, self._on_item, search=search, recycle=recycle)
        self._verdicts: dict[bytes, str] = {}
        self._seam = b""
        self.checks = DocumentChecks(label, HEAD_KEYS, ANCHORS)
        self.fields: dict[str, Any] = {}
        self._kept: list[str] = []
        module = accel.load(_ACCEL)
        self._c_parts: Callable[[dict[str, Any]], ItemParts | None] | None = (
            None if module is None else module.item_parts
        )

    def feed(self, chunk: bytearray) -> None:
        self._count_items(chunk)
        finder = self.finder
        finder.append(chunk, HEADROOM)
        if finder.at_start:
            self.checks.feed(finder.buf, finder.base, finder.lo)
            self._read_fields(finder.buf[finder.lo :], head=True)
        finder.run()

    def _count_items(self, chunk: bytearray) -> None:
        """Items are counted by their key in every chunk (a key split by a chunk end counted at the seam)."""
        data = memoryview(chunk)[HEADROOM:]
        edge = len(ITEM_KEY) - 1
        self.into.rows_seen += chunk.count(ITEM_KEY, HEADROOM) + (self._seam + bytes(data[:edge])).count(
            ITEM_KEY
        )
        self._seam = bytes(data[-edge:]) if len(data) >= edge else (self._seam + bytes(data))[-edge:]

    def finish(self) -> None:
        finder = self.finder
        finder.finish()
        tail = bytes(finder.buf[finder.lo :])
        self.checks.finish(tail, finder.base + finder.lo)
        self._read_fields(tail, head=False)
        if "hospital_name" not in self.fields and not self.into.rows_seen:
            raise InputError(self.label, "no hospital_name and no standard_charge_information: "
                             "not a CMS hospital price file", byte=0)  # fmt: skip
        _set_fields(self.into, self.fields)

    def _want(self, token: bytes) -> bool:
        kept: list[str] = []
        for raw in _CANDIDATE.findall(token):
            code = self._verdicts.get(raw)
            if code is None:
                if len(self._verdicts) > 10_000:
                    self._verdicts.clear()  # bounded: memory must not grow with the file
                norm = raw.decode("ascii").upper()
                code = self._verdicts[raw] = norm if self.keep_code(norm) else ""
            if code and code not in kept:
                kept.append(code)
        self._kept = kept
        return bool(kept)

    def _on_item(self, item: dict[str, Any], start: int, _raw: bytearray) -> None:
        try:
            parts = None if self._c_parts is None else self._c_parts(item)  # None: not C's common case
            if parts is None:
                parts = item_parts(item)
            stage = getattr(self.into.sink, "stage_parts", None)
            if stage is not None:  # a sink that takes the parts: no record per charge to build and take apart
                self.into.n_charges += stage(self._kept, parts, start)
            else:
                self.into.keep(_item_charges(parts, self._kept, start))
        except (TypeError, ValueError, AttributeError, OverflowError) as exc:  # 1e999 as an integer
            raise InputError(self.label, f"an item: {exc}", byte=start) from None

    def _read_fields(self, window: bytes | bytearray, head: bool) -> None:
        if head:
            cut = [i for key in HEAD_KEYS if (i := window.find(key)) >= 0]
            window = window[: min(cut)] if cut else window
        for match in _FIELDS.finditer(window):
            name = match.group(1).decode()
            if name not in self.fields:
                try:
                    self.fields[name] = orjson.loads(match.group(2))
                except orjson.JSONDecodeError:
                    continue


_ACCEL = "hcpcs_atlas.sources.hospital._jsonitems"
#: find_items's modes: every item, items with a Level II-shaped code, items naming one of some codes
_ANY, _LEVEL2, _CODES = 0, 1, 2
_PLAIN_CODE = re.compile(rb"[A-Za-z0-9]+")


def _accelerated(mode: int, codes: tuple[bytes, ...]) -> tuple[Any, int, tuple[bytes, ...]] | None:
    """The C item search in ``mode`` (module, mode, codes), or None: not built, pure Python asked for,
    or a ``--codes`` search with a code that is not plain letters and digits (C compares those only)."""
    module = accel.load(_ACCEL)
    if module is None or (mode == _CODES and not all(_PLAIN_CODE.fullmatch(c) for c in codes)):
        return None
    return module, mode, codes


class _CFinder(ObjectFinder):
    """The item search in C (``_jsonitems.find_items``): each wanted item's start and the end of the
    slice the pure path parses first come back as positions, and only that orjson parse stays in
    Python. An item C leaves undecided (-1 / None) takes the pure path (``_want``, ``_locate``), as does
    a slice that does not parse: the results and refusals are those of :class:`ObjectFinder`."""

    def __init__(self, fast: tuple[Any, int, tuple[bytes, ...]], scan: JsonScan, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.accel, self.scan = fast, scan

    def _search_hits(self, limit: int) -> None:
        module, mode, codes = self.accel
        scan, buf, base, lo = self.scan, self.buf, self.base, self.lo
        hits, resume = module.find_items(buf, self.pos - base, limit - base, lo, mode, codes, scan._verdicts)
        view, loads, on_object = memoryview(buf), orjson.loads, self.on_object
        for index, match_end, token, start, end, kept in hits:
            self.pos, self.last_hit = base + match_end, base + index
            if base + index < self.done_until:
                continue
            if kept is None:
                if not scan._want(bytes(buf[token:match_end])):
                    continue
            else:
                scan._kept = kept
            if end >= 0:
                try:
                    item = loads(view[start:end])
                except orjson.JSONDecodeError:
                    item = None
                if type(item) is dict:
                    self._pending, self._window = None, FIRST_WINDOW
                    self.done_until = base + end
                    on_object(item, base + start, buf[start:end])
                    continue
            if not self._locate(index):
                return
        self.pos = base + resume if resume >= 0 else max(self.pos, limit)


def _search(keep_code: Callable[[str], bool]) -> tuple[re.Pattern[bytes], int, tuple[bytes, ...]]:
    """The item search (the regex, and the same as a mode and codes of ``find_items``): only items
    naming a wanted code when ``keep_code`` is a small set's membership test (``--codes``); only items
    naming a Level II-shaped code when it keeps nothing else (every Level II code, or a large set of
    them: the store's HCPCS codes); every item otherwise."""
    wanted = getattr(keep_code, "__self__", None)
    if keep_code is is_level2 or (
        isinstance(wanted, (set, frozenset)) and len(wanted) > INLINE_CODES
        and all(isinstance(c, str) and is_level2(c) for c in wanted)
    ):  # fmt: skip
        return LEVEL2_ITEMS, _LEVEL2, ()
    if not isinstance(wanted, (set, frozenset, tuple, list)) or not 0 < len(wanted) <= INLINE_CODES:
        return ITEM_CODES, _ANY, ()
    if not all(isinstance(c, str) for c in wanted):
        return ITEM_CODES, _ANY, ()
    raw = tuple(str(c).encode() for c in sorted(wanted))
    codes = b"|".join(re.escape(c) for c in raw)
    pattern = re.compile(
        rb'"code_information"\s*:\s*(\[[^\]]*"\s*(?:' + codes + rb')\s*"[^\]]*\])',
        re.IGNORECASE,
    )
    return pattern, _CODES, raw


def _strings(value: Any) -> tuple[str, ...]:
    values = value if isinstance(value, list) else [value] if value not in (None, "") else []
    return tuple(str(v).strip() for v in values if str(v).strip())


def _set_fields(into: HospitalFile, fields: dict[str, Any]) -> None:
    text = {k: str(v).strip() or None for k, v in fields.items() if isinstance(v, (str, int, float))}
    into.hospital_name = text.get("hospital_name")
    into.last_updated_on = text.get("last_updated_on")
    into.version = text.get("version")
    into.location_names = _strings(fields.get("location_name", fields.get("hospital_location")))
    into.addresses = _strings(fields.get("hospital_address"))
    into.type_2_npis = _strings(fields.get("type_2_npi"))
    license_info = fields.get("license_information")
    if isinstance(license_info, dict):
        into.license_number = _strings(license_info.get("license_number"))[:1][0] if _strings(
            license_info.get("license_number")) else None  # fmt: skip
        into.license_state = license_info.get("state") or None


def _number(value: Any, what: str) -> float | None:
    if type(value) is float:  # the common case first: this runs for every amount of every kept item
        return value
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"{what} is not a number: {value!r}")
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(str(value).replace("$", "").replace(",", ""))
    except ValueError:
        raise ValueError(f"{what} is not a number: {str(value)[:40]!r}") from None


def _text(value: Any) -> str | None:
    return str(value).strip() or None if value is not None else None


def _modifiers(value: Any) -> tuple[str, ...]:
    """A standard charge's ``modifier_code`` sorted: a list as the schema has it (null and empty entries
    are no modifier), or one text listing them with ``|`` as the CSV layouts do (iterating it would make
    each letter a modifier)."""
    if type(value) is str:
        return tuple(sorted(split_list(value)))
    parts = (str(m).strip() for m in value if m is not None) if type(value) is list else (str(value).strip(),)
    return tuple(sorted(p for p in parts if p))


_NO_PAYER = (None, None, None, None, None, None)
_make = HospitalCharge._make


#: An item's standard charges: (the fields from codes to maximum, each payer's payer_name ... methodology).
ItemParts = list[tuple[tuple[Any, ...], list[tuple[Any, ...]]]]


def _item_charges(parts: ItemParts, kept: Iterable[str], number: int) -> list[HospitalCharge]:
    """Each kept code's charges: one per standard charge and payer (one without a payer when the
    standard charge names none)."""
    return [
        _make((code, *head, *payer, number)) for code in kept for head, payers in parts for payer in payers
    ]


def item_parts(item: dict[str, Any]) -> ItemParts:
    """An item's charges before they are made records: the fields shared by a standard charge's payers
    are built once."""
    pairs = []
    for c in item.get("code_information") or []:  # runs for every kept item: common types inline, no call
        code = c.get("code")
        if code:
            kind = c.get("type", "")
            pairs.append((code.strip() if type(code) is str else str(code).strip(),
                          kind.strip() if type(kind) is str else str(kind).strip()))  # fmt: skip
    codes = tuple(pairs)
    description = _text(item.get("description"))
    drug = item.get("drug_information") or {}
    unit, unit_type = _number(drug.get("unit"), "drug unit"), _text(drug.get("type"))
    charges: ItemParts = []
    for sc in item.get("standard_charges") or []:
        bclass, setting, mods = sc.get("billing_class"), sc.get("setting"), sc.get("modifier_code")
        gross, cash, low, high = (
            sc.get("gross_charge"),
            sc.get("discounted_cash"),
            sc.get("minimum"),
            sc.get("maximum"),
        )
        head = (
            codes, description,
            (bclass.strip() or None) if type(bclass) is str else _text(bclass),
            (setting.strip() or None) if type(setting) is str else _text(setting),
            unit, unit_type, _modifiers(mods) if mods else (),
            gross if type(gross) is float else _number(gross, "gross_charge"),
            cash if type(cash) is float else _number(cash, "discounted_cash"),
            low if type(low) is float else _number(low, "minimum"),
            high if type(high) is float else _number(high, "maximum"),
        )  # fmt: skip
        payers = []
        for p in sc.get("payers_information") or []:  # the innermost loop: common types inline, no call
            name, plan, dollar = p.get("payer_name"), p.get("plan_name"), p.get("standard_charge_dollar")
            pct, alg, meth = (
                p.get("standard_charge_percentage"),
                p.get("standard_charge_algorithm"),
                p.get("methodology"),
            )
            payers.append((
                (name.strip() or None) if type(name) is str else _text(name),
                (plan.strip() or None) if type(plan) is str else _text(plan),
                dollar if type(dollar) is float else _number(dollar, "standard_charge_dollar"),
                pct if type(pct) is float else _number(pct, "standard_charge_percentage"),
                None if alg is None else _text(alg),
                (meth.strip() or None) if type(meth) is str else _text(meth),
            ))  # fmt: skip
        charges.append((head, payers or [_NO_PAYER]))
    return charges
