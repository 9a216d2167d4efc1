"""Transparency-in-Coverage in-network rate files (CMS schema v1.x and v2.x), streamed at inflate speed.

A file is one JSON document of up to hundreds of GB. It is never tokenized in Python:

- :mod:`.tic_io` reads, hashes and inflates (isal) on a background thread, into reused 4 MB buffers;
- :mod:`.tic_scan` finds ``"billing_code"`` keys with ``bytes.find``, reads each code with a regex and,
  for a wanted code only, scans back to the enclosing ``{`` and lets orjson parse that one object;
- :mod:`.tic_refs` notes where the top-level ``provider_references`` sections are (before or after
  ``in_network``) and resolves only the group ids the kept items use: on the fly when the section comes
  after the items, by a second read of the file's head when it comes first; :mod:`.tic_remote` fetches
  remote ``location`` references;
- :mod:`.tic_rows` turns kept items into rows: one per negotiated price and provider group;
- :mod:`.tic_doc` checks the document's first and last bytes and reads its top-level fields.

Memory is flat in the file size: a few 5 MB buffers plus the kept items (see ``benchmarks/``). One file is
one unit of work: a truncated, corrupt or non-JSON file raises :class:`~hcpcs_atlas.errors.InputError`
naming the file and the byte offset in the decompressed stream, and nothing partial is returned.

Validated on every file: the first byte is ``{``; the document closes properly after its last array
element, which parses; gzip's end marker and CRC; every kept item parses exactly; documents of up to
4 MB (decompressed) are parsed whole. Not validated in larger files: the syntax of the bytes between the objects that are parsed.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from ..errors import InputError
from ..progress import Progress
from .tic_doc import DocumentChecks, InNetworkScan, find_key
from .tic_io import ChunkStream, file_name, is_url
from .tic_refs import Reference, ReferenceSections, Resolver
from .tic_remote import fetch_locations
from .tic_rows import ItemCollector
from .tic_scan import HEADROOM, NeedLookback, ObjectFinder

__all__ = [
    "RateRow",
    "TicFile",
    "TocFile",
    "is_table_of_contents",
    "read_in_network",
    "read_table_of_contents",
]

REPORTING_STRUCTURE = b'"reporting_structure"'
REPORTING_PLANS = b'"reporting_plans"'


@dataclass(frozen=True, slots=True)
class RateRow:
    billing_code: str  # trimmed, upper-cased
    billing_code_type: str  # as written in the file (HCPCS, CPT, ...)
    negotiation_arrangement: str | None  # ffs | bundle | capitation
    negotiated_type: str  # negotiated | derived | fee schedule | percentage | per diem
    negotiated_rate: float
    expiration_date: str | None  # ISO date as written
    billing_class: str | None  # professional | institutional | both
    setting: str | None  # v2: inpatient | outpatient | both
    service_codes: tuple[str, ...]  # sorted place-of-service codes
    modifiers: tuple[str, ...]  # sorted billing_code_modifier values
    additional_information: str | None
    provider_group_id: str | None  # as text: ids like 320.25975 exist in the wild
    tin_type: str | None  # ein | npi
    tin_value: str | None
    npis: tuple[int, ...]  # (0,) = TIN-level contract
    network_names: tuple[str, ...] = ()  # v2: network_name of the referenced provider group


@dataclass
class TicFile:
    """One in-network file, read whole: its header, the kept rate rows and what happened on the way."""

    source: str  # path or URL as given
    file_name: str
    sha256: str  # of the bytes read (compressed bytes, as fetched)
    bytes_read: int
    reporting_entity_name: str | None
    reporting_entity_type: str | None
    last_updated_on: str | None
    version: str | None
    plan_name: str | None = None
    plan_id: str | None = None
    plan_market_type: str | None = None
    issuer_name: str | None = None
    plan_sponsor_name: str | None = None
    network_name: str | None = None
    items_seen: int = 0
    items_kept: int = 0
    rows: list[RateRow] = field(default_factory=list)
    remote_refs_fetched: int = 0
    remote_refs_failed: list[tuple[str, str]] = field(default_factory=list)  # (url, reason)
    plan_id_type: str | None = None
    reporting_plans: list[dict[str, Any]] = field(default_factory=list)  # early drafts list plans inline
    bytes_decompressed: int = 0
    prices_skipped: int = 0  # negotiated prices without a usable negotiated_type / numeric rate
    refs_unresolved: list[str] = field(default_factory=list)  # ids used by kept items but never defined


@dataclass
class TocFile:
    source: str
    reporting_entity_name: str | None
    reporting_entity_type: str | None
    in_network_urls: list[str]
    reporting_plans: list[dict[str, object]]
    last_updated_on: str | None = None
    version: str | None = None
    #: per reporting_structure entry: {"reporting_plans": [...], "in_network_files": [url...],
    #: "allowed_amount_file": url | None}: which plans each in-network file covers
    reporting_structure: list[dict[str, object]] = field(default_factory=list)


def read_in_network(
    source: str | Path,
    keep_code: Callable[[str], bool],
    progress: Progress | None = None,
    ref_cache_dir: Path | None = None,
) -> TicFile:
    """Stream one in-network file (path or URL; .json, .json.gz, .zip) and keep items whose code passes.

    ``keep_code`` gets the trimmed, upper-cased ``billing_code`` of items typed HCPCS or CPT.
    """
    try:
        return _read_in_network(source, keep_code, progress, ref_cache_dir, deep=False)
    except NeedLookback:
        # A billing_code megabytes after its item's start (keys written after negotiated_rates): read
        # again, this time keeping each item whole in the buffer. Memory then follows the largest item.
        try:
            return _read_in_network(source, keep_code, progress, ref_cache_dir, deep=True)
        except NeedLookback as exc:
            raise InputError(str(source), "an in_network item too large to locate", byte=exc.offset) from None


def _read_in_network(
    source: str | Path,
    keep_code: Callable[[str], bool],
    progress: Progress | None,
    ref_cache_dir: Path | None,
    deep: bool,
) -> TicFile:
    label = str(source)
    collector = ItemCollector(keep_code)
    resolver = Resolver(label)
    # A URL is read once: reference sections the stream cannot resolve on the fly are copied aside.
    with ChunkStream(source, HEADROOM) as stream, ReferenceSections(is_url(source), deep) as sections:
        scan = InNetworkScan(label, collector, sections, resolver, deep, recycle=stream.pool.put)
        for chunk in stream:
            scan.feed(chunk, HEADROOM)
            if progress is not None:
                progress.update(bytes_done=stream.bytes_read, items=scan.items_seen, kept=collector.kept)
        fields = scan.finish()
        if scan.in_network_at is None:
            raise InputError(label, "no in_network array: not an in-network rate file", byte=0)
        tic = _tic_file(label, stream, fields, scan, collector)
        _resolve_rest(source, scan, sections, resolver)
    tic.remote_refs_fetched, tic.remote_refs_failed = _fetch_remote(resolver.found, ref_cache_dir)
    tic.refs_unresolved = sorted(collector.wanted_ids - resolver.found.keys())
    tic.rows = list(collector.rows(resolver.found))
    return tic


def _resolve_rest(
    source: str | Path, scan: InNetworkScan, sections: ReferenceSections, resolver: Resolver
) -> None:
    """The reference sections not resolved while streaming: those before in_network (or all, deep)."""
    resolver.expect(scan.collector.wanted_ids)
    spans = (
        sections.sections if not scan.resolved_live else [s for s in sections.sections if s[1] is not None]
    )
    if not spans or resolver.done:
        return
    if sections.file is not None:
        resolver.scan_spool(sections)
    else:
        resolver.scan_source(source, spans)


def _fetch_remote(refs: dict[str, Reference], cache_dir: Path | None) -> tuple[int, list[tuple[str, str]]]:
    if not any(ref.groups is None and ref.location for ref in refs.values()):
        return 0, []
    if cache_dir is not None:
        cache_dir.mkdir(parents=True, exist_ok=True)
        return fetch_locations(refs, cache_dir)
    with tempfile.TemporaryDirectory(prefix="tic-remote-") as tmp:
        return fetch_locations(refs, Path(tmp))


def _text(value: object) -> str | None:
    if value is None or isinstance(value, dict):
        return None
    if isinstance(value, list):  # network_name is an array in v2 reference objects
        return "; ".join(str(v) for v in value) or None
    return value if isinstance(value, str) else str(value)


def _tic_file(
    label: str, stream: ChunkStream, fields: dict[str, Any], scan: InNetworkScan, collector: ItemCollector
) -> TicFile:
    plans = fields.get("reporting_plans")
    return TicFile(
        source=label,
        file_name=file_name(label),
        sha256=stream.sha256,
        bytes_read=stream.bytes_read,
        reporting_entity_name=_text(fields.get("reporting_entity_name")),
        reporting_entity_type=_text(fields.get("reporting_entity_type")),
        last_updated_on=_text(fields.get("last_updated_on")),
        version=_text(fields.get("version")),
        plan_name=_text(fields.get("plan_name")),
        plan_id=_text(fields.get("plan_id")),
        plan_market_type=_text(fields.get("plan_market_type")),
        issuer_name=_text(fields.get("issuer_name")),
        plan_sponsor_name=_text(fields.get("plan_sponsor_name")),
        network_name=_text(fields.get("network_name")),
        items_seen=scan.items_seen,
        items_kept=collector.kept,
        plan_id_type=_text(fields.get("plan_id_type")),
        reporting_plans=[p for p in plans if isinstance(p, dict)] if isinstance(plans, list) else [],
        bytes_decompressed=stream.delivered,
        prices_skipped=collector.prices_skipped,
    )


# -- table of contents -----------------------------------------------------------------------------------


def is_table_of_contents(source: str | Path) -> bool:
    """True if the document's first chunk has a top-level ``reporting_structure`` key (reads only that)."""
    with ChunkStream(source) as stream:
        first = next(iter(stream), bytearray())
    return find_key(first, REPORTING_STRUCTURE, 0)[0] >= 0


def read_table_of_contents(source: str | Path) -> TocFile:
    """The in-network file URLs and reporting plans of a table-of-contents file (streamed, any size)."""
    label = str(source)
    structures: list[dict[str, object]] = []
    plans: list[dict[str, object]] = []
    urls: dict[str, None] = {}  # ordered set: shared files are listed under many plans

    def on_structure(obj: dict[str, Any], _start: int, _raw: bytes | bytearray) -> None:
        entry = _structure(obj)
        plans.extend(entry.plans)
        urls.update(dict.fromkeys(entry.files))
        structures.append({"reporting_plans": entry.plans, "in_network_files": entry.files,
                           "allowed_amount_file": entry.allowed})  # fmt: skip

    checks = DocumentChecks(label, (REPORTING_STRUCTURE,), (REPORTING_PLANS,))
    with ChunkStream(source, HEADROOM) as stream:
        finder = ObjectFinder(label, REPORTING_PLANS, None, on_structure, recycle=stream.pool.put)
        for chunk in stream:
            finder.feed(chunk, HEADROOM)
            checks.feed(finder.buf, finder.base, finder.lo)
        finder.finish()
        fields = checks.finish(bytes(finder.buf[finder.lo :]), finder.base + finder.lo)
    if "reporting_structure" not in checks.top_keys:
        raise InputError(label, "not a table-of-contents file: no reporting_structure", byte=0)
    return TocFile(
        source=label,
        reporting_entity_name=_text(fields.get("reporting_entity_name")),
        reporting_entity_type=_text(fields.get("reporting_entity_type")),
        in_network_urls=list(urls),
        reporting_plans=plans,
        last_updated_on=_text(fields.get("last_updated_on")),
        version=_text(fields.get("version")),
        reporting_structure=structures,
    )


class _Structure(NamedTuple):
    plans: list[dict[str, object]]
    files: list[str]
    allowed: str | None


def _structure(obj: dict[str, Any]) -> _Structure:
    """One reporting_structure entry: its plans, in-network file locations and allowed-amount file."""
    plans, files, allowed = (
        obj.get("reporting_plans"),
        obj.get("in_network_files"),
        obj.get("allowed_amount_file"),
    )
    return _Structure(
        [p for p in plans if isinstance(p, dict)] if isinstance(plans, list) else [],
        [f["location"] for f in files if isinstance(f, dict) and isinstance(f.get("location"), str)]
        if isinstance(files, list)
        else [],
        allowed.get("location")
        if isinstance(allowed, dict) and isinstance(allowed.get("location"), str)
        else None,
    )
