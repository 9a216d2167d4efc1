"""A staged in-network file's rate rows written straight to Parquet (the Spark ingest's tasks: no row
crosses into the JVM). The rows are the ``hcpcs_atlas_tic`` data source's, made by the same join
(:data:`~hcpcs_atlas.store.tic_parquet._STAGED_ROWS`), in the dataset's fixed column types.

The layout is ``rates/payer=P/code_group=L/part-*.parquet``, ``L`` the code's first character (the
HCPCS Level II letter): one file per input file and letter (17 at most for Level II codes), rows in
billing-code order in row groups of :data:`ROWS_PER_GROUP`, so a reader looking for one code reads the
one folder and, by the row groups' billing_code min/max, about one row group of each file. A folder per
code made one file per input file and code kept: 6,331 files of ~10 rows for the HealthSCOPE file with
every Level II code, 52 CPU-seconds to write what takes 1.8 to read (docs/scale.md).
"""

from __future__ import annotations

from itertools import groupby
from pathlib import Path
from typing import Any

from ..sources.tic.model import StagedRates
from .tic_parquet import _STAGED_ROWS, arrow_batches, staged_rows

__all__ = ["CODE_GROUP", "RATE_FILE_COLUMNS", "ROWS_PER_GROUP", "escape_path", "write_staged_rates"]

#: The columns of a rate file under ``rates/payer=P/code_group=L/`` (``payer`` and ``code_group`` are its
#: folders), typed as Spark writes them: a constant that is NULL in one file must not become a NULL-typed
#: column there, or Spark could not read the dataset as one table.
RATE_FILE_COLUMNS = {
    "plan_label": "VARCHAR",
    "billing_code": "VARCHAR",
    "billing_code_type": "VARCHAR",
    "negotiation_arrangement": "VARCHAR",
    "negotiated_type": "VARCHAR",
    "negotiated_rate": "DOUBLE",
    "expiration_date": "VARCHAR",
    "billing_class": "VARCHAR",
    "setting": "VARCHAR",
    "service_codes": "VARCHAR[]",
    "modifiers": "VARCHAR[]",
    "additional_information": "VARCHAR",
    "provider_group_id": "VARCHAR",
    "tin_type": "VARCHAR",
    "tin_value": "VARCHAR",
    "npis": "BIGINT[]",
    "network_names": "VARCHAR[]",
    "file_name": "VARCHAR",
    "location": "VARCHAR",
    "sha256": "VARCHAR",
    "last_updated_on": "DATE",
    "service_codes_id": "INTEGER",
    "modifiers_id": "INTEGER",
}

#: The partition folder of a code: its first character (SQL over a column ``billing_code``; the hospital
#: dataset's ``code`` the same way, :mod:`hcpcs_atlas.spark.ingest`).
CODE_GROUP = "left(billing_code, 1)"

#: Rows per Parquet row group: 8,192 rows of ~17 codes each read for one code, where 2,048 made the files
#: 30 % larger and 32,768 made a reader read four times as many rows (measured on 633,234 rows of a
#: generated 512 MB file: 9.2 / 7.1 / 6.2 MB).
ROWS_PER_GROUP = 8192

_WRITE = "SELECT {columns}, " + CODE_GROUP + " AS code_group FROM ({rows})"


#: The characters Spark escapes in a partition folder's value (ExternalCatalogUtils.escapePathName), so
#: that Spark reads the payer (and the code group) back as written.
_ESCAPED = frozenset("\"#%'*/:=?\\\x7f{[]^") | {chr(c) for c in range(1, 32)}


def escape_path(value: str) -> str:
    return "".join(f"%{ord(c):02X}" if c in _ESCAPED else c for c in value)


#: A file's lists (``lists/{stem}.parquet``): the ids its rows' ``service_codes_id`` and ``modifiers_id``
#: name, so that the attach interns a few hundred lists and joins integers, where reading and hashing the
#: lists of every row cost 20 of its 39 CPU-seconds for 5 M rows (docs/scale.md).
_LISTS = (
    "COPY (SELECT CAST($sha256 AS VARCHAR) AS sha256, CAST($location AS VARCHAR) AS location, "
    "CAST(id AS INTEGER) AS id, CAST(codes AS VARCHAR[]) AS codes FROM read_parquet($lists)) "
    "TO '{path}' (FORMAT parquet)"
)


def write_staged_rates(
    staged: StagedRates, constants: dict[str, Any], folder: Path, stem: str, lists: Path | None = None
) -> None:
    """Write the rows of ``staged`` as ``folder/code_group=L/{stem}-N.parquet`` in billing-code order,
    ``folder`` a new local folder, and the file's lists table as ``lists/{stem}.parquet`` when ``lists``
    (a local folder) is given. ``constants``: payer, plan, file_name, location, sha256, updated.

    Streamed: the join yields the rows in code order a row group at a time, and each goes to the file of
    its letter (the letters come one after another), so memory holds one row group whatever the file.
    DuckDB's own writer (``COPY ... PARTITION_BY``) ran out of the 100 MB cap on the HealthSCOPE file with
    every code kept (253,461 rows naming 26.8 M NPIs)."""
    import pyarrow.parquet as pq

    columns = ", ".join(f"CAST({name} AS {kind}) AS {name}" for name, kind in RATE_FILE_COLUMNS.items())
    staged_query = _STAGED_ROWS.format(record="", ids=", service_codes_id, modifiers_id", file_info="")
    query = _WRITE.format(columns=columns, rows=staged_query)
    writer: Any = None
    letter: str | None = None
    try:
        with staged_rows(staged, constants, query) as rows:
            for batch in arrow_batches(rows, ROWS_PER_GROUP):
                last = batch.num_columns - 1  # code_group: the folder, not a column of the file
                start = 0
                for value, run in groupby(batch.column(last).to_pylist()):
                    size = sum(1 for _ in run)
                    if writer is None or value != letter:
                        if writer is not None:
                            writer.close()
                        letter = value
                        path = folder / f"code_group={escape_path(str(value))}" / f"{stem}-0.parquet"
                        path.parent.mkdir(parents=True, exist_ok=True)
                        writer = pq.ParquetWriter(path, batch.schema.remove(last), compression="snappy")
                    part = batch.slice(start, size)
                    writer.write_batch(part.select(range(last)), row_group_size=ROWS_PER_GROUP)
                    start += size
    finally:
        if writer is not None:
            writer.close()
    if lists is not None:
        import duckdb

        lists.mkdir(parents=True, exist_ok=True)
        params = {
            "lists": str(staged.lists),
            "sha256": constants["sha256"],
            "location": constants["location"],
        }
        target = str(lists / f"{stem}.parquet").replace("'", "''")
        with duckdb.connect(config={"threads": 1}) as con:
            con.execute(_LISTS.format(path=target), params)
