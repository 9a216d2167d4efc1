"""Attach a TiC Parquet dataset written by the Spark engine (hcpcs_atlas.spark.ingest) to the store.

The dataset's files manifest becomes source_files + core_tic_files rows and its rates become
core_tic_rate_rows (lists as store-wide ids, each distinct provider group of a file a provider set of its own), so facts, build and serve
read them as if ingested locally. One transaction for the
whole dataset; a file already in the store (same sha256) is left alone, as a local re-ingest would; a
file listed twice (a shared in-network file) is taken once. Rows are read by DuckDB straight from the
Parquet: ``rates/payer=P/code_group=L/`` (billing_code a column of the files; see
:mod:`.parquet_out`), or a dataset written before that layout, ``rates/payer=P/billing_code=C/``
(billing_code the folder, kept as text: code 00100 is not the number 100). A dataset holding both is
refused: it was written into by two versions, and nothing says which files belong to which run.

With ``lists/`` (each file's lists, named by id in its rows) the attach interns those and joins integers;
without (Spark's own writer, an earlier version) it interns and joins the rows' lists themselves. Either
way the rows go in a range of codes at a time, in code order, so the dataset needs no compaction of its
own (:func:`~hcpcs_atlas.store.tic.appended_in_order`; docs/scale.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from ..errors import InputError
from ..sources.tic.model import StagedRates
from .db import FileRecord, Store, memory_limit, settings
from .tic import (
    INSERT_MEMORY,
    SET_OF_ROW,
    appended_in_order,
    code_ranges,
    compact_if_due,
    drop_new_sets,
    has_rate_rows,
    insert_interned,
    intern_lists,
    lists_of,
    new_provider_sets,
    staged_files,
)
from .tic_summary import forget_summaries

__all__ = [
    "RATE_LAYOUTS",
    "AttachSummary",
    "arrow_batches",
    "attach_tic_parquet",
    "layout_parts",
    "sort_manifest",
    "staged_rate_batches",
    "staged_rows",
]


@dataclass
class AttachSummary:
    """What attaching did, in the terms of :class:`~hcpcs_atlas.store.tic.IngestSummary`."""

    ingested: list[tuple[str, int]] = field(default_factory=list)  # (file, rate rows)
    unchanged: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # the errors the Spark run recorded
    refs_failed: int = 0
    rows_without_provider: int = 0  # rows of a provider reference never resolved (TIN, NPIs unknown)
    prices_skipped: dict[str, dict[str, int]] = field(default_factory=dict)  # not counted by the Spark run
    compacted: int = 0  # rate rows rewritten in code order after the dataset (store.tic.compact_if_due)
    compaction_error: str | None = None  # it failed (store as it was before it): the dataset stays attached


#: Manifest columns that are not core_tic_files columns (they go to source_files, or are diagnostics).
_NOT_TIC_FILES = frozenset(
    {
        "location",
        "file_name",
        "sha256",
        "size_bytes",
        "rows",
        "rows_without_provider",
        "error",
        "worker_peak_rss_bytes",
    }
)

_MANIFEST = "SELECT * FROM read_parquet(?) ORDER BY location"

_RATE_COLUMNS = """billing_code_type, negotiation_arrangement, negotiated_type, negotiated_rate,
    expiration_date, billing_class, setting, service_codes, modifiers, additional_information,
    provider_group_id, tin_type, tin_value, npis, network_names"""

#: The new files of the dataset: each (sha256, location) is one file_id of the store.
_NEW_FILES = """(SELECT unnest($sha256) AS sha256, unnest($location) AS location, unnest($ids) AS file_id,
        unnest($payers) AS payer)"""

_PARTS = "read_parquet($parts, hive_partitioning = true, hive_types_autocast = false)"

#: The dataset's rate rows as the core_tic_rates view has them (lists in each row; store.tic interns them).
_DATASET_RATES = f"""(
SELECT f.file_id, f.payer, r.billing_code, {_RATE_COLUMNS}
FROM {_PARTS} r
JOIN {_NEW_FILES} f ON r.sha256 = f.sha256 AND r.location = f.location
{{where}})"""

#: A range of codes of the dataset (the Parquet row groups' billing_code min/max skip the others).
_IN_RANGE = "WHERE r.billing_code BETWEEN $first AND $last"

#: Whether every rate file names its lists by id (written since the lists/ tables): a dataset of Spark's
#: own writer, or of an earlier version, carries only the lists themselves.
_NAMES_LISTS = (
    "SELECT count(DISTINCT file_name) = len($parts) FROM parquet_schema($parts) WHERE name = 'modifiers_id'"
)

#: The new files' lists, by (file_id, the file's own list id), as store-wide ids (interned first).
_LIST_IDS = f"""
CREATE OR REPLACE TEMP TABLE attach_list_ids AS
SELECT f.file_id, l.id, c.list_id
FROM read_parquet($lists) l
JOIN {_NEW_FILES} f ON l.sha256 = f.sha256 AND l.location = f.location
JOIN core_tic_lists c ON c.codes = l.codes
"""

#: A range of the dataset's rows into the store, lists by id: the joins are on integers, and the rows'
#: own lists are not read. Each row names the set of its provider group (stored first:
#: store.tic.new_provider_sets over the whole dataset).
_INSERT_BY_ID = f"""
INSERT INTO core_tic_rate_rows
SELECT r.file_id, r.payer, r.billing_code, r.billing_code_type, r.negotiation_arrangement, r.negotiated_type,
       r.negotiated_rate, r.expiration_date, r.billing_class, r.setting, s.list_id, m.list_id,
       r.additional_information, g.pset
FROM (
    SELECT f.file_id, f.payer, r.billing_code, {_RATE_COLUMNS}, r.service_codes_id, r.modifiers_id
    FROM {_PARTS} r
    JOIN {_NEW_FILES} f ON r.sha256 = f.sha256 AND r.location = f.location
    {_IN_RANGE}
) r
{SET_OF_ROW}
LEFT JOIN temp.attach_list_ids s ON s.file_id = r.file_id AND s.id = r.service_codes_id
LEFT JOIN temp.attach_list_ids m ON m.file_id = r.file_id AND m.id = r.modifiers_id
"""


def attach_tic_parquet(store: Store, root: Path) -> AttachSummary:
    """Add the files and rates of the dataset at ``root`` (``files/`` and ``rates/``) to the store."""
    files = sorted((root / "files").glob("*.parquet"))
    if not files:
        raise InputError(root, "no files manifest (files/*.parquet): not an hcpcs-atlas Spark output")
    parts = layout_parts(root / "rates", RATE_LAYOUTS)
    manifest = _manifest(store, files)
    summary, new = sort_manifest(store, "tic", manifest)
    # capped as a local file's insert: uncapped, 8 files of 5 M rows peaked at 1.7 GB
    with memory_limit(store, INSERT_MEMORY), store.transaction():
        ids = [_add_file(store, entry) for entry in new]
        _insert_rates(store, root, parts, new, ids)
    summary.ingested = [(e["file_name"], int(e["rows"])) for e in new]
    if new:
        summary.compacted, summary.compaction_error = compact_if_due(store)
    summary.refs_failed = sum(int(m["remote_refs_failed"] or 0) for m in manifest)
    summary.rows_without_provider = sum(int(e["rows_without_provider"] or 0) for e in new)
    return summary


def _manifest(store: Store, files: list[Path]) -> list[dict[str, Any]]:
    cursor = store.con.execute(_MANIFEST, [[str(f) for f in files]])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _add_file(store: Store, entry: dict[str, Any]) -> int:
    record = FileRecord(
        source="tic",
        file_name=entry["file_name"],
        location=entry["location"],
        sha256=entry["sha256"],
        size_bytes=entry["size_bytes"],
        format="json",
        effective_start=entry["last_updated_on"],
        effective_end=None,
        meta={"payer": entry["payer"], "version": entry["version"], "engine": "spark"},
    )
    file_id = store.add_file(record, int(entry["rows"]))
    store.insert_rows(
        "core_tic_files", [{k: v for k, v in entry.items() if k not in _NOT_TIC_FILES}], file_id=file_id
    )
    return file_id


#: The two layouts of ``rates/`` (the current one first); the folder's second level names the layout.
RATE_LAYOUTS = ("payer=*/code_group=*/*.parquet", "payer=*/billing_code=*/*.parquet")


def layout_parts(folder: Path, layouts: tuple[str, str]) -> list[str]:
    """The Parquet files under ``folder`` of whichever of ``layouts`` (the current one, then the older
    one) it holds; an error if it holds both."""
    found = [sorted(str(p) for p in folder.glob(layout)) for layout in layouts]
    if all(found):
        older = layouts[1].split("/")[1].removesuffix("*")
        raise InputError(
            folder, f"holds both the code_group= layout and the older {older} layout: write the dataset again"
        )
    return found[0] or found[1]


def _insert_rates(
    store: Store, root: Path, parts: list[str], new: list[dict[str, Any]], ids: list[int]
) -> None:
    """Insert the new files' rows a range of codes at a time, in code order (see :data:`RANGE_ROWS`)."""
    if not (new and parts):
        return
    params = {k: [e[k] for e in new] for k in ("sha256", "location")}
    params |= {"parts": parts, "ids": ids, "payers": [e["payer"] for e in new]}
    dataset = _DATASET_RATES.format(where="")
    lists = sorted(str(p) for p in (root / "lists").glob("*.parquet"))
    by_id = bool(lists) and bool(store.con.execute(_NAMES_LISTS, {"parts": parts}).fetchall()[0][0])
    if by_id:
        files = {k: v for k, v in params.items() if k != "parts"}
        new_lists = (
            f"(SELECT l.codes FROM read_parquet($lists) l JOIN {_NEW_FILES} f USING (sha256, location))"
        )
        intern_lists(store, new_lists, files | {"lists": lists})
        store.con.execute(_LIST_IDS, files | {"lists": lists})
    else:
        intern_lists(store, lists_of(dataset), params)
    counts = store.con.execute(f"SELECT billing_code, count(*) FROM {dataset} GROUP BY 1 ORDER BY 1", params)
    codes = [(str(code), int(n)) for code, n in counts.fetchall()]
    forget_summaries(store, "(SELECT unnest($codes) AS billing_code)", {"codes": [c for c, _ in codes]})
    new_provider_sets(store, dataset, params)
    had_rows = has_rate_rows(store)
    by_group: dict[str, list[str]] = {}
    for part in parts:
        by_group.setdefault(_code_group(part), []).append(part)
    with settings(store, enable_progress_bar=False):  # a bar per range
        for group, counted in groupby(codes, key=lambda c: c[0][:1]):
            for first, last in code_ranges(counted, RANGE_ROWS):
                # no folder of the letter (Spark's name for an empty value, say): every file
                values = params | {"parts": by_group.get(group, parts), "first": first, "last": last}
                if by_id:
                    store.con.execute(_INSERT_BY_ID, values)
                else:
                    insert_interned(store, _DATASET_RATES.format(where=_IN_RANGE), values)
    if by_id:
        store.con.execute("DROP TABLE temp.attach_list_ids")
    drop_new_sets(store)
    appended_in_order(store, len(new), had_rows)


#: Rows a range of codes of the attach: about a DuckDB row group (122,880 rows), so that the ranges,
#: inserted one after another, put each code's rows in one or two row groups of the store, as
#: compaction would (each file's rows are in code order, one file after another, within a range: no sort
#: needed). Each range reads only its letter's files, and in them the row groups of its codes.
RANGE_ROWS = 122_880


def _code_group(part: str) -> str:
    """The letter of a rate file's folder (``code_group=L``, or ``billing_code=C`` in the older layout)."""
    return unquote(Path(part).parent.name.split("=", 1)[1])[:1]


#: The rows of one staged file for the Spark data source: the join of ``store.tic._INSERT_STAGED`` (price
#: x provider), with the data source's columns around it (payer, plan, provenance; with ``records=all``
#: a leading ``record`` and a trailing ``file_info``), in billing-code order: ``$prices`` is the staged
#: prices sorted (narrow; :data:`_SORT_PRICES`), each joins its pset's provider groups as one list (one
#: match, so the join keeps their order) and the list is unnested in place. Sorting the joined rows
#: instead would sort their NPI lists too, which ran out of the 100 MB cap on the HealthSCOPE file; the
#: order is what lets a reader of the Parquet skip row groups by their billing_code min/max (see
#: :mod:`.parquet_out`), never a correctness matter.
_STAGED_ROWS = """
SELECT {record}payer, plan_label, billing_code, billing_code_type, negotiation_arrangement, negotiated_type,
       negotiated_rate, expiration_date, billing_class, setting, service_codes, modifiers,
       additional_information, grp.provider_group_id, grp.tin_type, grp.tin_value, grp.npis,
       grp.network_names, file_name, location, sha256, last_updated_on{ids}{file_info}
FROM (
    SELECT $payer AS payer, $plan AS plan_label, p.billing_code, p.billing_code_type,
           p.negotiation_arrangement, p.negotiated_type, p.negotiated_rate, p.expiration_date,
           p.billing_class, p.setting, s.codes AS service_codes, m.codes AS modifiers,
           p.additional_information, unnest(g.groups) AS grp,
           $file_name AS file_name, $location AS location, $sha256 AS sha256,
           CAST($updated AS DATE) AS last_updated_on,
           p.service_code AS service_codes_id, p.billing_code_modifier AS modifiers_id
    FROM read_parquet($prices) p
    JOIN (
        SELECT pset, list(struct_pack(provider_group_id, tin_type, tin_value, npis, network_names)
                          ORDER BY ordinal) AS groups
        FROM read_parquet($providers) GROUP BY pset
    ) g ON g.pset = p.pset
    JOIN read_parquet($lists) s ON s.id = p.service_code
    JOIN read_parquet($lists) m ON m.id = p.billing_code_modifier
)
"""


#: The staged prices in billing-code order, written beside them before the rows are joined: a sort of its
#: own, apart from the join and the write, so that each stays under the memory cap (sorting inside the
#: query that also writes ran out of 100 MB on a generated 1 GB file with every code kept).
_SORT_PRICES = (
    "COPY (SELECT * FROM read_parquet($prices) ORDER BY billing_code, seq) TO '{path}' (FORMAT parquet)"
)


@contextmanager
def staged_rows(staged: StagedRates, constants: dict[str, Any], query: str) -> Iterator[Any]:
    """The rate rows of a staged file (``query``: a form of :data:`_STAGED_ROWS`) as a DuckDB relation of
    a connection of its own in this process (one thread, memory capped as the local insert's, spilling
    to the staging folder), open while the block runs. ``constants``: payer, plan, file_name, location,
    sha256, updated."""
    import duckdb

    spill = staged.directory / "duckdb-spill"
    con = duckdb.connect(config={"threads": 1, "memory_limit": INSERT_MEMORY, "temp_directory": str(spill)})
    try:
        con.execute("SET enable_progress_bar = false")  # a worker's stdout is not a terminal
        files = staged_files(staged)
        ordered = staged.directory / "prices-ordered.parquet"
        con.execute(_SORT_PRICES.format(path=str(ordered).replace("'", "''")), {"prices": files["prices"]})
        yield con.sql(query, params={**constants, **files, "prices": [str(ordered)]})
    finally:
        con.close()


def staged_rate_batches(
    staged: StagedRates, constants: dict[str, Any], with_record: bool, rows_per_batch: int = 1 << 16
) -> Iterator[Any]:
    """The rate rows of a staged file for the Spark data source, as Arrow record batches."""
    query = _STAGED_ROWS.format(
        record="'rate' AS record, " if with_record else "",
        ids="",
        file_info=", CAST(NULL AS VARCHAR) AS file_info" if with_record else "",
    )
    with staged_rows(staged, constants, query) as rows:
        yield from arrow_batches(rows, rows_per_batch)


def arrow_batches(rows: Any, size: int) -> Any:
    """A DuckDB relation's rows as a stream of Arrow record batches of ``size`` rows."""
    fetch = getattr(rows, "to_arrow_reader", None) or rows.fetch_arrow_reader  # DuckDB 1.4 renamed it
    return fetch(size)


def sort_manifest(
    store: Store, source: str, manifest: list[dict[str, Any]]
) -> tuple[AttachSummary, list[dict[str, Any]]]:
    """The manifest's failed and already stored files in a summary, and the entries to add (a file a
    dataset lists twice is added once)."""
    summary = AttachSummary(failed=[str(m["error"]) for m in manifest if m["error"]])
    new: list[dict[str, Any]] = []
    seen: set[str] = set()
    for entry in (m for m in manifest if not m["error"]):
        if entry["sha256"] in seen or store.find_file(source, entry["sha256"]) is not None:
            summary.unchanged.append(entry["file_name"])
        else:
            new.append(entry)
        seen.add(entry["sha256"])
    return summary, new
