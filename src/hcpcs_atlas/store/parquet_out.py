"""A staged in-network file's rate rows written straight to Parquet partitioned by code (the Spark ingest's
tasks: no row crosses into the JVM). The rows are the ``hcpcs_atlas_tic`` data source's, made by the same
join (:data:`~hcpcs_atlas.store.tic_parquet._STAGED_ROWS`), in the dataset's fixed column types.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..sources.tic.model import StagedRates
from .tic_parquet import _STAGED_ROWS, staged_rows

__all__ = ["RATE_FILE_COLUMNS", "write_staged_rates"]

#: The columns of a rate file under ``rates/payer=P/billing_code=C/`` (the partition columns are its
#: folders), typed as Spark writes them: a constant that is NULL in one file must not become a NULL-typed
#: column there, or Spark could not read the dataset as one table.
RATE_FILE_COLUMNS = {
    "plan_label": "VARCHAR",
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
}

_WRITE = "SELECT {columns}, billing_code FROM ({rows})"


def write_staged_rates(staged: StagedRates, constants: dict[str, Any], folder: Path, stem: str) -> None:
    """Write the rows of ``staged`` as ``folder/billing_code=C/{stem}-N.parquet``, ``folder`` a new local
    folder. ``constants``: payer, plan, file_name, location, sha256, updated."""
    columns = ", ".join(f"CAST({name} AS {kind}) AS {name}" for name, kind in RATE_FILE_COLUMNS.items())
    query = _WRITE.format(columns=columns, rows=_STAGED_ROWS.format(record="", file_info=""))
    with staged_rows(staged, constants, query) as rows:
        rows.write_parquet(
            str(folder),
            partition_by=["billing_code"],
            filename_pattern=f"{stem}-{{i}}",
            compression="snappy",
        )
