"""Ingest Transparency-in-Coverage in-network files: one file, one transaction; failures don't stop the rest."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import wait
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, NamedTuple, Protocol, TypeVar

import orjson

from ..errors import AtlasError, InputError
from ..progress import Progress
from ..sources import is_level2
from ..sources.tic import (
    StagedRates,
    TicFile,
    TocFile,
    is_table_of_contents,
    read_table_of_contents,
    stage_in_network,
)
from ..sources.tic.net import DEFAULT_OPTIONS, FetchError, ReadOptions, resolve_location
from ..sources.tic.stream import ZipMember, file_name, zip_members
from .db import FileRecord, Store, StoreOrOpener, writing
from .payers import resolve_payer

__all__ = [
    "IngestSummary",
    "PayerSourceRow",
    "RateObservationRow",
    "Readers",
    "TocTarget",
    "codes_with_rates",
    "expand_sources",
    "file_row",
    "files_with_code",
    "has_code_rates",
    "ingest_tic",
    "keep_codes",
    "parse_date",
    "payer_codes",
    "payer_of",
    "payer_sources",
    "rate_observations",
    "wanted_codes",
    "worker_tally",
]


class _Located(Protocol):
    @property
    def location(self) -> str: ...


T = TypeVar("T", bound=_Located)


@dataclass
class IngestSummary:
    ingested: list[tuple[str, int]] = field(default_factory=list)  # (file, rows kept)
    unchanged: list[str] = field(default_factory=list)  # already ingested: nothing changed
    failed: list[str] = field(default_factory=list)  # one-line errors
    refs_failed: int = 0  # remote provider references that could not be fetched
    rows_without_provider: int = 0  # rate rows kept with provider_group_id but TIN and NPIs unknown
    prices_skipped: dict[str, dict[str, int]] = field(default_factory=dict)  # file -> reason -> count


@dataclass(frozen=True)
class TocTarget:
    """One in-network file to read: given directly, or listed by a table of contents."""

    location: str
    reporting_plans: list[dict[str, object]] | None = None
    description: str | None = None
    refused: str | None = None  # why a listed location may not be read (one line, names the place)

    @property
    def size(self) -> int | None:
        """Bytes of a local file; None for a URL (never downloaded to find out)."""
        local = Path(self.location)
        return local.stat().st_size if "://" not in self.location and local.is_file() else None

    def plan_names(self) -> list[str]:
        return [
            " ".join(str(p[k]) for k in ("plan_name", "plan_id") if p.get(k))
            for p in self.reporting_plans or []
        ]

    def matches(self, text: str) -> bool:
        """``--plan-filter``: TEXT in a plan's name or id, the file's description or its location."""
        needle = text.casefold()
        return any(
            needle in hay.casefold() for hay in [*self.plan_names(), self.description or "", self.location]
        )


def wanted_codes(store: Store, codes: Iterable[str] | None) -> set[str] | None:
    """The codes to keep: those given, else every HCPCS code in the store; None: any Level II code."""
    if codes is not None:
        return {c.strip().upper() for c in codes if c.strip()}
    return set(store.distinct_codes("hcpcs")) or None


def keep_codes(store: Store, codes: Iterable[str] | None) -> Callable[[str], bool]:
    wanted = wanted_codes(store, codes)
    return wanted.__contains__ if wanted is not None else is_level2


def _plans_by_file(toc: TocFile) -> dict[str, list[dict[str, object]]]:
    """Which reporting plans each in-network file covers (a shared file is listed under many plans)."""
    plans: dict[str, list[dict[str, object]]] = {}
    for structure in toc.reporting_structure:
        files = structure.get("in_network_files")
        listed = structure.get("reporting_plans")
        for url in files if isinstance(files, list) else []:
            plans.setdefault(str(url), []).extend(listed if isinstance(listed, list) else [])
    return plans


def expand_sources(
    sources: Iterable[str], summary: IngestSummary | None = None, options: ReadOptions = DEFAULT_OPTIONS
) -> list[TocTarget]:
    """The in-network files behind the sources; a source that cannot be read is a failed line."""
    targets: list[TocTarget] = []
    for source in sources:
        try:
            targets.extend(_expand(source, options))
        except AtlasError as exc:
            if summary is None:
                raise
            summary.failed.append(str(exc))
    return targets


def _expand(source: str, options: ReadOptions) -> Iterator[TocTarget]:
    """A table of contents stands for its in-network files, a zip of several JSON files for its members.

    Locations listed in a table of contents obey :func:`~hcpcs_atlas.sources.tic.net.resolve_location`:
    http(s) only in a downloaded one; local files (relative to it) only with ``allow_local_refs``.
    """
    if Path(source).is_dir():
        raise InputError(source, "a directory, not a file")
    members = list(_members(TocTarget(source)))
    if len(members) > 1 or not is_table_of_contents(source, options):
        yield from members
        return
    toc = read_table_of_contents(source, options)
    plans = _plans_by_file(toc)
    for number, url in enumerate(toc.in_network_urls, 1):
        listed, described = plans.get(url) or toc.reporting_plans, toc.descriptions.get(url)
        try:
            location = resolve_location(url, source, options.allow_local_refs)
        except FetchError as exc:
            why = f"{source}: in-network file {number} of the table of contents: {exc}"
            yield TocTarget(url, listed, described, refused=why)
            continue
        yield from _members(TocTarget(location, listed, described))


def _members(target: TocTarget) -> Iterator[TocTarget]:
    """A local zip with several JSON files: each member is a file of its own."""
    members = zip_members(target.location)
    if len(members) < 2:
        yield target
        return
    for member in members:
        yield TocTarget(ZipMember(target.location, member), target.reporting_plans, target.description)


def parse_date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None


#: A selection of more codes than this (the default: every HCPCS code in the store) is recorded as "all".
LISTED_CODES_MAX = 500


def selection(keep: Callable[[str], bool]) -> frozenset[str] | None:
    """The codes ``keep`` keeps, or None for "every Level II code" (recorded with each file)."""
    codes = getattr(keep, "__self__", None)
    if isinstance(codes, (set, frozenset)) and len(codes) <= LISTED_CODES_MAX:
        return frozenset(str(c) for c in codes)
    return None


def _kept_before(store: Store, sha256: str) -> tuple[int, frozenset[str] | None] | None:
    """(file_id, codes it was ingested for; None: every code) of a file already ingested."""
    row = store.con.execute(
        "SELECT file_id, json_extract(meta, '$.codes') FROM source_files WHERE source = 'tic' AND sha256 = ?",
        [sha256],
    ).fetchone()
    if row is None:
        return None
    codes = orjson.loads(row[1]) if row[1] is not None else None
    return int(row[0]), frozenset(codes) if isinstance(codes, list) else None


def _store_file(
    store: Store, tf: TicFile, payer: str, plan: str | None, target: TocTarget, codes: frozenset[str] | None
) -> int:
    record = FileRecord(
        source="tic",
        file_name=tf.file_name,
        location=tf.source,
        sha256=tf.sha256,
        size_bytes=tf.bytes_read,
        format="json",
        effective_start=parse_date(tf.last_updated_on),
        effective_end=None,
        meta={"payer": payer, "version": tf.version, "codes": sorted(codes) if codes is not None else "all"},
    )
    rows = tf.staged.rows if tf.staged is not None else len(tf.rows)
    with store.transaction():
        file_id = store.add_file(record, rows)
        store.insert_rows("core_tic_files", [file_row(tf, payer, plan, target)], file_id=file_id)
        if tf.staged is not None:
            _insert_staged(store, tf.staged, file_id, payer)
        else:
            store.insert_rows("core_tic_rates", tf.rows, file_id=file_id, payer=payer)
    return file_id


#: Rows are price x provider: one join makes them from the staged prices and provider sets. Ordered by
#: code, so a code's rows sit together in few row groups, which DuckDB's min/max zone maps then skip to.
_INSERT_STAGED = """
INSERT INTO core_tic_rates
SELECT $file_id, $payer, p.billing_code, p.billing_code_type, p.negotiation_arrangement, p.negotiated_type,
       p.negotiated_rate, p.expiration_date, p.billing_class, p.setting,
       s.codes, m.codes, p.additional_information, g.provider_group_id, g.tin_type, g.tin_value, g.npis,
       g.network_names
FROM read_parquet($prices) p
JOIN read_parquet($providers) g ON g.pset = p.pset
JOIN read_parquet($lists) s ON s.id = p.service_code
JOIN read_parquet($lists) m ON m.id = p.billing_code_modifier

"""


#: DuckDB's memory for the staged join and insert. 100 MB: the real HealthSCOPE file peaked at 406 MB
#: with 200 MB (the insert added 160 MB over the staging's own peak; 84 MB now) for +0.8 CPU-s (4.5 ->
#: 5.3 s) on the 1 GB realistic file's 1.3 M rows.
INSERT_MEMORY = "100MB"


def _insert_staged(
    store: Store, staged: StagedRates, file_id: int, payer: str, skip: frozenset[str] | None = None
) -> int:
    """Insert the staged rows (but those of the codes ``skip``, already stored); returns how many."""
    # The joins spill to disk past this: peak memory stays flat whatever the file's size.
    limit = store.con.execute("SELECT current_setting('memory_limit')").fetchone()
    store.con.execute(f"SET memory_limit = '{INSERT_MEMORY}'")
    try:
        return _run_insert(store, staged, file_id, payer, skip)
    finally:
        if limit is not None:
            store.con.execute(f"SET memory_limit = '{limit[0]}'")


def _run_insert(
    store: Store, staged: StagedRates, file_id: int, payer: str, skip: frozenset[str] | None
) -> int:
    before = _rate_count(store, file_id)
    query = _INSERT_STAGED
    if skip is not None:
        query = query.rstrip() + "\nWHERE NOT list_contains($skip, p.billing_code)\n"
    store.con.execute(
        query,
        {"file_id": file_id, "payer": payer, "prices": str(staged.prices),
         "providers": str(staged.providers), "lists": str(staged.lists)}
        | ({"skip": sorted(skip)} if skip is not None else {}),
    )  # fmt: skip
    return _rate_count(store, file_id) - before


def _rate_count(store: Store, file_id: int) -> int:
    row = store.con.execute("SELECT count(*) FROM core_tic_rates WHERE file_id = ?", [file_id]).fetchone()
    return int(row[0]) if row else 0


def _add_codes(
    store: Store, tf: TicFile, file_id: int, old: frozenset[str], codes: frozenset[str] | None
) -> int:
    """A file ingested before for fewer codes: add the rows of the codes it did not keep, and record
    the wider selection (one transaction). Returns the rows added."""
    assert tf.staged is not None
    payer_row = store.con.execute(
        "SELECT json_extract_string(meta, '$.payer') FROM source_files WHERE file_id = ?", [file_id]
    ).fetchone()
    payer = str(payer_row[0]) if payer_row and payer_row[0] else "Unknown payer"
    recorded = sorted(old | codes) if codes is not None else "all"
    with store.transaction():
        added = _insert_staged(store, tf.staged, file_id, payer, skip=old)
        store.con.execute(
            "UPDATE source_files SET row_count = row_count + ?, meta = json_merge_patch(meta, ?) WHERE file_id = ?",
            [added, orjson.dumps({"codes": recorded}).decode(), file_id],
        )
    return added


def file_row(tf: TicFile, payer: str, plan: str | None, target: TocTarget) -> dict[str, object]:
    return {
        "payer": payer,
        "plan_label": plan,
        "reporting_entity_name": tf.reporting_entity_name,
        "reporting_entity_type": tf.reporting_entity_type,
        "last_updated_on": parse_date(tf.last_updated_on),
        "version": tf.version,
        "plan_name": tf.plan_name,
        "plan_id": tf.plan_id,
        "plan_market_type": tf.plan_market_type,
        "issuer_name": tf.issuer_name,
        "plan_sponsor_name": tf.plan_sponsor_name,
        "network_name": tf.network_name,
        "items_seen": tf.items_seen,
        "items_kept": tf.items_kept,
        "remote_refs_fetched": tf.remote_refs_fetched,
        "remote_refs_failed": len(tf.remote_refs_failed),
        "plan_id_type": tf.plan_id_type,
        "reporting_plans": _plans_json(target.reporting_plans or tf.reporting_plans),
    }


def _plans_json(plans: list[dict[str, object]] | list[dict[str, Any]] | None) -> str | None:
    return orjson.dumps(plans).decode() if plans else None


def payer_of(tf: TicFile, payer: str | None) -> tuple[str, str | None]:
    name, plan = resolve_payer(payer or tf.reporting_entity_name or tf.issuer_name)
    if payer and plan is None:
        # --payer names the payer; the file's own entity can still say which BCBS plan it is.
        _, plan = resolve_payer(tf.reporting_entity_name)
    return name or "Unknown payer", plan


def ingest_tic(
    store: StoreOrOpener,
    sources: Iterable[str],
    keep: Callable[[str], bool],
    payer: str | None = None,
    progress: Callable[[str, int | None], Progress] | None = None,
    jobs: int = 1,
    plan_filter: str | None = None,
    max_files: int | None = None,
    options: ReadOptions = DEFAULT_OPTIONS,
) -> IngestSummary:
    """Read the files in ``jobs`` worker processes (``keep`` must then pickle: a set's ``__contains__``
    or a module function); this process alone writes, one transaction per file, in the order given."""
    summary = IngestSummary()
    targets = expand_sources(sources, summary, options)
    summary.failed += [t.refused for t in targets if t.refused is not None]
    targets = [t for t in targets if t.refused is None]
    if plan_filter:
        targets = [t for t in targets if t.matches(plan_filter)]
    targets = targets[:max_files] if max_files is not None else targets
    sizes = [t.size for t in targets]
    label = file_name(targets[0].location) if len(targets) == 1 else f"0/{len(targets)} files"
    bar = progress(label, sum(s or 0 for s in sizes) or None) if progress else None
    with Readers(jobs, len(targets), keep, options) as readers:
        for done, (target, outcome) in enumerate(readers.read(targets, bar), start=1):
            with writing(store) as writer:
                _commit(writer, target, outcome, payer, summary, selection(keep))
            if bar is not None and len(targets) > 1:
                bar.label = f"{done}/{len(targets)} files"
    if bar is not None:
        bar.close()
    return summary


def _commit(
    store: Store,
    target: TocTarget,
    outcome: TicFile | str,
    payer: str | None,
    summary: IngestSummary,
    codes: frozenset[str] | None,
) -> None:
    """Store one file read. A file is known by its sha256 and the codes it was ingested for: the same
    file again for codes it did not keep adds those codes' rows (never the same rows twice)."""
    if isinstance(outcome, str):
        summary.failed.append(outcome)
        return
    summary.refs_failed += len(outcome.remote_refs_failed)
    if outcome.prices_skipped_by:
        summary.prices_skipped[outcome.file_name] = outcome.prices_skipped_by
    before = _kept_before(store, outcome.sha256)
    if before is not None:
        file_id, old = before
        if old is None or (codes is not None and codes <= old) or outcome.staged is None:
            summary.unchanged.append(outcome.file_name)
            return
        added = _add_codes(store, outcome, file_id, old, codes)
        summary.ingested.append((f"{outcome.file_name} (codes not kept before)", added))
        return
    name, plan = payer_of(outcome, payer)
    _store_file(store, outcome, name, plan, target, codes)
    summary.ingested.append((outcome.file_name, outcome.staged.rows if outcome.staged else 0))
    summary.rows_without_provider += outcome.staged.rows_without_provider if outcome.staged else 0


class _Tally(Progress):
    """A reader's progress, added to counters shared by all readers (bytes, items seen, items kept) that
    the writer's bar shows; in this process (one job) it draws that bar itself."""

    def __init__(self, counter: Any, bar: Progress | None = None) -> None:
        super().__init__("")
        self.counter, self.bar, self.sent = counter, bar, [0, 0, 0]

    def update(
        self, *, bytes_done: int | None = None, items: int | None = None, kept: int | None = None
    ) -> None:
        with self.counter.get_lock():
            for index, value in enumerate((bytes_done, items, kept)):
                if value is not None and value > self.sent[index]:
                    self.counter[index] += value - self.sent[index]
                    self.sent[index] = value
        if self.bar is not None:
            _show(self.bar, self.counter)


def _show(bar: Progress, counter: Any) -> None:
    bar.update(bytes_done=counter[0], items=counter[1], kept=counter[2])


_COUNTER: Any = None  # a worker's shared byte counter, set by _init_worker


def _init_worker(counter: Any) -> None:
    global _COUNTER
    _COUNTER = counter


def _stage(
    location: str,
    keep: Callable[[str], bool],
    staging: str,
    options: ReadOptions,
    tally: _Tally | None = None,
) -> TicFile | str:
    """Read one file into its staging folder; a failure is its one-line message (the others go on)."""
    try:
        return stage_in_network(location, keep, Path(staging), tally or _Tally(_COUNTER), options=options)
    except AtlasError as exc:
        return str(exc)
    except Exception as exc:
        return f"{location}: failed: {type(exc).__name__}: {exc}"


def worker_tally() -> Progress:
    """In a worker process: a reader's progress, added to the counters the writer's bar shows."""
    return _Tally(_COUNTER)


def _check_pickles(*functions: Callable[..., Any]) -> None:
    """Worker processes get ``keep`` and ``stage`` by pickling: a lambda or a closure would make the
    pool fail in a way that hangs the reading loop, so it is refused before any work starts."""
    import pickle

    for function in functions:
        try:
            pickle.dumps(function)
        except (pickle.PicklingError, AttributeError, TypeError) as exc:
            name = getattr(function, "__qualname__", repr(function))
            raise ValueError(
                f"{name} cannot be sent to worker processes ({exc}); with jobs > 1 pass a module-level "
                "function or a set's __contains__"
            ) from None


class Readers:
    """Reads files in this process (one job or one file) or in a pool of worker processes.

    ``stage(location, keep, folder, options, tally)`` reads one file into its staging folder and returns
    what the writer stores, or a failure's one-line message: TiC's by default, ``ingest hospital`` its own.
    """

    def __init__(
        self,
        jobs: int,
        files: int,
        keep: Callable[[str], bool],
        options: ReadOptions,
        stage: Callable[..., Any] | None = None,
    ) -> None:
        import multiprocessing

        self.keep, self.options, self.stage = keep, options, stage or _stage
        self.context = multiprocessing.get_context("spawn")  # no fork of a process holding DuckDB
        self.counter = self.context.Array("q", 3)
        self.workers = max(1, min(jobs, files))
        if self.workers > 1:
            _check_pickles(keep, self.stage)
        self.pool: Any = None
        self.root = tempfile.TemporaryDirectory(prefix="tic-stage-")

    def __enter__(self) -> Readers:
        if self.workers > 1:
            from concurrent.futures import ProcessPoolExecutor

            self.pool = ProcessPoolExecutor(
                self.workers, mp_context=self.context, initializer=_init_worker, initargs=(self.counter,)
            )
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
        self.root.cleanup()

    def read(self, targets: list[T], bar: Progress | None) -> Iterator[tuple[T, Any]]:
        """(target, staged file or error line), in the order given, each staging folder removed after."""
        folders = [Path(self.root.name) / str(i) for i in range(len(targets))]
        for folder in folders:
            folder.mkdir()
        if self.pool is None:
            for target, folder in zip(targets, folders, strict=True):
                tally = _Tally(self.counter, bar)
                yield target, self.stage(target.location, self.keep, str(folder), self.options, tally)
                shutil.rmtree(folder, ignore_errors=True)
            return
        futures = [
            self.pool.submit(self.stage, t.location, self.keep, str(f), self.options)
            for t, f in zip(targets, folders, strict=True)
        ]
        for target, folder, future in zip(targets, folders, futures, strict=True):
            while not future.done():
                wait([future], timeout=0.2)
                if bar is not None:
                    _show(bar, self.counter)
            if bar is not None:
                _show(bar, self.counter)  # the file's last bytes, counted after the last look
            yield target, future.result()
            shutil.rmtree(folder, ignore_errors=True)


# --- named questions the facts ask ------------------------------------------------------------------------


class RateObservationRow(NamedTuple):
    """One stored rate of a code with what the methodology needs of its file."""

    payer: str
    tin_value: str | None
    billing_class: str | None
    negotiated_rate: float
    negotiated_type: str  # lower case
    modifiers: list[str] | None
    service_codes: list[str] | None
    npis: list[int] | None
    expiration_date: str | None
    last_updated_on: date | None
    plan: str  # the BCBS plan label, else the reporting entity, else the payer
    file_id: int


class PayerSourceRow(NamedTuple):
    file_name: str
    last_updated_on: date | None
    reporting_entity_name: str | None
    sha256: str


_RATE_OBSERVATIONS = """
SELECT r.payer, r.tin_value, r.billing_class, r.negotiated_rate, lower(r.negotiated_type),
       r.modifiers, r.service_codes, r.npis, r.expiration_date, t.last_updated_on,
       coalesce(t.plan_label, t.reporting_entity_name, r.payer), r.file_id
FROM core_tic_rates r JOIN core_tic_files t USING (file_id)
WHERE r.billing_code = ?
"""


def rate_observations(store: Store, code: str) -> list[RateObservationRow]:
    return [RateObservationRow(*row) for row in store.con.execute(_RATE_OBSERVATIONS, [code]).fetchall()]


def codes_with_rates(store: Store) -> set[str]:
    return {
        row[0] for row in store.con.execute("SELECT DISTINCT billing_code FROM core_tic_rates").fetchall()
    }


def has_code_rates(store: Store, code: str) -> bool:
    """Whether any rate of ``code`` is stored: the first row found ends it (1-2 ms at 100 M rows, where
    the set of every code takes 0.5 s)."""
    return bool(
        store.con.execute("SELECT 1 FROM core_tic_rates WHERE billing_code = ? LIMIT 1", [code]).fetchall()
    )


def files_with_code(store: Store, code: str) -> set[int]:
    rows = store.con.execute("SELECT DISTINCT file_id FROM core_tic_rates WHERE billing_code = ?", [code])
    return {file_id for (file_id,) in rows.fetchall()}


def payer_sources(store: Store, file_ids: set[int]) -> list[PayerSourceRow]:
    rows = store.con.execute(
        "SELECT f.file_name, t.last_updated_on, t.reporting_entity_name, f.sha256 FROM source_files f "
        "JOIN core_tic_files t USING (file_id) WHERE file_id IN (SELECT unnest(?)) ORDER BY f.file_name",
        [sorted(file_ids)],
    ).fetchall()
    return [PayerSourceRow(*row) for row in rows]


def payer_codes(store: Store) -> dict[str, list[str]]:
    """Every payer with ingested rates and the codes it has rates for, sorted."""
    rows = store.con.execute(
        "SELECT DISTINCT payer, billing_code FROM core_tic_rates ORDER BY payer, billing_code"
    ).fetchall()
    result: dict[str, list[str]] = {}
    for payer, code in rows:
        result.setdefault(str(payer), []).append(str(code))
    return result
