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
import random
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Protocol

import orjson

from ..sources.tic import RateRow

__all__ = ["SynthResult", "TicSynthOptions", "write_in_network"]

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
#: The shape of the real HealthSCOPE Benefits file (MANIFEST §12), measured with json over all of it:
#: 17,759 items: 61.8% CPT, 35.7% HCPCS Level II, 2.5% RC; 5.2 negotiated rates per item; every rate has
#: exactly one provider reference (no inline groups), 53 groups, most of one NPI; prices per rate 2 (84%),
#: 6 (8%), 1 (6%), 4, 3, 7; 97% "negotiated", 3% "percentage"; 99.8% professional; place-of-service lists
#: of 17 or 32 codes (48.5% each) or 49 (3%); modifiers: none on 79% of prices, one on 21% (Level II: 32%).
REALISTIC: dict[str, Any] = {
    "item_kinds": (("CPT", 0.618), ("HCPCS", 0.357), ("RC", 0.025)),
    "rates_per_item": (1, 9),
    "prices_per_rate": ((2, 0.84), (6, 0.08), (1, 0.06), (4, 0.011), (3, 0.005), (7, 0.004)),
    "percentage_share": 0.03,
    "pos_lists": ((17, 0.485), (32, 0.485), (49, 0.03)),
    "modifier_counts": ((0, 0.79), (1, 0.19), (2, 0.015), (3, 0.004), (4, 0.001)),
    "groups": 53,
}
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
        if opts.profile == "realistic":
            self.n_groups = REALISTIC["groups"]
            self.fragments, self.fragment_rows = self._realistic_fragments()
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
        rng = random.Random(f"{self.opts.seed}:group:{index}")
        realistic = self.opts.profile == "realistic"  # most real groups: one TIN, one NPI
        count = (1 if rng.random() < 0.8 else rng.randint(2, 3)) if realistic else rng.randint(1, 3)
        entries = tuple(
            self._entry(rng, tin_level=index == TIN_LEVEL_GROUP, realistic=realistic) for _ in range(count)
        )
        network = (f"Synthetic Network {rng.choice('ABC')}",) if self.opts.v2 else ()
        base = self.opts.remote_base_url
        remote = base is not None and FIRST_REMOTE <= index <= MISSING_REMOTE
        missing = remote and self.opts.missing_remote and index == MISSING_REMOTE
        location = f"{base}/provider-refs/{'missing-' if missing else ''}{index}.json" if remote else None
        id_json: int | float = SPECIAL_ID if index == SPECIAL_GROUP else index
        return _Group(id_json, network, entries, location, missing)

    @staticmethod
    def _entry(rng: random.Random, tin_level: bool, realistic: bool = False) -> _Entry:
        many = (1 if rng.random() < 0.85 else rng.randint(2, 10)) if realistic else rng.randint(1, 6)
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
    def _realistic_fragments(self) -> tuple[list[bytes], list[int]]:
        """Rate fragments, and how many rows (price x provider entry) each makes for a reader."""
        rng, shape = random.Random(f"{self.opts.seed}:realistic"), REALISTIC
        pos_lists = {n: rng.sample([str(n) for n in range(1, 100)], n) for n, _ in shape["pos_lists"]}
        fragments, rows = [], []
        for _ in range(1024):
            group = rng.randint(1, self.n_groups)
            prices = []
            for _ in range(_weighted(rng, shape["prices_per_rate"])):
                percentage = rng.random() < shape["percentage_share"]
                price: dict[str, Any] = {
                    "negotiated_rate": float(rng.choice((45, 60, 80))) if percentage else round(rng.uniform(5, 3000), 2),
                    "service_code": pos_lists[_weighted(rng, shape["pos_lists"])],  # a few fixed lists
                    "negotiated_type": "percentage" if percentage else "negotiated",
                    "expiration_date": "9999-12-31",
                    "billing_class": "professional" if rng.random() < 0.998 else "institutional",
                    "billing_code_modifier": rng.sample(MODIFIERS, _weighted(rng, shape["modifier_counts"])),
                    "additional_information": "",
                }  # fmt: skip
                prices.append(price)
            rate = {"provider_references": [self.group(group).id_json], "negotiated_prices": prices}
            fragments.append(orjson.dumps(rate))
            rows.append(len(prices) * len(self.group(group).entries))
        return fragments, rows

    def _realistic_item(self) -> bytes:
        rng = self.rng
        code_type = _weighted(rng, REALISTIC["item_kinds"])
        if code_type == "CPT":
            code = self._other_code(lambda: f"{rng.randint(10000, 99999)}")
        elif code_type == "HCPCS":
            code = self._other_code(lambda: f"{rng.choice('ABCEGHJKLMPQRSV')}{rng.randint(0, 9999):04d}")
        else:
            code = f"0{rng.randint(100, 999)}"
        picks = [rng.randrange(len(self.fragments)) for _ in range(rng.randint(*REALISTIC["rates_per_item"]))]
        if code_type == "HCPCS":
            self.result.level2_rows += sum(self.fragment_rows[i] for i in picks)
        head = {
            "negotiation_arrangement": "ffs",
            "name": f"SERVICE {code} {'X' * rng.randint(10, 40)}",
            "billing_code_type": code_type,
            "billing_code_type_version": "2022",
            "billing_code": code,
            "description": f"Description of {code}: " + "lorem ipsum " * rng.randint(4, 20),
        }
        rates = b",".join(self.fragments[i] for i in picks)
        return orjson.dumps(head)[:-1] + b',"negotiated_rates":[' + rates + b"]}"

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
