"""Synthetic Transparency-in-Coverage in-network files of any size, with the rows a reader must return.

The file is streamed to disk (``.json``, ``.json.gz`` or ``.zip``), so a multi-GB file costs no memory.
A few *target* items (the codes under test) are spread evenly through a body of non-target items (CPT
codes, other HCPCS codes, revenue codes, DRGs). *Decoys* put target codes where a reader must not count
them: inside ``bundled_codes``/``covered_services``, under a non-HCPCS ``billing_code_type``, and inside a
string value. The target items exercise what real files do: HCPCS mislabelled as CPT, padded lower-case
codes, ``billing_code`` after ``negotiated_rates``, unsorted modifiers and place-of-service codes, every
``negotiated_type``, expired rates, escaped and non-ASCII text, TIN-level contracts (``npi: [0]``), a
non-integer provider group id (``320.25975``), inline ``provider_groups`` (v1) and remote ``location``
references (one of which can be made to answer 404).

Provider groups are derived from their index and the seed, never stored, so the reference section can be
as large as the file needs without holding it in memory.
"""

from __future__ import annotations

import gzip
import hashlib
import random
import statistics
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Protocol

import orjson

from ..sources.tic import RateRow

__all__ = ["SynthResult", "TicSynthOptions", "measure_shape", "write_in_network"]

NEGOTIATED_TYPES = ("negotiated", "derived", "fee schedule", "percentage", "per diem")
BILLING_CLASSES = ("professional", "institutional", "both")
SETTINGS = ("inpatient", "outpatient", "both")
PLACES_OF_SERVICE = ("11", "19", "21", "22", "23", "24", "49", "81")
MODIFIERS = ("JZ", "JW", "JG", "TB", "PO", "PN", "26", "TC")
EXPIRATIONS = ("9999-12-31", "2026-12-31", "2022-06-30", "2021-12-31")
#: Free text a reader must carry through untouched: quotes, backslashes, braces, non-ASCII, a fake key.
INFO_TEXTS = (
    'Paid at "ASP + 6%" {per contract}',
    "Tarif négocié — unité de 10 mg [niveau 2]",
    'path C:\\rates\\2025 and a fake "billing_code": "J9032"',
    "Per 1 mg\nsee attachment B",
)
#: The shape of the real HealthSCOPE Benefits file (MANIFEST §12), measured with json over all of it by
#: ``benchmarks/tic_shape.py`` (``measure_shape``): 17,759 items: 10,976 CPT, 6,331 HCPCS Level II (35.6%),
#: 451 RC, 1 other. Every rate has exactly one provider reference (no inline groups). 53 references hold
#: 120 groups (one TIN each, all "ein", 9 digits): 42 references of one group, 6 of two, 5 of 3 to 22;
#: NPIs per group: median 1, mean 230, p90 119, max 10,181 (five groups of 1,000 to 10,181 NPIs, in two
#: references that almost no rate points at). Rates point at 11 of the 53 references: an item has either
#: one rate (reference 36, 422 NPIs; RC items: reference 20) or one rate per reference of a fixed set
#: (7: {17, 26, 29, 35, 36, 49, 51}, 4: {35, 36, 49, 51}, ...) in shuffled order; so rates per item are
#: 1 (30%), 7 (62%), 8 (5%), 4 (2%), mean 5.2. Those references hold 1 to 422 NPIs, so a row (price x group)
#: carries 124 NPIs on average (Level II: 62,178 rows, 7.73 M NPIs). Prices per rate: 1 on single-rate
#: items, else mostly 2 (then 6, 4; reference 36 also 1, 3, 7); 211,905 prices, 26% of them Level II.
#: Level II prices: 7.4% "percentage" (others 1.5%), each with the 49-code place-of-service list, the
#: rest 17 or 32 codes half and half; one modifier on 32% (others 17%), never more; all professional
#: except RC items (institutional, no service_code); expiration 9999-12-31, additional_information "".
_SET7, _SET4 = (17, 26, 29, 35, 36, 49, 51), (35, 36, 49, 51)
REALISTIC: dict[str, Any] = {
    # counts as measured (rng.choices takes them as weights)
    "item_kinds": (("CPT", 10_976), ("HCPCS", 6_331), ("RC", 451)),
    # NPIs per group of each provider reference, by provider_group_id 0..52 (written as id + 1)
    "references": (
        (1, 1), (1,), (1,), (1,), (2,), (1,), (91,), *[(1,)] * 11,
        (1, 20, 10, 10, 4, 2859, 1, 6, 7631, 1, 35, 11, 2628), (1,) * 22,
        (10181, 288, 5, 80, 4, 428, 1, 3, 1016, 52, 119, 231, 185, 27, 45, 5, 94, 1, 6, 55, 211),
        (1,), (1,), (1,), (1, 1, 1), (1,), (28,), (1,), (1,), (117,), (1,), (1, 1), (1,), (382,), (1, 1),
        (115, 4), (422,), *[(1,)] * 6, (1, 1), (2, 1, 1, 1, 1, 1, 3), *[(1,)] * 4, (31,), (1,), (117,),
        (1, 1),
    ),
    # the references an item's rates point at (one rate each, shuffled), per item kind
    "rate_sets": {
        "HCPCS": (((36,), 3_159), (_SET7, 2_814), (_SET4, 342), ((17, 26, 29, 35, 49, 51), 9),
                  ((*_SET7, 44), 3), ((17, 26, 29, 36), 3), ((26, 29, 35, 36, 49, 51), 1)),
        "CPT": ((_SET7, 8_199), ((36,), 1_764), ((*_SET7, 44), 953), (_SET4, 49), ((36, 44), 9),
                ((44,), 1), ((6, 19, 20), 1)),
        "RC": (((20,), 451),),
    },
    # prices per rate: items of one rate have one price; rates of a set, by Level II and reference
    "prices_per_rate": {
        (True, 36): ((1, 235), (2, 2_265), (3, 349), (4, 10), (5, 1), (6, 17), (7, 283), (9, 3)),
        (True, 44): ((2, 3),),
        (True, 0): ((2, 16_112), (4, 66), (6, 1_800), (8, 18)),
        (False, 36): ((1, 59), (2, 8_115), (3, 100), (4, 127), (6, 810)),
        (False, 44): ((2, 925), (6, 37)),
        (False, 0): ((1, 9), (2, 49_439), (4, 762), (6, 4_860)),
    },
    "percentage_share": {True: 0.074, False: 0.015},  # of the prices; these carry the 49-code list
    "pos_lists": (17, 32, 49),
    "modifier_share": {True: 0.323, False: 0.165},  # one modifier, never more
}  # fmt: skip
#: Bumped when the realistic items are drawn differently from the same ``REALISTIC``.
REALISTIC_REVISION = 2


def realistic_fingerprint() -> str:
    """Changes with ``REALISTIC`` or its revision: a cached realistic file of another one is stale."""
    return hashlib.sha256(repr((REALISTIC_REVISION, REALISTIC)).encode()).hexdigest()[:12]


SPECIAL_ID = 320.25975  # a non-integer provider_group_id seen in real files
TIN_LEVEL_GROUP, SPECIAL_GROUP, FIRST_REMOTE, MISSING_REMOTE = 2, 3, 4, 6


@dataclass(frozen=True)
class TicSynthOptions:
    """What to write. ``size_bytes`` is the uncompressed size to reach (the file ends a little past it)."""

    seed: int = 1
    version: str = "1.3.1"  # "1.x": v1 layout; "2.x": setting, issuer/sponsor, network_name, refs only
    size_bytes: int = 1_000_000
    refs: Literal["before", "after", "none"] = "before"  # top-level provider_references placement
    inline_groups: bool = False  # v1: some negotiated rates carry provider_groups inline
    remote_base_url: str | None = None  # some provider references become {"location": base + path}
    missing_remote: bool = False  # with remote_base_url: one referenced location answers 404
    target_codes: tuple[str, ...] = ("J9032", "J9330")
    items_per_target: int = 4
    decoys: bool = True
    pretty: bool = False  # indent JSON like some publishers do
    gzip_level: int = 6  # level of the .gz / .zip deflate stream (payers mostly use the default 6)
    provider_share: float = 0.15  # share of the file taken by the top-level provider_references
    entity_name: str = "Synthetic Health Plan"
    plan_name: str = "Synthetic PPO"
    last_updated_on: str = "2025-10-01"
    #: dollar rates of target codes drawn from (low, high) per code (e.g. around a Medicare limit);
    #: codes not listed, and "percentage" rates, keep the generic ranges
    rate_ranges: Mapping[str, tuple[float, float]] | None = None
    #: "realistic": filler items shaped like a real TPA file (see REALISTIC); "synthetic": the default
    profile: Literal["synthetic", "realistic"] = "synthetic"

    @property
    def v2(self) -> bool:
        return self.version.startswith("2")


@dataclass
class SynthResult:
    path: Path
    rows: list[RateRow]  # the known answers, in document order
    header: dict[str, Any]  # top-level scalar fields as written
    remote_files: dict[str, bytes] = field(default_factory=dict)  # URL path under the base -> body
    missing_urls: list[str] = field(default_factory=list)  # referenced locations that are not served
    uncompressed_bytes: int = 0
    items: int = 0  # in_network items written
    target_items: int = 0
    level2_rows: int = 0  # realistic profile: rows of Level II filler items (targets are in ``rows``)


@dataclass(frozen=True)
class _Entry:
    npis: tuple[int, ...]
    tin_type: str
    tin_value: str


@dataclass(frozen=True)
class _Group:
    """One provider_references entry, derived from (seed, index)."""

    id_json: int | float
    network: tuple[str, ...]
    entries: tuple[_Entry, ...]
    location: str | None  # remote reference URL
    missing: bool  # its location answers 404

    @property
    def id_text(self) -> str:
        return orjson.dumps(self.id_json).decode()


def write_in_network(path: Path, options: TicSynthOptions | None = None) -> SynthResult:
    """Write an in-network file at ``path`` (format from the suffix) and return its known answers."""
    opts = options or TicSynthOptions()
    _check(opts)
    result = SynthResult(path=path, rows=[], header=_header(opts))
    writer = _Writer(opts, result)
    with _Sink(path, opts.gzip_level) as sink:
        writer.write(sink)
    result.uncompressed_bytes = writer.written
    return result


def _check(opts: TicSynthOptions) -> None:
    if opts.v2 and (opts.inline_groups or opts.refs == "none"):
        raise ValueError("v2 in-network files carry provider groups only in provider_references")
    if opts.profile == "realistic" and (opts.refs == "none" or opts.inline_groups):
        raise ValueError("the realistic profile's rates point at provider_references, as the real file's do")
    if opts.refs == "none" and opts.remote_base_url:
        raise ValueError("remote locations need top-level provider_references")


def _header(opts: TicSynthOptions) -> dict[str, Any]:
    header: dict[str, Any] = {
        "reporting_entity_name": opts.entity_name,
        "reporting_entity_type": "health insurance issuer",
        "plan_name": opts.plan_name,
        "plan_id_type": "ein" if opts.v2 else "EIN",
        "plan_id": "123456789",
        "plan_market_type": "group",
    }
    if opts.v2:
        header |= {"issuer_name": f"{opts.entity_name} Issuer", "plan_sponsor_name": "Acme Widgets Inc"}
    return header | {"last_updated_on": opts.last_updated_on, "version": opts.version}


class _Writable(Protocol):
    def write(self, data: bytes, /) -> int: ...

    def close(self) -> None: ...


class _Sink:
    """Counts uncompressed bytes and writes them plain, gzipped or as the single member of a zip."""

    def __init__(self, path: Path, level: int) -> None:
        self.path, self.level = path, level
        self._parts: list[bytes] = []
        self._pending = 0
        self.written = 0

    def __enter__(self) -> _Sink:
        name = self.path.name
        self._raw = self.path.open("wb")
        self._zip: zipfile.ZipFile | None = None
        self._out: _Writable
        if name.endswith(".gz"):
            # mtime=0 and no file name keep the output byte-identical for a given seed
            self._out = gzip.GzipFile(
                filename="", mode="wb", fileobj=self._raw, compresslevel=self.level, mtime=0
            )
        elif name.endswith(".zip"):
            self._zip = zipfile.ZipFile(self._raw, "w", zipfile.ZIP_DEFLATED, compresslevel=self.level)
            member = zipfile.ZipInfo(name.removesuffix(".zip") + ".json", date_time=(2025, 1, 1, 0, 0, 0))
            member.compress_type = zipfile.ZIP_DEFLATED
            self._out = self._zip.open(member, "w", force_zip64=True)
        else:
            self._out = self._raw
        return self

    def write(self, data: bytes) -> None:
        self._parts.append(data)
        self._pending += len(data)
        self.written += len(data)
        if self._pending >= 1 << 20:  # one write call per MB: the per-call overhead is the slow part
            self.flush()

    def flush(self) -> None:
        self._out.write(b"".join(self._parts))
        self._parts.clear()
        self._pending = 0

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.flush()
        if self._out is not self._raw:
            self._out.close()
        if self._zip is not None:
            self._zip.close()
        self._raw.close()


class _Writer:
    """Lays out the document; target and decoy items go at evenly spaced byte offsets of the body."""

    def __init__(self, opts: TicSynthOptions, result: SynthResult) -> None:
        self.opts = opts
        self.result = result
        self.rng = random.Random(opts.seed)
        self.dumps_opt = orjson.OPT_INDENT_2 if opts.pretty else 0
        self.sep = b",\n" if opts.pretty else b","
        share = opts.provider_share if opts.refs != "none" else 0.0
        self.n_groups = max(12, int(opts.size_bytes * share / 420))
        self._groups: dict[int, _Group] = {}
        if opts.profile == "realistic":
            self.n_groups = len(REALISTIC["references"])
            self._price_lists: dict[tuple[bool, int], list[tuple[bytes, int]]] = {}
            self.fragments = []
        else:
            self.fragments = [self._rate_fragment() for _ in range(512)]
        self.written = 0

    # -- layout -------------------------------------------------------------------------------------------
    def write(self, sink: _Sink) -> None:
        head = orjson.dumps(self.result.header, option=self.dumps_opt)
        sink.write(head[:-1].rstrip() + self.sep)
        if self.opts.refs == "before":
            self._write_references(sink)
            sink.write(self.sep)
        sink.write(b'"in_network":[')
        self._write_items(sink)
        sink.write(b"]")
        if self.opts.refs == "after":
            sink.write(self.sep)
            self._write_references(sink)
        sink.write(b"}\n")
        self.written = sink.written

    def _write_references(self, sink: _Sink) -> None:
        """All pooled groups; when the section comes last, unreferenced extra groups pad to the size."""
        sink.write(b'"provider_references":[')
        index = 0
        while index < self.n_groups or (
            self.opts.refs == "after" and sink.written < self.opts.size_bytes - 2
        ):
            index += 1
            if index > 1:
                sink.write(self.sep)
            sink.write(orjson.dumps(self._reference_object(self.group(index)), option=self.dumps_opt))
        sink.write(b"]")

    def _write_items(self, sink: _Sink) -> None:
        specials = list(self._special_items())
        body = max(self.opts.size_bytes - sink.written - self._references_estimate(), 1)
        start, placed, first = sink.written, 0, True
        while placed < len(specials) or sink.written - start < body:
            due = start + body * (placed + 0.5) / max(len(specials), 1)
            if placed < len(specials) and sink.written >= due:
                item = specials[placed]
                placed += 1
            else:
                item = self._filler_item()
            sink.write(item if first else self.sep + item)
            first = False
            self.result.items += 1

    def _references_estimate(self) -> int:
        return self.n_groups * 420 if self.opts.refs == "after" else 0

    # -- provider groups -----------------------------------------------------------------------------------
    def group(self, index: int) -> _Group:
        if (cached := self._groups.get(index)) is not None:
            return cached
        rng = random.Random(f"{self.opts.seed}:group:{index}")
        if self.opts.profile == "realistic":  # reference index - 1 of the real file, NPIs as measured
            entries = tuple(
                self._realistic_entry(rng, count, tin_level=index == TIN_LEVEL_GROUP)
                # past the 53: the unreferenced groups that pad a file whose references come last
                for count in (REALISTIC["references"] + ((1,),) * index)[index - 1]
            )
        else:
            entries = tuple(
                self._entry(rng, tin_level=index == TIN_LEVEL_GROUP) for _ in range(rng.randint(1, 3))
            )
        network = (f"Synthetic Network {rng.choice('ABC')}",) if self.opts.v2 else ()
        base = self.opts.remote_base_url
        remote = base is not None and FIRST_REMOTE <= index <= MISSING_REMOTE
        missing = remote and self.opts.missing_remote and index == MISSING_REMOTE
        location = f"{base}/provider-refs/{'missing-' if missing else ''}{index}.json" if remote else None
        id_json: int | float = SPECIAL_ID if index == SPECIAL_GROUP else index
        group = _Group(id_json, network, entries, location, missing)
        if (
            self.opts.profile == "realistic" and index <= self.n_groups
        ):  # 27,642 NPIs, asked for by every rate
            self._groups[index] = group
        return group

    @staticmethod
    def _realistic_entry(rng: random.Random, count: int, tin_level: bool) -> _Entry:
        npis = (0,) if tin_level else tuple(rng.randint(1_000_000_000, 1_999_999_999) for _ in range(count))
        return _Entry(npis, "ein", str(rng.randint(100_000_000, 999_999_999)))

    @staticmethod
    def _entry(rng: random.Random, tin_level: bool) -> _Entry:
        many = rng.randint(1, 6)
        npis = (0,) if tin_level else tuple(rng.randint(1_000_000_000, 1_999_999_999) for _ in range(many))
        if rng.random() < 0.8:
            return _Entry(npis, "ein", f"{rng.randint(10, 99)}-{rng.randint(1_000_000, 9_999_999)}")
        return _Entry(npis, "npi", str(npis[0] if npis[0] else rng.randint(1_000_000_000, 1_999_999_999)))

    def _groups_json(self, group: _Group) -> list[dict[str, Any]]:
        out = []
        for entry in group.entries:
            tin: dict[str, Any] = {"type": entry.tin_type, "value": entry.tin_value}
            if self.opts.v2 and entry.tin_type == "ein":
                tin["business_name"] = f"Practice {entry.tin_value}"
            out.append({"npi": list(entry.npis), "tin": tin})
        return out

    def _reference_object(self, group: _Group) -> dict[str, Any]:
        obj: dict[str, Any] = {"provider_group_id": group.id_json}
        if group.network:
            obj["network_name"] = list(group.network)
        if group.location is None:
            obj["provider_groups"] = self._groups_json(group)
            return obj
        obj["location"] = group.location
        if not group.missing:
            body = {"provider_groups": self._groups_json(group), "version": self.opts.version}
            self.result.remote_files[group.location.removeprefix(self.opts.remote_base_url or "")] = (
                orjson.dumps(body)
            )
        else:
            self.result.missing_urls.append(group.location)
        return obj

    # -- non-target body -----------------------------------------------------------------------------------
    def _random_ids(self, rng: random.Random, k: int) -> list[int | float]:
        return [
            self.group(i).id_json if i == SPECIAL_GROUP else i
            for i in rng.sample(range(1, self.n_groups + 1), k)
        ]

    def _rate_fragment(self) -> bytes:
        rng = self.rng
        rate: dict[str, Any] = {}
        if self.opts.refs == "none" or (self.opts.inline_groups and rng.random() < 0.3):
            rate["provider_groups"] = self._groups_json(self.group(rng.randint(1, self.n_groups)))
        else:
            rate["provider_references"] = self._random_ids(rng, rng.randint(1, 4))
        rate["negotiated_prices"] = [self._price(rng) for _ in range(rng.randint(1, 4))]
        return orjson.dumps(rate, option=self.dumps_opt)

    def _filler_item(self) -> bytes:
        if self.opts.profile == "realistic":
            return self._realistic_item()
        rng = self.rng
        kind = rng.random()
        if kind < 0.6:
            code_type, code = "CPT", self._other_code(lambda: f"{rng.randint(10000, 99999)}")
        elif kind < 0.9:
            code_type, code = "HCPCS", self._other_hcpcs(rng)
        elif kind < 0.95:
            code_type, code = "RC", f"0{rng.randint(100, 999)}"
        else:
            code_type, code = "MS-DRG", f"{rng.randint(1, 999):03d}"
        head = {
            "negotiation_arrangement": "ffs",
            "name": f"Service {code}",
            "billing_code_type": code_type,
            "billing_code_type_version": "2025",
            "billing_code": code,
            "description": f"Synthetic description of {code}",
        }
        rates = self.sep.join(rng.choices(self.fragments, k=rng.randint(1, 40)))
        return (
            orjson.dumps(head, option=self.dumps_opt)[:-1].rstrip() + b',"negotiated_rates":[' + rates + b"]}"
        )

    # -- the realistic profile ---------------------------------------------------------------------------
    def _price_list(self, level2: bool, reference: int, single: bool) -> tuple[bytes, int]:
        """A ``negotiated_prices`` array drawn from a pool per (Level II, role), and its length."""
        shape = REALISTIC["prices_per_rate"]
        role = reference if (level2, reference) in shape else 0
        pool = self._price_lists.setdefault((level2, -1 if single else role), [])
        if len(pool) < 1024:  # a pool, so most items reuse bytes already made: generation stays I/O bound
            rng = self.rng
            count = 1 if single else _weighted(rng, shape[(level2, role)])
            prices = [self._realistic_price(rng, level2, institutional=reference == 20) for _ in range(count)]
            pool.append((orjson.dumps(prices), count))
            return pool[-1]
        return pool[self.rng.randrange(len(pool))]

    def _realistic_price(self, rng: random.Random, level2: bool, institutional: bool) -> dict[str, Any]:
        shape = REALISTIC
        percentage = not institutional and rng.random() < shape["percentage_share"][level2]
        pos = 49 if percentage else rng.choice(shape["pos_lists"][:2])
        modifiers = [rng.choice(MODIFIERS)] if rng.random() < shape["modifier_share"][level2] else []
        return {
            "negotiated_rate": float(rng.choice((45, 60, 80))) if percentage else round(rng.uniform(5, 3000), 2),
            "service_code": [] if institutional else self._pos_lists[pos],
            "negotiated_type": "percentage" if percentage else "negotiated",
            "expiration_date": "9999-12-31",
            "billing_class": "institutional" if institutional else "professional",
            "billing_code_modifier": modifiers,
            "additional_information": "",
        }  # fmt: skip

    @property
    def _pos_lists(self) -> dict[int, list[str]]:
        if not hasattr(self, "_pos"):
            rng = random.Random(f"{self.opts.seed}:pos")
            self._pos = {n: rng.sample([str(k) for k in range(1, 100)], n) for n in REALISTIC["pos_lists"]}
        return self._pos

    def _realistic_item(self) -> bytes:
        rng = self.rng
        code_type = _weighted(rng, REALISTIC["item_kinds"])
        if code_type == "CPT":
            code = self._other_code(lambda: f"{rng.randint(10000, 99999)}")
        elif code_type == "HCPCS":
            code = self._other_code(lambda: f"{rng.choice('ABCEGHJKLMPQRSV')}{rng.randint(0, 9999):04d}")
        else:
            code = f"0{rng.randint(100, 999)}"
        level2 = code_type == "HCPCS"
        references = list(_weighted(rng, REALISTIC["rate_sets"][code_type]))
        rng.shuffle(references)
        rates = []
        for reference in references:
            group = self.group(reference + 1)
            prices, count = self._price_list(level2, reference, single=len(references) == 1)
            rates.append(
                b'{"provider_references":[%s],"negotiated_prices":%s}' % (group.id_text.encode(), prices)
            )
            if level2:
                self.result.level2_rows += count * len(group.entries)
        head = {
            "negotiation_arrangement": "ffs",
            "name": f"SERVICE {code} {'X' * rng.randint(10, 40)}",
            "billing_code_type": code_type,
            "billing_code_type_version": "2022",
            "billing_code": code,
            "description": f"Description of {code}: " + "lorem ipsum " * rng.randint(4, 20),
        }
        return orjson.dumps(head)[:-1] + b',"negotiated_rates":[' + b",".join(rates) + b"]}"

    def _other_hcpcs(self, rng: random.Random) -> str:
        return self._other_code(lambda: f"{rng.choice('ABCDEGHJKLMPQRSTV')}{rng.randint(0, 9999):04d}")

    def _other_code(self, draw: Callable[[], str]) -> str:
        """A non-target code: the known answers must hold every item a reader keeps."""
        while (code := draw()) in self.opts.target_codes:
            pass
        return code

    def _price(self, rng: random.Random, code: str | None = None) -> dict[str, Any]:
        ntype = rng.choice(NEGOTIATED_TYPES)
        low, high = (self.opts.rate_ranges or {}).get(code or "", (5.0, 5000.0))
        rate = (
            float(rng.choice((45, 60.5, 80, 110)))
            if ntype == "percentage"
            else round(rng.uniform(low, high), 2)
        )
        price: dict[str, Any] = {"negotiated_type": ntype, "negotiated_rate": rate}
        price["expiration_date"] = rng.choice(EXPIRATIONS)
        billing_class = rng.choice(BILLING_CLASSES)
        if billing_class == "professional" or rng.random() < 0.5:
            price["service_code"] = rng.sample(PLACES_OF_SERVICE, rng.randint(1, 4))
        price["billing_class"] = billing_class
        if self.opts.v2:
            price["setting"] = rng.choice(SETTINGS)
        if rng.random() < 0.4:
            price["billing_code_modifier"] = rng.sample(MODIFIERS, rng.randint(1, 3))
        if rng.random() < 0.25:
            price["additional_information"] = rng.choice(INFO_TEXTS)
        return price

    # -- targets and decoys --------------------------------------------------------------------------------
    def _special_items(self) -> Iterator[bytes]:
        variant = 0
        for code in self.opts.target_codes:
            for _ in range(self.opts.items_per_target):
                yield self._target_item(code, variant)
                variant += 1
            if self.opts.decoys:
                yield from self._decoys(code)

    def _target_item(self, code: str, variant: int) -> bytes:
        rng = self.rng
        code_type = ("HCPCS", "CPT", "HCPCS", "hcpcs ")[variant % 4]  # payers mislabel HCPCS as CPT
        written_code = (code, f" {code.lower()} ", code, code)[variant % 4]
        rates = [self._target_rate(rng, code, variant, k) for k in range(rng.randint(1, 3))]
        item: dict[str, Any] = {"negotiation_arrangement": "ffs", "name": f"Drug {code}"}
        fields = {
            "billing_code_type": code_type,
            "billing_code_type_version": "2025",
            "billing_code": written_code,
            "description": "Injection, synthetic drug, 10 mg",
        }
        if variant % 4 == 2:  # billing_code after negotiated_rates: the reader must look back past the rates
            item |= {"negotiated_rates": rates} | fields
        else:
            item |= fields | {"negotiated_rates": rates}
        if variant % 3 == 1:
            item["bundled_codes"] = [self._contained(self._other_hcpcs(rng))]
        self._expect(item, code)
        self.result.target_items += 1
        return orjson.dumps(item, option=self.dumps_opt)

    def _target_rate(self, rng: random.Random, code: str, variant: int, k: int) -> dict[str, Any]:
        prices = [self._price(rng, code) for _ in range(rng.randint(1, 3))]
        if variant == 0 and k == 0:  # the first target rate meets every awkward provider reference
            ids = [1, SPECIAL_GROUP, TIN_LEVEL_GROUP, 10]  # 10: an id whose decimal form has an exponent
            if self.opts.remote_base_url:
                ids += [FIRST_REMOTE, MISSING_REMOTE] if self.opts.missing_remote else [FIRST_REMOTE]
        else:
            ids = rng.sample(range(1, self.n_groups + 1), rng.randint(1, 3))
        if self.opts.refs == "none" or (self.opts.inline_groups and k == 1):
            groups = [g for i in ids for g in self._groups_json(self.group(i))]
            return {"provider_groups": groups, "negotiated_prices": prices}
        return {"provider_references": [self.group(i).id_json for i in ids], "negotiated_prices": prices}

    @staticmethod
    def _contained(code: str, code_type: str = "HCPCS") -> dict[str, str]:
        return {"billing_code_type": code_type, "billing_code_type_version": "2025", "billing_code": code,
                "description": "Contained service"}  # fmt: skip

    def _decoys(self, code: str) -> Iterator[bytes]:
        rng = self.rng
        rate = {"provider_references": [1], "negotiated_prices": [self._price(rng)]}
        base = {"name": "Decoy", "billing_code_type_version": "2025", "description": "Decoy item"}
        bundle = {"negotiation_arrangement": "bundle", "billing_code_type": "CPT", "billing_code": "27447"}
        capitation = {
            "negotiation_arrangement": "capitation",
            "billing_code_type": "CPT",
            "billing_code": "99499",
        }
        local = {"negotiation_arrangement": "ffs", "billing_code_type": "LOCAL", "billing_code": code}
        quoted = {"negotiation_arrangement": "ffs", "billing_code_type": "CPT", "billing_code": "99213",
                  "name": f'Decoy with "billing_code": "{code}" in its name'}  # fmt: skip
        if self.opts.refs == "none":
            rate = {
                "provider_groups": self._groups_json(self.group(1)),
                "negotiated_prices": rate["negotiated_prices"],
            }
        yield orjson.dumps(
            base | bundle | {"negotiated_rates": [rate], "bundled_codes": [self._contained(code)]}
        )
        yield orjson.dumps(
            base | capitation | {"negotiated_rates": [rate], "covered_services": [self._contained(code)]}
        )
        yield orjson.dumps(base | local | {"negotiated_rates": [rate]})
        yield orjson.dumps(base | quoted | {"negotiated_rates": [rate]})

    # -- known answers -------------------------------------------------------------------------------------
    def _expect(self, item: dict[str, Any], code: str) -> None:
        for rate in item["negotiated_rates"]:
            for price in rate["negotiated_prices"]:
                for group_id, network, entry in self._rate_providers(rate):
                    self.result.rows.append(_row(item, code, price, group_id, network, entry))

    def _rate_providers(
        self, rate: dict[str, Any]
    ) -> Iterator[tuple[str | None, tuple[str, ...], _Entry | None]]:
        if "provider_groups" in rate:
            for g in rate["provider_groups"]:
                tin = g["tin"]
                yield None, (), _Entry(tuple(g["npi"]), tin["type"], tin["value"])
            return
        for id_json in rate["provider_references"]:
            index = SPECIAL_GROUP if id_json == SPECIAL_ID else int(id_json)
            group = self.group(index)
            if group.missing:  # an unresolvable reference still yields the rate, without provider
                yield group.id_text, group.network, None
                continue
            for entry in group.entries:
                yield group.id_text, group.network, entry


def _weighted(rng: random.Random, choices: Any) -> Any:
    values, weights = zip(*choices, strict=True)
    return rng.choices(values, weights)[0]


def _row(
    item: dict[str, Any],
    code: str,
    price: dict[str, Any],
    group_id: str | None,
    network: tuple[str, ...],
    entry: _Entry | None,
) -> RateRow:
    return RateRow(
        billing_code=code,
        billing_code_type=item["billing_code_type"],
        negotiation_arrangement=item["negotiation_arrangement"],
        negotiated_type=price["negotiated_type"],
        negotiated_rate=float(price["negotiated_rate"]),
        expiration_date=price["expiration_date"],
        billing_class=price["billing_class"],
        setting=price.get("setting"),
        service_codes=tuple(sorted(price.get("service_code", ()))),
        modifiers=tuple(sorted(price.get("billing_code_modifier", ()))),
        additional_information=price.get("additional_information"),
        provider_group_id=group_id,
        tin_type=entry.tin_type if entry else None,
        tin_value=entry.tin_value if entry else None,
        npis=entry.npis if entry else (),
        network_names=network,
    )


def measure_shape(doc: Mapping[str, Any]) -> dict[str, float]:
    """The shape statistics ``REALISTIC`` reproduces, of a parsed in-network document (real or generated).

    A row is what a reader keeps: one price x one provider group (TIN entry); Level II: a HCPCS item whose
    code starts with a letter. Shares are fractions; NPIs of a TIN-level group (``[0]``) count as one.
    """
    references = {orjson.dumps(r["provider_group_id"]): r.get("provider_groups", []) for r in doc.get("provider_references", [])}  # fmt: skip
    npis = sorted(len(g["npi"]) for groups in references.values() for g in groups)
    out: dict[str, float] = {
        "references": len(references),
        "groups": len(npis),
        "groups_per_reference_mean": len(npis) / max(len(references), 1),
        "references_of_one_group": sum(len(g) == 1 for g in references.values()) / max(len(references), 1),
        "npis_per_group_mean": statistics.fmean(npis) if npis else 0.0,
        "npis_per_group_median": statistics.median(npis) if npis else 0.0,
        "npis_per_group_p90": npis[int(0.9 * (len(npis) - 1))] if npis else 0,
        "npis_per_group_max": npis[-1] if npis else 0,
        "groups_of_1000_npis": sum(n >= 1000 for n in npis),
        "tin_ein_share": statistics.fmean(
            [g["tin"]["type"] == "ein" for groups in references.values() for g in groups] or [0]
        ),
    }
    kinds: Counter[str] = Counter()
    rates_per_item: Counter[int] = Counter()
    prices_per_rate: Counter[int] = Counter()
    pointed: set[bytes] = set()
    count = Counter[str]()
    for item in doc["in_network"]:
        code_type, code = item["billing_code_type"].strip().upper(), item["billing_code"].strip()
        level2 = code_type == "HCPCS" and code[:1].isalpha()
        kinds["level2" if level2 else code_type] += 1
        rates_per_item[len(item["negotiated_rates"])] += 1
        for rate in item["negotiated_rates"]:
            prices = rate["negotiated_prices"]
            prices_per_rate[len(prices)] += 1
            if "provider_groups" in rate:
                count["inline_rates"] += 1
                groups = rate["provider_groups"]
            else:
                ids = [orjson.dumps(i) for i in rate["provider_references"]]
                pointed.update(ids)
                count["references_per_rate"] += len(ids)
                groups = [g for i in ids for g in references.get(i, [])]
            n_npis = sum(len(g["npi"]) for g in groups)
            for key in ("", "level2_") if level2 else ("",):
                count[key + "prices"] += len(prices)
                count[key + "rows"] += len(prices) * len(groups)
                count[key + "npis"] += len(prices) * n_npis
                count[key + "heavy_rows"] += len(prices) * sum(len(g["npi"]) >= 100 for g in groups)
            for price in prices:
                tag = "level2_" if level2 else "other_"
                count[tag + "percentage"] += price["negotiated_type"] == "percentage"
                count[tag + "modified"] += len(price.get("billing_code_modifier", [])) > 0
                count[tag + "pos49"] += len(price.get("service_code", [])) == 49
    items = sum(kinds.values())
    rates = sum(prices_per_rate.values())
    other_prices = count["prices"] - count["level2_prices"]
    out |= {
        "items": items,
        "level2_item_share": kinds["level2"] / items,
        "cpt_item_share": kinds["CPT"] / items,
        "rc_item_share": kinds["RC"] / items,
        "rates_per_item_mean": rates / items,
        **{f"rates_per_item_{n}_share": rates_per_item[n] / items for n in (1, 4, 7, 8)},
        "prices_per_rate_mean": count["prices"] / rates,
        **{f"prices_per_rate_{n}_share": prices_per_rate[n] / rates for n in (1, 2, 6)},
        "inline_rate_share": count["inline_rates"] / rates,
        "references_per_rate_mean": count["references_per_rate"] / max(rates - count["inline_rates"], 1),
        "references_pointed_at": len(pointed),
        "level2_price_share": count["level2_prices"] / count["prices"],
        "level2_row_share": count["level2_rows"] / max(count["rows"], 1),
        "npis_per_row_mean": count["npis"] / max(count["rows"], 1),
        "level2_npis_per_row_mean": count["level2_npis"] / max(count["level2_rows"], 1),
        "level2_rows_per_item": count["level2_rows"] / max(kinds["level2"], 1),
        "level2_heavy_row_share": count["level2_heavy_rows"] / max(count["level2_rows"], 1),
        "level2_percentage_share": count["level2_percentage"] / max(count["level2_prices"], 1),
        "other_percentage_share": count["other_percentage"] / max(other_prices, 1),
        "level2_modifier_share": count["level2_modified"] / max(count["level2_prices"], 1),
        "other_modifier_share": count["other_modified"] / max(other_prices, 1),
        "level2_pos49_share": count["level2_pos49"] / max(count["level2_prices"], 1),
        "level2_rows": count["level2_rows"],
        "level2_npis": count["level2_npis"],
    }
    return out
