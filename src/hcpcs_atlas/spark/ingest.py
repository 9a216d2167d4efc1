"""Ingest in-network files and hospital price files on Spark into a Parquet dataset the store attaches.

The dataset at ``out`` (a local path or an object-store URL Spark can write)::

    out/rates/payer=Aetna/code_group=J/part-*.parquet            rate rows (hcpcs_atlas_tic columns)
    out/files/part-*.parquet                                     one row per in-network file: metadata or error
    out/lists/part-*.parquet                                     each file's lists, by the ids its rates name
    out/hospital_charges/payer=Aetna/code_group=J/part-*.parquet charges (hcpcs_atlas_hospital columns)
    out/hospital_files/part-*.parquet                            one row per price file: hospital or error

``code_group`` is the code's first character (the HCPCS letter) and the rows of a file are in code order
in small row groups, so one input file makes one Parquet file per payer and letter, not one per code
(thousands with every Level II code kept), and a reader of one code still reads about one row group per
file (``store.parquet_out``).

In-network files: each file is one task that stages it by the local ingest's own path and writes its rate
files itself (DuckDB's join streamed to pyarrow, one file per letter it keeps), returning only its manifest entry; Spark schedules
the tasks and carries no rate row. Hospital files go through the ``hcpcs_atlas_hospital`` data source
and Spark's Parquet writer. Each run writes a complete dataset (``overwrite``); attaching it is
idempotent by file sha256.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from pyarrow.fs import FileType
from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ..errors import AtlasError
from ..sources.tic.net import DEFAULT_OPTIONS
from ..store import Store
from ..store.hospital_parquet import attach_hospital_parquet
from ..store.tic_parquet import AttachSummary, attach_tic_parquet
from . import register
from .hospital import (
    HOSPITAL_FILE_COLUMNS,
    HOSPITAL_MANIFEST_COLUMNS,
    HospitalDataSource,
    hospital_manifest_row,
)
from .session import spark_session
from .tic import (
    FILE_COLUMNS,
    FILE_SCHEMA,
    MANIFEST_COLUMNS,
    TicDataSource,
    file_partitions,
    ingest_file,
    manifest_row,
)

__all__ = [
    "SparkIngest",
    "ingest_hospital_into_store",
    "ingest_hospital_to_parquet",
    "ingest_into_store",
    "ingest_to_parquet",
    "read_rates",
]


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
    register(spark)
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
    writer: str | None = None,
) -> SparkIngest:
    """Read ``sources`` (each file a task), write the rates and the files manifest under ``out``.

    ``writer``: ``tasks`` (the default when pyarrow can write ``out``: a local path, or a URL such as
    ``s3://``, ``gs://``, ``hdfs://`` that ``pyarrow.fs.FileSystem.from_uri`` opens): each task stages its file and writes its Parquet itself, only the file
    records come back, so no rate row crosses into the JVM (:func:`~hcpcs_atlas.spark.tic.ingest_file`).
    ``spark`` (the default for any other URL Spark writes, e.g. ``s3a://``): the ``hcpcs_atlas_tic`` data
    source's rows written by Spark's Parquet writer, the same files and columns, slower."""
    options = replace(DEFAULT_OPTIONS, allow_local_refs=allow_local_refs)
    if "://" not in out:
        out = str(Path(out).resolve())  # the tasks may run in another working directory
    target = _pyarrow_target(out) if writer in (None, "tasks") else None
    if target is None:
        if writer == "tasks":
            raise AtlasError(
                f"pyarrow cannot write {out}: give a local path or s3://, gs://, hdfs://, abfs://"
            )
        return _ingest_through_rows(spark, sources, out, codes, payer, allow_local_refs)
    fs, root = target
    for folder in ("rates", "files", "lists"):
        if fs.get_file_info(f"{root}/{folder}").type != FileType.NotFound:
            fs.delete_dir(f"{root}/{folder}")  # each run writes a complete dataset
        fs.create_dir(f"{root}/{folder}")
    parts = file_partitions(sources, options)
    task = partial(ingest_file, codes=codes, payer=payer, options=options, rates=_uri(out, "rates"),
                   lists=_uri(out, "lists"))  # fmt: skip
    infos: list[dict[str, Any]] = (
        spark.sparkContext.parallelize(parts, max(1, len(parts))).map(task).collect()
    )
    manifest = [{name: info.get(name) for name in MANIFEST_COLUMNS} for info in infos]
    pq.write_table(
        pa.Table.from_pylist(manifest, FILE_SCHEMA), f"{root}/files/part-00000.parquet", filesystem=fs
    )
    return SparkIngest(out, manifest)


def _pyarrow_target(out: str) -> tuple[Any, str] | None:
    try:
        return pafs.FileSystem.from_uri(out)  # type: ignore[no-any-return]
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError):
        return None


def _uri(out: str, folder: str) -> str:
    return f"{out.rstrip('/')}/{folder}"


def _ingest_through_rows(
    spark: SparkSession, sources: Sequence[str], out: str, codes: str | None, payer: str | None,
    allow_local_refs: bool,
) -> SparkIngest:  # fmt: skip
    allow = "true" if allow_local_refs else ""
    both = read_rates(spark, sources, codes, payer, records="all", allow_local_refs=allow)
    infos = _write_records(both, "rate", "payer", "billing_code", f"{out}/rates")
    manifest = spark.createDataFrame([manifest_row(i, MANIFEST_COLUMNS) for i in infos], FILE_COLUMNS)
    manifest.coalesce(1).write.mode("overwrite").parquet(f"{out}/files")
    return SparkIngest(
        out, [dict(zip(MANIFEST_COLUMNS, manifest_row(i, MANIFEST_COLUMNS), strict=True)) for i in infos]
    )


#: Spark's Parquet row group size is in bytes (128 MB by default: a file's every row in one group, which
#: no min/max would prune); 1 MB is about the 8,192 rows of the tasks' files (``parquet_out``).
_ROW_GROUP_BYTES = str(1 << 20)


def _write_records(both: DataFrame, kind: str, payer: str, code: str, path: str) -> list[Any]:
    """Write a data source's ``kind`` records as Parquet partitioned by ``payer`` and the first character
    of ``code`` (``code_group``), in ``code`` order within each file (the layout of ``parquet_out``);
    return its file records' ``file_info``. Persisted so that the sources are read once for both."""
    both = both.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        rows = both.where(F.col("record") == kind).drop("record", "file_info")
        rows = rows.withColumn("code_group", F.substring(code, 1, 1))
        # Sorted by the partition columns first, Spark's writer takes this order as it is (no sort of its own).
        rows = rows.sortWithinPartitions(payer, "code_group", code)
        writer = rows.write.mode("overwrite").option("parquet.block.size", _ROW_GROUP_BYTES)
        writer.partitionBy(payer, "code_group").parquet(path)
        return [r.file_info for r in both.where(F.col("record") == "file").select("file_info").collect()]
    finally:
        both.unpersist()


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
    spark = spark_session(master, sources=False)
    codes_text = ",".join(sorted(codes)) if codes else None
    ingest_to_parquet(spark, sources, str(out.resolve()), codes_text, payer, allow_local_refs)
    return attach_tic_parquet(store, out)


def ingest_hospital_to_parquet(
    spark: SparkSession, sources: Sequence[str], out: str, codes: str | None
) -> SparkIngest:
    """Read hospital price files (or cms-hpt.txt files) once, each file a partition; write the charges
    partitioned by payer and code group, and the files manifest, under ``out``."""
    register(spark)
    reader = spark.read.format(HospitalDataSource.name()).option("records", "all")
    if codes:
        reader = reader.option("codes", codes)
    infos = _write_records(reader.load(list(sources)), "charge", "payer", "code", f"{out}/hospital_charges")
    rows = [hospital_manifest_row(i) for i in infos]
    spark.createDataFrame(rows, HOSPITAL_FILE_COLUMNS).coalesce(1).write.mode("overwrite").parquet(
        f"{out}/hospital_files"
    )
    return SparkIngest(out, [dict(zip(HOSPITAL_MANIFEST_COLUMNS, row, strict=True)) for row in rows])


def ingest_hospital_into_store(
    store: Store, sources: Sequence[str], out: Path, codes: set[str] | None, master: str | None = None
) -> AttachSummary:
    """``ingest hospital --engine spark``: ingest on ``master`` (default ``local[2]``) to ``out``, attach it."""
    spark = spark_session(master)
    ingest_hospital_to_parquet(spark, sources, str(out.resolve()), ",".join(sorted(codes)) if codes else None)
    return attach_hospital_parquet(store, out)
