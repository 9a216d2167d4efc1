"""Attach a hospital Parquet dataset written by the Spark engine (hcpcs_atlas.spark.ingest) to the store.

The dataset (``hospital_files/``: one row per price file, its hospital fields or its error;
``hospital_charges/payer=.../code_group=.../``: every kept charge with its row's codes and prices, in code
order, the group the code's first character; or, written before that layout, ``payer=.../code=.../``,
read as well) becomes
source_files, core_hospital_files, core_hospital_items and core_hospital_charges rows, as a local
``ingest hospital`` writes them, so facts, build and serve read them unchanged:

- an item is a distinct (code, codes, description ... maximum) of a file, numbered by first appearance
  (``seq``) with the charge row where it was first seen, as the local staging numbers them;
- a charge row is kept when it names a payer or carries a negotiated dollar, percentage or algorithm;
- payer and segment are resolved here, from each (payer_name, plan_name) by the package data the local
  ingest uses (the ``payer`` partition written by Spark is for readers of the Parquet, not trusted here).

One transaction for the whole dataset; a file already in the store (same sha256) is left alone, as a
local re-ingest would; a file listed twice is taken once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import InputError
from .db import FileRecord, Store
from .hospital import hospital_payer, plan_segment
from .tic_parquet import AttachSummary, layout_parts, sort_manifest

__all__ = ["CHARGE_LAYOUTS", "attach_hospital_parquet", "has_hospital_parquet"]

_FILES, _CHARGES = "hospital_files", "hospital_charges"
#: Manifest columns that are not core_hospital_files columns (they go to source_files, or are diagnostics).
_NOT_HOSPITAL_FILES = frozenset(
    {"location", "file_name", "sha256", "size_bytes", "charges", "error", "worker_peak_rss_bytes"}
)
_ITEM_KEY = """code, codes, description, billing_class, setting, drug_unit, drug_type, modifiers, gross,
    discounted_cash, minimum, maximum"""

_MANIFEST = "SELECT * FROM read_parquet(?) ORDER BY location"

#: Each kept charge of the new files, with the seq of its item's first charge (NULLs group together,
#: as None == None in the local staging's item key).
_STAGE = f"""
CREATE TEMP TABLE hospital_attach AS
SELECT f.file_id, r.* EXCLUDE (payer), min(r.seq) OVER (PARTITION BY f.file_id, {_ITEM_KEY}) AS first_seq
FROM read_parquet(?, hive_partitioning = true, hive_types_autocast = false) r
JOIN (SELECT unnest(?) AS sha256, unnest(?) AS location, unnest(?) AS file_id) f
  ON r.sha256 = f.sha256 AND r.location = f.location
"""
_NUMBER = """
CREATE TEMP TABLE hospital_attach_items AS
SELECT file_id, first_seq, row_number() OVER (PARTITION BY file_id ORDER BY first_seq) AS item_id
FROM hospital_attach WHERE seq = first_seq
"""
_INSERT_ITEMS = """
INSERT INTO core_hospital_items
SELECT a.file_id, i.item_id, a.code, [c.code FOR c IN a.codes], [c.type FOR c IN a.codes],
       list_filter(a.codes, lambda c: upper(c.type) = 'NDC')[1].code, a.description, a.billing_class, a.setting,
       a.drug_unit, a.drug_type, coalesce(a.modifiers, []), a.gross, a.discounted_cash, a.minimum, a.maximum,
       a.row
FROM hospital_attach a JOIN hospital_attach_items i ON a.file_id = i.file_id AND a.seq = i.first_seq
ORDER BY a.file_id, i.item_id
"""
_PAYER_NAMES = "SELECT DISTINCT payer_name, plan_name FROM hospital_attach WHERE payer_name IS NOT NULL"
_INSERT_CHARGES = """
INSERT INTO core_hospital_charges
SELECT a.file_id, i.item_id, a.payer_name, a.plan_name, p.payer, p.segment, a.dollar, a.percentage,
       a.algorithm, a.methodology, a.row
FROM hospital_attach a JOIN hospital_attach_items i ON a.file_id = i.file_id AND a.first_seq = i.first_seq
LEFT JOIN (SELECT unnest(?) AS payer_name, unnest(?) AS plan_name, unnest(?) AS payer, unnest(?) AS segment) p
  ON a.payer_name = p.payer_name AND a.plan_name IS NOT DISTINCT FROM p.plan_name
WHERE a.payer_name <> '' OR a.dollar IS NOT NULL OR a.percentage IS NOT NULL OR a.algorithm <> ''
ORDER BY a.file_id, a.seq
"""


def has_hospital_parquet(root: Path) -> bool:
    return any((root / _FILES).glob("*.parquet"))


def attach_hospital_parquet(store: Store, root: Path) -> AttachSummary:
    """Add the files and charges of the dataset at ``root`` (``hospital_files/``, ``hospital_charges/``)."""
    files = sorted((root / _FILES).glob("*.parquet"))
    if not files:
        raise InputError(
            root, f"no hospital files manifest ({_FILES}/*.parquet): not an hcpcs-atlas Spark output"
        )
    parts = layout_parts(root / _CHARGES, CHARGE_LAYOUTS)
    cursor = store.con.execute(_MANIFEST, [[str(f) for f in files]])
    names = [d[0] for d in cursor.description]
    manifest = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    summary, new = sort_manifest(store, "hospital", manifest)
    with store.transaction():
        ids = [_add_file(store, entry) for entry in new]
        _insert_charges(store, parts, new, ids)
    summary.ingested = [(e["file_name"], int(e["charges"])) for e in new]
    return summary


def _add_file(store: Store, entry: dict[str, Any]) -> int:
    layout, version = entry["layout"], entry["version"]
    record = FileRecord(
        source="hospital",
        file_name=entry["file_name"],
        location=entry["location"],
        sha256=entry["sha256"],
        size_bytes=entry["size_bytes"],
        format=f"{layout} v{version}" if version else layout,
        effective_start=entry["last_updated_on"],
        effective_end=None,
        meta={
            "hospital_name": entry["hospital_name"],
            "version": version,
            "layout": layout,
            "engine": "spark",
        },
    )
    file_id = store.add_file(record, int(entry["charges"]))
    row = {k: v for k, v in entry.items() if k not in _NOT_HOSPITAL_FILES}
    store.insert_rows("core_hospital_files", [row], file_id=file_id)
    return file_id


#: The two layouts of ``hospital_charges/`` (the current one first), as for rates (``tic_parquet``).
CHARGE_LAYOUTS = ("payer=*/code_group=*/*.parquet", "payer=*/code=*/*.parquet")


def _insert_charges(store: Store, parts: list[str], new: list[dict[str, Any]], ids: list[int]) -> None:
    if not (new and parts):
        return
    keys = [[e[k] for e in new] for k in ("sha256", "location")]
    con = store.con
    # Temporary tables of the transaction: a failure rolls them back with the rest.
    con.execute(_STAGE, [parts, *keys, ids])
    con.execute(_NUMBER)
    con.execute(_INSERT_ITEMS)
    pairs = con.execute(_PAYER_NAMES).fetchall()
    resolved = [(hospital_payer(name), plan_segment(name, plan) if name else None) for name, plan in pairs]
    columns = [
        [p[0] for p in pairs],
        [p[1] for p in pairs],
        [r[0] for r in resolved],
        [r[1] for r in resolved],
    ]
    con.execute(_INSERT_CHARGES, columns)
    for table in ("hospital_attach", "hospital_attach_items"):
        con.execute(f"DROP TABLE {table}")
