"""Ingest Transparency-in-Coverage in-network files: one file, one transaction; failures don't stop the rest."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import wait
from contextlib import ExitStack
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
from ..sources.tic.model import PART_IDS
from ..sources.tic.net import DEFAULT_OPTIONS, FetchError, ReadOptions, resolve_location
from ..sources.tic.stream import ZipMember, file_name, zip_members
from .db import FileRecord, Store, StoreOrOpener, memory_limit, not_stored, settings, writing
from .payers import resolve_payer
from .tic_summary import forget_summaries

__all__ = [
    "SET_OF_ROW",
    "IngestSummary",
    "PayerSourceRow",
    "RateObservationRow",
    "Readers",
    "TocTarget",
    "appended_in_order",
    "code_ranges",
    "codes_with_rates",
    "compact_if_due",
    "compact_rates",
    "drop_new_sets",
    "expand_sources",
    "file_row",
    "file_sources",
    "files_with_code",
    "has_code_rates",
    "has_rate_rows",
    "ingest_tic",
    "insert_interned",
    "insert_listed",
    "insert_rate_rows",
    "intern_lists",
    "keep_codes",
    "lists_of",
    "migrate_list_ids",
    "migrate_provider_sets",
    "needs_compaction",
    "new_provider_sets",
    "parse_date",
    "payer_codes",
    "payer_of",
    "rate_observations",
    "staged_files",
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
    compacted: int = 0  # rate rows rewritten in code order after the files (compact_if_due)
    compaction_error: str | None = None  # it failed (store as it was before it): the files stay stored


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
            insert_rate_rows(store, tf.rows, file_id=file_id, payer=payer)
    return file_id


def _set_id(alias: str) -> str:
    """A staged provider set's id in the store: numbered after the file's sets stored before
    (``$first_pset``), a helper's sets (from ``PART_IDS``) after the main process's (``$main_sets``), so
    that the ids of a file ingested again for more codes stay far within INTEGER."""
    pset = f"{alias}.pset"
    return f"$first_pset + CASE WHEN {pset} >= $part_ids THEN {pset} - $part_ids + $main_sets ELSE {pset} END"


#: How many ids the main process's sets take: the helper's are numbered after them.
_MAIN_SETS = """
SELECT coalesce(max(pset) FILTER (WHERE pset < $part_ids), -1) + 1 FROM read_parquet($providers)
"""

#: The staged prices as they are, each with its provider set's id (:func:`_set_id`): copying each set's
#: groups into every price of it was 90% of the insert (8.2 against 0.93 CPU-s, 386 against 8 MB of
#: store on the 1 GB realistic file; docs/formats.md). A price
#: whose set has no group makes no row, as the join of price and group never did. A staged list id (per
#: file) becomes the store's id of the same list (core_tic_lists, filled first by intern_lists).
_INSERT_STAGED = f"""
INSERT INTO core_tic_rate_rows
WITH ids AS MATERIALIZED (
    SELECT x.id, l.list_id FROM read_parquet($lists) x JOIN core_tic_lists l ON l.codes = x.codes
)
SELECT $file_id, $payer, p.billing_code, p.billing_code_type, p.negotiation_arrangement, p.negotiated_type,
       p.negotiated_rate, p.expiration_date, p.billing_class, p.setting,
       s.list_id, m.list_id, p.additional_information, {_set_id("p")}
FROM read_parquet($prices) p
JOIN ids s ON s.id = p.service_code
JOIN ids m ON m.id = p.billing_code_modifier
WHERE p.pset IN (SELECT pset FROM read_parquet($providers)){{skip}}
"""

#: The staged provider sets the inserted prices name (with ``skip``, only those of the prices kept).
_INSERT_STAGED_SETS = f"""
INSERT INTO core_tic_provider_sets
SELECT $file_id, {_set_id("g")}, g.provider_group_id, g.tin_type, g.tin_value, g.npis, g.network_names
FROM read_parquet($providers) g{{used}}
"""

#: The rows the view makes of the prices inserted (price x group), counted on the staged pset columns: a
#: count of the store's rows of the file would scan its file_id in every row group of a compacted store.
_STAGED_COUNT = """
SELECT count(*) FROM read_parquet($prices) p JOIN read_parquet($providers) g ON g.pset = p.pset{skip}
"""

_SKIP = "\nAND NOT list_contains($skip, p.billing_code)"
_USED = "\nWHERE g.pset IN (SELECT pset FROM read_parquet($prices) p WHERE NOT list_contains($skip, p.billing_code))"

#: Prices per provider set, of the sets with a reference never resolved (``StagedRates.unresolved``).
_PRICES_OF_SETS = """
SELECT pset, count(*) FROM read_parquet($prices) p WHERE list_contains($psets, p.pset){skip} GROUP BY pset
"""

#: Lists not stored yet get the next ids (one writer at a time: the store's lock).
_INTERN = """
INSERT INTO core_tic_lists
SELECT (SELECT coalesce(max(list_id), 0) FROM core_tic_lists) + row_number() OVER (ORDER BY codes), codes
FROM (SELECT DISTINCT codes FROM {source} WHERE codes IS NOT NULL) n
WHERE NOT EXISTS (SELECT 1 FROM core_tic_lists l WHERE l.codes = n.codes)
"""


#: The provider groups of rows that carry them (the core_tic_rates view's columns): each distinct group of a
#: file is a set of its own, numbered after the file's sets stored before (more codes of a file ingested
#: again), in the groups' order, so the same rows always give the same ids.
_NEW_SETS = """
CREATE OR REPLACE TEMP TABLE tic_new_sets AS
SELECT n.file_id, (coalesce(o.last, -1) + row_number() OVER (
           PARTITION BY n.file_id ORDER BY n.provider_group_id, n.tin_type, n.tin_value, n.npis, n.network_names
       ))::INTEGER AS pset,
       n.provider_group_id, n.tin_type, n.tin_value, n.npis, n.network_names
FROM (SELECT DISTINCT file_id, provider_group_id, tin_type, tin_value, npis, network_names FROM {source}) n
LEFT JOIN (SELECT file_id, max(pset) AS last FROM core_tic_provider_sets GROUP BY file_id) o USING (file_id)
"""

#: A row's set among tic_new_sets: equal groups, a missing value equal to a missing one.
SET_OF_ROW = """JOIN temp.tic_new_sets g ON g.file_id = r.file_id
    AND g.provider_group_id IS NOT DISTINCT FROM r.provider_group_id AND g.tin_type IS NOT DISTINCT FROM r.tin_type
    AND g.tin_value IS NOT DISTINCT FROM r.tin_value AND g.npis IS NOT DISTINCT FROM r.npis
    AND g.network_names IS NOT DISTINCT FROM r.network_names"""

#: Rate rows that carry their lists and provider groups (the core_tic_rates view's columns) into the table
#: of list and set ids (tic_new_sets made first: :func:`new_provider_sets`).
_FROM_LISTED = f"""
INSERT INTO core_tic_rate_rows
SELECT r.file_id, r.payer, r.billing_code, r.billing_code_type, r.negotiation_arrangement, r.negotiated_type,
       r.negotiated_rate, r.expiration_date, r.billing_class, r.setting, s.list_id, m.list_id,
       r.additional_information, g.pset
FROM {{source}} r
{SET_OF_ROW}
LEFT JOIN core_tic_lists s ON s.codes = r.service_codes
LEFT JOIN core_tic_lists m ON m.codes = r.modifiers
{{order}}
"""

#: Rate rows of schema 2 and 3 (list ids, provider groups in each row) into the table of set ids.
_FROM_PROVIDED = f"""
INSERT INTO core_tic_rate_rows
SELECT r.file_id, r.payer, r.billing_code, r.billing_code_type, r.negotiation_arrangement, r.negotiated_type,
       r.negotiated_rate, r.expiration_date, r.billing_class, r.setting, r.service_codes_id, r.modifiers_id,
       r.additional_information, g.pset
FROM {{source}} r
{SET_OF_ROW}
{{order}}
"""


def new_provider_sets(store: Store, source: str, params: list[Any] | dict[str, Any] | None = None) -> None:
    """Store the provider groups of ``source`` (a table expression with ``file_id`` and the five provider
    columns of core_tic_rates) as sets of one group, and keep them in temp.tic_new_sets for the insert
    of its rows (:data:`_FROM_LISTED`); :func:`drop_new_sets` after."""
    store.con.execute(_NEW_SETS.format(source=source), params)
    store.con.execute(
        "INSERT INTO core_tic_provider_sets SELECT file_id, pset, provider_group_id, tin_type, tin_value, npis, "
        "network_names FROM temp.tic_new_sets ORDER BY file_id, pset"
    )


def drop_new_sets(store: Store) -> None:
    store.con.execute("DROP TABLE IF EXISTS temp.tic_new_sets")


def lists_of(source: str) -> str:
    """Every list of ``source`` (rows with lists, as core_tic_rates has them), as a ``codes`` column."""
    return f"(SELECT service_codes AS codes FROM {source} UNION SELECT modifiers FROM {source})"


def insert_listed(store: Store, source: str, params: list[Any] | dict[str, Any] | None = None) -> None:
    """Insert the rows of ``source`` (a table expression with the core_tic_rates view's columns)."""
    intern_lists(store, lists_of(source), params)
    forget_summaries(store, source, params)
    new_provider_sets(store, source, params)
    insert_interned(store, source, params)
    drop_new_sets(store)


def insert_interned(store: Store, source: str, params: list[Any] | dict[str, Any] | None = None) -> None:
    """:func:`insert_listed` once the lists of ``source`` are interned, its codes' summaries forgotten and
    its provider groups stored (:func:`new_provider_sets`)."""
    store.con.execute(_FROM_LISTED.format(source=source, order=""), params)


#: Rewriting every rate row in code order goes a range of codes at a time, about this many rows each: a
#: range's sort fits in DuckDB's memory (REWRITE_MEMORY), where one sort of 100 M rows ran out of it at
#: 300 MB after 5 minutes; each range costs one more scan of the billing_code column (~0.3 s at 100 M).
#: 100 M rows: 238 s CPU, peak RSS 362 MB at 200 MB (408 MB at 250 MB; docs/formats.md).
REWRITE_ROWS = 1_000_000
REWRITE_MEMORY = "200MB"


def code_ranges(counts: Iterable[tuple[str, int]], rows: int = REWRITE_ROWS) -> list[tuple[str, str]]:
    """(first, last) codes of consecutive ranges of about ``rows`` rows; ``counts``: (code, rows), sorted."""
    ranges: list[tuple[str, str]] = []
    first, total, last = None, 0, ""
    for code, n in counts:
        if first is not None and total + n > rows:
            ranges.append((first, last))
            first, total = None, 0
        first, total, last = first if first is not None else code, total + n, code
    if first is not None:
        ranges.append((first, last))
    return ranges


def _rewrite_in_code_order(store: Store, source: str, rows_of: str) -> None:
    """Append the rows of table ``source`` to core_tic_rate_rows in (billing_code, file_id) order. Its rows
    are ``rows_of`` "store" (core_tic_rate_rows' columns), "listed" (core_tic_rates' columns, lists
    already interned) or "provided" (schema 3's rate rows: list ids, provider groups); of the last two
    the provider groups are stored first, as sets of one group."""
    counts = store.con.execute(
        f"SELECT billing_code, count(*) FROM {source} GROUP BY 1 ORDER BY 1"
    ).fetchall()
    rows = f"(SELECT * FROM {source} WHERE billing_code BETWEEN $first AND $last)"
    order = "ORDER BY r.billing_code, r.file_id"
    if rows_of == "store":
        query = f"INSERT INTO core_tic_rate_rows SELECT r.* FROM {rows} r {order}"
    else:
        query = (_FROM_LISTED if rows_of == "listed" else _FROM_PROVIDED).format(source=rows, order=order)
    # Minutes of statements of a few seconds each: DuckDB's own progress bar would draw one per range.
    with settings(store, memory_limit=REWRITE_MEMORY, enable_progress_bar=False):
        if rows_of != "store":
            new_provider_sets(store, source)
        for first, last in code_ranges((str(c), int(n)) for c, n in counts):
            store.con.execute(query, {"first": first, "last": last})
    drop_new_sets(store)


def migrate_list_ids(store: Store, schema: str) -> None:
    """Schema 1 -> 4: the rows of the old core_tic_rates table (lists and provider groups in every
    row) into core_tic_rate_rows (list and provider set ids), in billing-code order; the old table's name becomes the view's."""
    store.con.execute("ALTER TABLE core_tic_rates RENAME TO core_tic_rates_v1")
    store.con.execute(schema)
    intern_lists(store, lists_of("core_tic_rates_v1"))
    _rewrite_in_code_order(store, "core_tic_rates_v1", "listed")
    store.con.execute("DROP TABLE core_tic_rates_v1")
    _mark_in_order(store)


def migrate_provider_sets(store: Store, schema: str) -> None:
    """Schema 2 or 3 -> 4: the rows of core_tic_rate_rows (provider groups in every row) into rate rows
    naming a provider set of their file (core_tic_provider_sets), in billing-code order."""
    store.con.execute("DROP VIEW IF EXISTS core_tic_rates")
    store.con.execute("ALTER TABLE core_tic_rate_rows RENAME TO core_tic_rate_rows_v3")
    store.con.execute(schema)
    _rewrite_in_code_order(store, "core_tic_rate_rows_v3", "provided")
    store.con.execute("DROP TABLE core_tic_rate_rows_v3")
    _mark_in_order(store)


def _mark_in_order(store: Store) -> None:
    """Every rate row and file stored now is in code order (see :func:`compact_rates`)."""
    store.con.execute(
        "INSERT OR REPLACE INTO atlas_meta VALUES ('tic_rows_in_order', "
        "(SELECT count(*) FROM core_tic_rate_rows)::VARCHAR), ('tic_files_in_order', "
        "(SELECT count(*) FROM core_tic_files)::VARCHAR)"
    )


def has_rate_rows(store: Store) -> bool:
    return bool(store.con.execute("SELECT 1 FROM core_tic_rate_rows LIMIT 1").fetchall())


def appended_in_order(store: Store, files: int, had_rows: bool) -> None:
    """The rows of ``files`` files were just appended in code order, as one run (an attached Spark
    dataset): into a store without rate rows they are the whole table in order; else they count as ONE
    file toward :func:`needs_compaction` (a code's rows are in a row group or two of the run)."""
    if not had_rows:
        _mark_in_order(store)
        return
    store.con.execute(
        "INSERT OR REPLACE INTO atlas_meta SELECT 'tic_files_in_order', (coalesce(("
        "SELECT value FROM atlas_meta WHERE key = 'tic_files_in_order')::BIGINT, 0) + ?)::VARCHAR",
        [files - 1],
    )


def compact_rates(store: Store) -> int:
    """Rewrite every rate row in billing-code order, in one transaction; returns how many (prices: a row
    of core_tic_rate_rows; the core_tic_rates view has one per price and provider group).

    Each file's rows arrive in its own order, after those of the files before: a code's rows sit in a
    row group of every file (~1 ms each to look at, at 100 M rows). In code order they sit in one or two,
    found by DuckDB's zone maps without reading the others (docs/scale.md).
    """
    from .db import schema_sql

    with store.transaction():
        store.con.execute("ALTER TABLE core_tic_rate_rows RENAME TO core_tic_rate_rows_old")
        store.con.execute(schema_sql())
        _rewrite_in_code_order(store, "core_tic_rate_rows_old", "store")
        store.con.execute("DROP TABLE core_tic_rate_rows_old")
        _mark_in_order(store)
    # the prices rewritten: counting the view's rows (price x provider group) took 12 CPU-s and 556 MB at
    # 100 M rows, for a number the user only reads
    row = store.con.execute("SELECT count(*) FROM core_tic_rate_rows").fetchone()
    return int(row[0]) if row else 0


#: Compaction runs after an ingest when at least this share of the rows (and two files) came after the last
#: one: each row is rewritten a bounded number of times (geometric growth), and facts reads at most the
#: row groups of those files besides its one or two.
COMPACT_SHARE = 0.25


def needs_compaction(store: Store) -> bool:
    """Whether rows of 2 or more files, and COMPACT_SHARE of all rows, came after the last compaction."""
    row = store.con.execute(
        "SELECT (SELECT count(*) FROM core_tic_rate_rows), (SELECT count(*) FROM core_tic_files), "
        "(SELECT value FROM atlas_meta WHERE key = 'tic_rows_in_order'), "
        "(SELECT value FROM atlas_meta WHERE key = 'tic_files_in_order')"
    ).fetchone()
    assert row is not None
    rows, files = int(row[0]), int(row[1])
    tail_rows, tail_files = rows - int(row[2] or 0), files - int(row[3] or 0)
    return tail_files >= 2 and tail_rows > 0 and tail_rows >= COMPACT_SHARE * rows


def compact_if_due(store: StoreOrOpener) -> tuple[int, str | None]:
    """Compact when :func:`needs_compaction` says so: (rows rewritten, 0 when not due; the error when it
    failed). Compaction only speeds reads up, and a failed one leaves the store as it was, so the files
    committed before stay stored and the next ingest tries again."""
    import duckdb

    try:
        with writing(store) as writer:
            return (compact_rates(writer) if needs_compaction(writer) else 0), None
    except duckdb.Error as exc:
        return 0, str(exc).splitlines()[0]


def insert_rate_rows(store: Store, rows: Iterable[Any], **constants: Any) -> int:
    """Insert rate rows given as objects with lists (a reader's rows, tests); returns how many."""
    store.con.execute("CREATE OR REPLACE TEMP TABLE tic_rows_in AS FROM core_tic_rates LIMIT 0")
    count = store.insert_rows("tic_rows_in", rows, **constants)
    insert_listed(store, "temp.tic_rows_in")
    # on failure, the transaction's rollback drops it
    store.con.execute("DROP TABLE IF EXISTS temp.tic_rows_in")
    return count


def intern_lists(store: Store, source: str, params: list[Any] | dict[str, Any] | None = None) -> None:
    """Give every list of ``source`` (a table expression with a ``codes`` column) a store-wide id."""
    store.con.execute(_INTERN.format(source=source), params)


#: DuckDB's memory for the staged join and insert. 100 MB: the real HealthSCOPE file peaked at 406 MB
#: with 200 MB (the insert added 160 MB over the staging's own peak; 84 MB now) for +0.8 CPU-s (4.5 ->
#: 5.3 s) on the 1 GB realistic file's 1.3 M rows.
INSERT_MEMORY = "100MB"


def _insert_staged(
    store: Store, staged: StagedRates, file_id: int, payer: str, skip: frozenset[str] | None = None
) -> int:
    """Insert the staged rows (but those of the codes ``skip``, already stored); returns how many."""
    with memory_limit(store, INSERT_MEMORY):
        return _run_insert(store, staged, file_id, payer, skip)


def staged_files(staged: StagedRates) -> dict[str, Any]:
    """The ``$prices``, ``$providers`` and ``$lists`` parameters of a query over a staged file."""
    return {"prices": staged.prices, "providers": str(staged.providers), "lists": str(staged.lists)}


def _run_insert(
    store: Store, staged: StagedRates, file_id: int, payer: str, skip: frozenset[str] | None
) -> int:
    """Insert the staged prices and the sets they name; returns the rows they make (price x group)."""
    intern_lists(store, "read_parquet($lists)", {"lists": str(staged.lists)})
    files = staged_files(staged)
    forget_summaries(store, "read_parquet($prices)", {"prices": staged.prices})
    first = 0
    if skip is not None:  # more codes of a file stored before: its new sets come after its old ones
        row = store.con.execute(
            "SELECT coalesce(max(pset), -1) + 1 FROM core_tic_provider_sets WHERE file_id = ?", [file_id]
        ).fetchone()
        first = int(row[0]) if row else 0
    skipping = {"skip": sorted(skip)} if skip is not None else {}
    con = store.con
    ids = {"part_ids": PART_IDS, "providers": files["providers"]}
    main_sets = con.execute(_MAIN_SETS, ids).fetchone()
    ids |= {"file_id": file_id, "first_pset": first, "main_sets": int(main_sets[0]) if main_sets else 0}
    con.execute(
        _INSERT_STAGED_SETS.format(used=_USED if skip is not None else ""),
        ids | ({"prices": files["prices"]} | skipping if skip is not None else {}),
    )
    con.execute(
        _INSERT_STAGED.format(skip=_SKIP if skip is not None else ""),
        ids | {"payer": payer, **files, **skipping},
    )
    if skip is None:
        return staged.rows
    row = con.execute(
        _STAGED_COUNT.format(skip=_SKIP.replace("AND", "WHERE")),
        {"prices": files["prices"], "providers": files["providers"], **skipping},
    ).fetchone()
    return int(row[0]) if row else 0


def _add_codes(
    store: Store, tf: TicFile, file_id: int, old: frozenset[str], codes: frozenset[str] | None
) -> tuple[int, int]:
    """A file ingested before for fewer codes: add the rows of the codes it did not keep, and record
    the wider selection (one transaction). Returns the rows added and, of those, the rows without a
    provider (a reference never resolved)."""
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
        unresolved = _unresolved_rows(store, tf.staged, old)  # read before the commit: all or nothing
    return added, unresolved


def _unresolved_rows(store: Store, staged: StagedRates, skip: frozenset[str]) -> int:
    """The staged rows, but those of the codes ``skip``, of a reference never resolved."""
    if not staged.unresolved:
        return 0
    counts = store.con.execute(
        _PRICES_OF_SETS.format(skip=_SKIP),
        {"prices": staged.prices, "psets": sorted(staged.unresolved), "skip": sorted(skip)},
    ).fetchall()
    return sum(staged.unresolved[int(pset)] * int(prices) for pset, prices in counts)


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
    after: Callable[[Store, IngestSummary], None] | None = None,
) -> IngestSummary:
    """Read the files in ``jobs`` worker processes (``keep`` must then pickle: a set's ``__contains__``
    or a module function); this process alone writes, one transaction per file, in the order given.
    When anything was stored, the store is compacted if due and ``after`` (the CLI's payer summaries) runs,
    in the last file's opening: each opening of a store given as an opener costs ~0.04-0.2 s."""
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
    with ExitStack() as held:
        opened: Store | None = None
        with Readers(jobs, len(targets), keep, options) as readers:
            for done, (target, outcome) in enumerate(readers.read(targets, bar), start=1):
                if isinstance(outcome, str):  # a failed file: nothing to write
                    summary.failed.append(outcome)
                elif done < len(targets):  # the store stays closed while the next file is read
                    with writing(store) as writer:
                        _commit(writer, target, outcome, payer, summary, selection(keep))
                else:  # the last file's opening serves what follows
                    opened = held.enter_context(writing(store))
                    _commit(opened, target, outcome, payer, summary, selection(keep))
                if bar is not None and len(targets) > 1:
                    bar.label = f"{done}/{len(targets)} files"
        if bar is not None:
            bar.close()
        if summary.ingested:
            writer = opened or held.enter_context(writing(store))
            summary.compacted, summary.compaction_error = compact_if_due(writer)
            if after is not None:
                after(writer, summary)
    return summary


def _commit(
    store: Store,
    target: TocTarget,
    outcome: TicFile,
    payer: str | None,
    summary: IngestSummary,
    codes: frozenset[str] | None,
) -> None:
    """Store one file read. A file is known by its sha256 and the codes it was ingested for: the same
    file again for codes it did not keep adds those codes' rows (never the same rows twice). A store
    error (disk full, a limit) fails this file alone, with one line: its transaction is rolled back, it
    adds nothing to the run's counts, and the other files go on."""
    import duckdb

    try:
        before = _kept_before(store, outcome.sha256)
        if before is None:
            name, plan = payer_of(outcome, payer)
            _store_file(store, outcome, name, plan, target, codes)
            stored = outcome.staged.rows if outcome.staged else 0
            summary.ingested.append((outcome.file_name, stored))
            summary.rows_without_provider += outcome.staged.rows_without_provider if outcome.staged else 0
        elif (old := before[1]) is None or (codes is not None and codes <= old) or outcome.staged is None:
            summary.unchanged.append(outcome.file_name)
        else:
            added, unresolved = _add_codes(store, outcome, before[0], old, codes)
            summary.ingested.append((f"{outcome.file_name} (codes not kept before)", added))
            summary.rows_without_provider += unresolved
    except duckdb.Error as exc:
        summary.failed.append(not_stored(outcome.source, exc))
        return
    summary.refs_failed += len(outcome.remote_refs_failed)
    if outcome.prices_skipped_by:
        summary.prices_skipped[outcome.file_name] = outcome.prices_skipped_by


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
        row[0] for row in store.con.execute("SELECT DISTINCT billing_code FROM core_tic_rate_rows").fetchall()
    }


def has_code_rates(store: Store, code: str) -> bool:
    """Whether any rate of ``code`` is stored: the first row found ends it (1-2 ms at 100 M rows, where
    the set of every code takes 0.5 s)."""
    return bool(
        store.con.execute(
            "SELECT 1 FROM core_tic_rate_rows WHERE billing_code = ? LIMIT 1", [code]
        ).fetchall()
    )


def files_with_code(store: Store, code: str) -> set[int]:
    rows = store.con.execute("SELECT DISTINCT file_id FROM core_tic_rate_rows WHERE billing_code = ?", [code])
    return {file_id for (file_id,) in rows.fetchall()}


def file_sources(store: Store, file_ids: set[int]) -> list[tuple[int, PayerSourceRow]]:
    """(file_id, source) of the files, by file name (one query for every payer of a code)."""
    rows = store.con.execute(
        "SELECT file_id, f.file_name, t.last_updated_on, t.reporting_entity_name, f.sha256 FROM source_files f "
        "JOIN core_tic_files t USING (file_id) WHERE file_id IN (SELECT unnest(?)) ORDER BY f.file_name, file_id",
        [sorted(file_ids)],
    ).fetchall()
    return [(int(row[0]), PayerSourceRow(*row[1:])) for row in rows]


def payer_codes(store: Store) -> dict[str, list[str]]:
    """Every payer with ingested rates and the codes it has rates for, sorted."""
    rows = store.con.execute(
        "SELECT DISTINCT payer, billing_code FROM core_tic_rate_rows ORDER BY payer, billing_code"
    ).fetchall()
    result: dict[str, list[str]] = {}
    for payer, code in rows:
        result.setdefault(str(payer), []).append(str(code))
    return result
