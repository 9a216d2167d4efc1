"""Ingest in-network files on Spark into a Parquet dataset the local store attaches.

The dataset at ``out`` (a local path or an object-store URL Spark can write)::

    out/rates/payer=Aetna/billing_code=J9032/part-*.parquet   rate rows (hcpcs_atlas_tic columns)
    out/files/part-*.parquet                                   one row per input file: metadata or error

Each run writes a complete dataset (``overwrite``); attaching it is idempotent by file sha256.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ..store import Store
from ..store.tic_parquet import AttachSummary, attach_tic_parquet
from .session import spark_session
from .tic import FILE_COLUMNS, MANIFEST_COLUMNS, TicDataSource, manifest_row

__all__ = ["SparkIngest", "ingest_into_store", "ingest_to_parquet", "read_rates"]


@dataclass
class SparkIngest:
    out: str
    files: list[dict[str, object]] = field(default_factory=list)  # the manifest rows, as dicts

    @property
    def failed(self) -> list[str]:
        return [str(f["error"]) for f in self.files if f.get("error")]


def read_rates(
    spark: SparkSession, sources: Sequence[str], codes: str | None, payer: str | None = None, **options: str
) -> DataFrame:
    """The ``hcpcs_atlas_tic`` rows of ``sources`` (in-network files or tables of contents)."""
    reader = spark.read.format(TicDataSource.name())
    for key, value in {"codes": codes, "payer": payer, **options}.items():
        if value:
            reader = reader.option(key, value)
    return reader.load(list(sources))


def ingest_to_parquet(
    spark: SparkSession,
    sources: Sequence[str],
    out: str,
    codes: str | None,
    payer: str | None = None,
    allow_local_refs: bool = False,
) -> SparkIngest:
    """Read ``sources`` once (each file a partition), write the rates and the files manifest under ``out``."""
    allow = "true" if allow_local_refs else ""
    both = read_rates(spark, sources, codes, payer, records="all", allow_local_refs=allow)
    both = both.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        rates = both.where(F.col("record") == "rate").drop("record", "file_info")
        rates.write.mode("overwrite").partitionBy("payer", "billing_code").parquet(f"{out}/rates")
        infos = [r.file_info for r in both.where(F.col("record") == "file").select("file_info").collect()]
    finally:
        both.unpersist()
    manifest = spark.createDataFrame([manifest_row(i, MANIFEST_COLUMNS) for i in infos], FILE_COLUMNS)
    manifest.coalesce(1).write.mode("overwrite").parquet(f"{out}/files")
    return SparkIngest(
        out, [dict(zip(MANIFEST_COLUMNS, manifest_row(i, MANIFEST_COLUMNS), strict=True)) for i in infos]
    )


def ingest_into_store(
    store: Store,
    sources: Sequence[str],
    out: Path,
    codes: set[str] | None,
    payer: str | None = None,
    master: str | None = None,
    allow_local_refs: bool = False,
) -> AttachSummary:
    """``ingest tic --engine spark``: ingest on ``master`` (default ``local[2]``) to ``out``, then attach it."""
    spark = spark_session(master)
    codes_text = ",".join(sorted(codes)) if codes else None
    ingest_to_parquet(spark, sources, str(out.resolve()), codes_text, payer, allow_local_refs)
    return attach_tic_parquet(store, out)
