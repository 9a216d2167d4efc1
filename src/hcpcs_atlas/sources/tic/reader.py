"""Read one in-network file or table of contents: the driver over the modules of this package."""

from __future__ import annotations

import gc
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import orjson

from ...errors import InputError
from ...progress import Progress
from .columns import ColumnCollector, StagedRates, system_memory_pool
from .doc import DocumentChecks, InNetworkScan, find_key
from .model import TicFile, TocFile
from .net import DEFAULT_OPTIONS, SPLIT_AT_ONCE_BYTES, ReadOptions
from .refs import Reference, ReferenceSections, Resolver
from .remote import fetch_locations
from .rows import ItemCollector
from .scan import HEADROOM, NeedLookback, ObjectFinder
from .split import Helper, SplitFailed, may_split
from .stream import ChunkStream, file_name, is_url

__all__ = [
    "is_table_of_contents",
    "read_in_network",
    "read_table_of_contents",
    "stage_in_network",
]

REPORTING_STRUCTURE = b'"reporting_structure"'
REPORTING_PLANS = b'"reporting_plans"'


def read_in_network(
    source: str | Path,
    keep_code: Callable[[str], bool],
    progress: Progress | None = None,
    ref_cache_dir: Path | None = None,
    options: ReadOptions = DEFAULT_OPTIONS,
) -> TicFile:
    """Stream one in-network file (path or URL; .json, .json.gz, .zip) and keep items whose code passes.

    ``keep_code`` gets the trimmed, upper-cased ``billing_code`` of items typed HCPCS or CPT. The rows
    are returned as objects: for tests and small selections (ingest uses :func:`stage_in_network`).
    """

    def collect(tic: TicFile, collector: ItemCollector, refs: dict[str, Reference]) -> None:
        tic.rows = list(collector.rows(refs))

    return _with_lookback(
        source, lambda _: ItemCollector(keep_code), collect, progress, ref_cache_dir, options
    )


def stage_in_network(
    source: str | Path,
    keep_code: Callable[[str], bool],
    directory: Path,
    progress: Progress | None = None,
    ref_cache_dir: Path | None = None,
    options: ReadOptions = DEFAULT_OPTIONS,
) -> TicFile:
    """Like :func:`read_in_network`, but the kept prices go to Parquet files in ``directory`` as the file
    streams (``tic.staged``; memory stays flat, no row objects): the store joins them into rows."""

    def collector(split: bool) -> ColumnCollector:
        staged = StagedRates(directory)
        staged.discard_helper_parts()
        after = options.split_after_bytes
        if not split or after is None:
            system_memory_pool()
            return ColumnCollector(keep_code, staged)
        helper = Helper(keep_code, directory, after)
        if Path(source).stat().st_size >= SPLIT_AT_ONCE_BYTES:  # a local file (may_split)
            # large: the helper starts now, its interpreter's start-up (~0.5 s) beside this process's
            # imports and first bytes instead of after them
            helper.start()
        try:
            system_memory_pool()
            return ColumnCollector(keep_code, staged, helper=helper)
        except BaseException:
            helper.stop()
            raise

    def collect(tic: TicFile, collector: ItemCollector, refs: dict[str, Reference]) -> None:
        assert isinstance(collector, ColumnCollector)
        collector.finish(refs)
        tic.staged = collector.staged

    split = may_split(source, keep_code, options.split_after_bytes)
    return _with_lookback(source, collector, collect, progress, ref_cache_dir, options, split)


_Collect = Callable[[TicFile, ItemCollector, dict[str, Reference]], None]


def _with_lookback(
    source: str | Path,
    collector: Callable[[bool], ItemCollector],
    collect: _Collect,
    progress: Progress | None,
    ref_cache_dir: Path | None,
    options: ReadOptions,
    split: bool = False,
) -> TicFile:
    """``collector(split)``: a new collector, with a helper process if ``split`` (see :mod:`.split`)."""
    try:
        try:
            return _read_in_network(
                source, collector(split), collect, progress, ref_cache_dir, options, False
            )
        except SplitFailed:  # the helper could not take an item as handed: alone, exactly
            if not split:
                raise
            return _read_in_network(
                source, collector(False), collect, progress, ref_cache_dir, options, False
            )
    except NeedLookback:
        # A billing_code megabytes after its item's start (keys written after negotiated_rates): read
        # again, this time keeping each item whole in the buffer. Memory then follows the largest item.
        try:
            return _read_in_network(source, collector(False), collect, progress, ref_cache_dir, options, True)
        except NeedLookback as exc:
            raise InputError(str(source), "an in_network item too large to locate", byte=exc.offset) from None


def _read_in_network(
    source: str | Path,
    collector: ItemCollector,
    collect: _Collect,
    progress: Progress | None,
    ref_cache_dir: Path | None,
    options: ReadOptions,
    deep: bool,
) -> TicFile:
    label = str(source)
    resolver = Resolver(label, options.max_item_bytes)
    # A URL is read once: reference sections the stream cannot resolve on the fly are copied aside.
    # The cyclic GC is paused: parsed items make no cycles, and its passes over the millions of objects
    # a batch of kept prices holds cost more than the parsing (measured: a third of the time).
    paused = gc.isenabled()
    gc.disable()
    read = False
    try:
        stream = ChunkStream(source, HEADROOM, options=options)
        with stream, ReferenceSections(is_url(source), deep) as sections:
            scan = InNetworkScan(
                label, collector, sections, resolver, deep, stream.pool.put, options.max_item_bytes
            )
            for chunk in stream:
                scan.feed(chunk, HEADROOM)
                if progress is not None:
                    progress.update(bytes_done=stream.bytes_read, items=scan.items_seen, kept=collector.kept)
            fields = scan.finish()
            collector.join()
            if scan.in_network_at is None:
                raise InputError(label, "no in_network array: not an in-network rate file", byte=0)
            tic = _tic_file(label, stream, fields, scan, collector)
            _resolve_rest(source, scan, sections, resolver)
        read = True
    except (InputError, NeedLookback):
        if collector.helper_failed():  # its item came first: the read alone reports it, or succeeds
            raise SplitFailed from None
        raise
    finally:
        collector.close(flush=read)
        if paused:
            gc.enable()
    tic.remote_refs_fetched, tic.remote_refs_failed = _fetch_remote(
        resolver.found, ref_cache_dir, label, options
    )
    tic.refs_unresolved = sorted(collector.wanted_ids - resolver.found.keys())
    collect(tic, collector, resolver.found)
    tic.prices_skipped = collector.prices_skipped  # the last batch is counted when it is flushed
    tic.prices_skipped_by = {reason: n for reason, n in collector.skipped_by.items() if n}
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


def _fetch_remote(
    refs: dict[str, Reference], cache_dir: Path | None, document: str, options: ReadOptions
) -> tuple[int, list[tuple[str, str]]]:
    if not any(ref.groups is None and ref.location for ref in refs.values()):
        return 0, []
    if cache_dir is not None:
        cache_dir.mkdir(parents=True, exist_ok=True)
        return fetch_locations(refs, cache_dir, document, options)
    with tempfile.TemporaryDirectory(prefix="tic-remote-") as tmp:
        return fetch_locations(refs, Path(tmp), document, options)


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
        file_name=file_name(stream.member or label),
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


def is_table_of_contents(source: str | Path, options: ReadOptions = DEFAULT_OPTIONS) -> bool:
    """True if the document's first chunk has a top-level ``reporting_structure`` key (reads only that)."""
    with ChunkStream(source, options=options) as stream:
        first = next(iter(stream), bytearray())
    return find_key(first, REPORTING_STRUCTURE, 0)[0] >= 0


def read_table_of_contents(source: str | Path, options: ReadOptions = DEFAULT_OPTIONS) -> TocFile:
    """The in-network file URLs and reporting plans of a table-of-contents file (streamed, any size)."""
    label = str(source)
    structures: list[dict[str, object]] = []
    plans: list[dict[str, object]] = []
    urls: dict[str, None] = {}  # ordered set: shared files are listed under many plans

    descriptions: dict[str, str] = {}

    def on_structure(obj: dict[str, Any], start: int, _raw: bytes | bytearray) -> None:
        entry = _structure(obj)
        try:  # the store keeps the plans as JSON text: orjson parses 1,024 levels but writes 254
            orjson.dumps(entry.plans)
        except orjson.JSONEncodeError:
            raise InputError(label, "reporting_plans nested too deep to read", byte=start) from None
        plans.extend(entry.plans)
        urls.update(dict.fromkeys(entry.files))
        descriptions.update(_descriptions(obj))
        structures.append({"reporting_plans": entry.plans, "in_network_files": entry.files,
                           "allowed_amount_file": entry.allowed})  # fmt: skip

    checks = DocumentChecks(label, (REPORTING_STRUCTURE,), (REPORTING_PLANS,))
    with ChunkStream(source, HEADROOM, options=options) as stream:
        finder = ObjectFinder(label, REPORTING_PLANS, None, on_structure, recycle=stream.pool.put,
                              max_object=options.max_item_bytes)  # fmt: skip
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
        descriptions=descriptions,
    )


def _descriptions(obj: dict[str, Any]) -> dict[str, str]:
    files = obj.get("in_network_files")
    return {
        f["location"]: f["description"]
        for f in (files if isinstance(files, list) else [])
        if isinstance(f, dict)
        and isinstance(f.get("location"), str)
        and isinstance(f.get("description"), str)
    }


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
