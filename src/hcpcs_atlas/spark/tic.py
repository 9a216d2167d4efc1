"""The ``hcpcs_atlas_tic`` data source: Transparency-in-Coverage in-network files read by the project's reader.

Each in-network file is one partition, read whole on an executor by the local ingest's own path (a file
is never split: :func:`~hcpcs_atlas.sources.tic.reader.stage_in_network` streams it at inflate speed in
flat memory, staging the kept prices as Arrow columns on the executor's temporary disk), then joined into
rows by DuckDB and handed to Spark as Arrow record batches: no Python object per rate. A table of
contents given as a path stands for its in-network files; it is read on the driver when Spark plans the
query. Rows carry the store's ``core_tic_rates`` columns plus their provenance (file, sha256,
last_updated_on).

Options: ``codes`` (comma list; default every HCPCS Level II code), ``payer`` (overrides the name from
``reporting_entity_name``), ``on_error`` (``fail``, the default: a bad file fails the query, naming the
file and byte; ``skip``: its rows are left out) and ``records`` (``rates``, the default, or ``all``: one
extra ``record = 'file'`` row per input file with its metadata or error as JSON in ``file_info``, which
the ingest writes as the files manifest when Spark's writer writes its rows).

The ingest itself does not read rows through this source where pyarrow can write its output:
:func:`ingest_file` is its task, the same staging, with the rows written by the task.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pyarrow as pa
import pyarrow.fs as pafs
from pyspark.sql.datasource import DataSource, DataSourceReader, InputPartition
from pyspark.sql.types import StructType

from ..errors import AtlasError, InputError, StoreError
from ..sources import is_level2
from ..sources.tic import RateRow, TicFile
from ..sources.tic.net import DEFAULT_OPTIONS, ReadOptions
from ..sources.tic.reader import stage_in_network
from ..store.parquet_out import escape_path, write_staged_rates
from ..store.tic import TocTarget, expand_sources, file_row, parse_date, payer_of
from ..store.tic_parquet import staged_rate_batches
from ..text import one_line

__all__ = [
    "FILE_COLUMNS",
    "FILE_SCHEMA",
    "MANIFEST_COLUMNS",
    "RATE_COLUMNS",
    "FilePartition",
    "TicDataSource",
    "escape_path",
    "file_partitions",
    "ingest_file",
    "keep_option",
    "peak_rss",
    "source_paths",
]

#: The rate row: the store's core_tic_rates columns (payer first), then where each row comes from.
RATE_COLUMNS = """
    payer STRING, plan_label STRING, billing_code STRING, billing_code_type STRING,
    negotiation_arrangement STRING, negotiated_type STRING, negotiated_rate DOUBLE, expiration_date STRING,
    billing_class STRING, setting STRING, service_codes ARRAY<STRING>, modifiers ARRAY<STRING>,
    additional_information STRING, provider_group_id STRING, tin_type STRING, tin_value STRING,
    npis ARRAY<BIGINT>, network_names ARRAY<STRING>,
    file_name STRING, location STRING, sha256 STRING, last_updated_on DATE
"""

#: The files manifest: the store's core_tic_files and source_files columns, rows kept, or the error.
FILE_COLUMNS = """
    location STRING, file_name STRING, sha256 STRING, size_bytes BIGINT, rows BIGINT,
    rows_without_provider BIGINT, error STRING,
    payer STRING, plan_label STRING, reporting_entity_name STRING, reporting_entity_type STRING,
    last_updated_on DATE, version STRING, plan_name STRING, plan_id STRING, plan_market_type STRING,
    issuer_name STRING, plan_sponsor_name STRING, network_name STRING, items_seen BIGINT,
    items_kept BIGINT, remote_refs_fetched INT, remote_refs_failed INT, plan_id_type STRING,
    reporting_plans STRING, worker_peak_rss_bytes BIGINT
"""

MANIFEST_COLUMNS = [part.split()[0] for part in FILE_COLUMNS.split(",")]


_ARROW_TYPES = {"STRING": pa.string(), "BIGINT": pa.int64(), "INT": pa.int32(), "DATE": pa.date32()}

#: :data:`FILE_COLUMNS` as the Arrow schema of the manifest the ingest writes (the types Spark writes).
FILE_SCHEMA = pa.schema([(p.split()[0], _ARROW_TYPES[p.split()[1]]) for p in FILE_COLUMNS.split(",")])

_RATE_FIELDS = [name for name in RateRow.__dataclass_fields__ if name != "billing_code"]


def keep_option(codes: str | None) -> Callable[[str], bool]:
    """The ``codes`` option as the reader's filter: the listed codes, else any HCPCS Level II code."""
    wanted = {c.strip().upper() for c in (codes or "").split(",") if c.strip()}
    return wanted.__contains__ if wanted else is_level2


def source_paths(options: dict[str, str]) -> list[str]:
    """``load(path)`` arrives as ``path``; ``load([paths])`` as ``paths``, a JSON array."""
    if "paths" in options:
        return [str(p) for p in json.loads(options["paths"])]
    return [options["path"]] if options.get("path") else []


class FilePartition(InputPartition):
    """One in-network file; or a table of contents that could not be read, with its error."""

    def __init__(self, target: TocTarget, error: AtlasError | None = None) -> None:
        super().__init__(target.location)
        self.target = target
        self.error = error


class TicDataSource(DataSource):
    """``spark.read.format("hcpcs_atlas_tic").option("codes", "J9032,J9330").load(paths_or_toc)``."""

    @classmethod
    def name(cls) -> str:
        return "hcpcs_atlas_tic"

    def schema(self) -> str:
        if self.options.get("records", "rates") == "all":
            return f"record STRING, {RATE_COLUMNS}, file_info STRING"
        return RATE_COLUMNS

    def reader(self, schema: StructType) -> DataSourceReader:
        return TicReader(dict(self.options), schema)


class TicReader(DataSourceReader):
    def __init__(self, options: dict[str, str], schema: StructType) -> None:
        self.schema = schema
        self.sources = source_paths(options)
        self.codes = options.get("codes")
        self.payer = options.get("payer") or None
        self.skip_errors = options.get("on_error", "fail") == "skip"
        self.with_files = options.get("records", "rates") == "all"
        # The same rule as the local reader: a local document names local files only when allowed.
        allow = options.get("allow_local_refs", "false").lower() == "true"
        self.read_options = replace(DEFAULT_OPTIONS, allow_local_refs=allow)

    def partitions(self) -> Sequence[InputPartition]:
        # Runs on the driver: a table of contents becomes its in-network files, one partition each.
        return file_partitions(self.sources, self.read_options)

    def read(self, partition: InputPartition) -> Iterator[Any]:
        """Arrow record batches: the file is staged as columns (``stage_in_network``, the local ingest's
        path) and joined into rows by DuckDB, so no Python object is made per rate."""
        assert isinstance(partition, FilePartition)
        with _scratch() as tmp:
            try:
                tf = _stage(partition, self.codes, self.read_options, Path(tmp))
            except AtlasError as exc:
                if not (self.with_files or self.skip_errors):
                    raise
                if self.with_files:
                    yield self._file_batch(_failed(partition.target, exc))
                return
            assert tf.staged is not None
            payer, plan = payer_of(tf, self.payer)
            for batch in staged_rate_batches(tf.staged, _constants(tf, payer, plan), self.with_files):
                yield self._conform(batch)
            if self.with_files:
                yield self._file_batch(_manifest(tf, payer, plan, partition.target))

    def _arrow_schema(self) -> Any:
        from pyspark.sql.pandas.types import to_arrow_schema

        return to_arrow_schema(self.schema, timezone="UTC")

    def _conform(self, batch: Any) -> Any:
        """Spark takes a batch only with its exact Arrow schema (list item names, nullability)."""
        schema = self._arrow_schema()
        table = pa.Table.from_batches([batch]).cast(schema)
        return (
            table.combine_chunks().to_batches()[0]
            if table.num_rows
            else pa.RecordBatch.from_pylist([], schema)
        )

    def _file_batch(self, info: dict[str, Any]) -> Any:
        schema = self._arrow_schema()
        return pa.RecordBatch.from_pylist([dict(zip(schema.names, _file_record(info), strict=True))], schema)


def file_partitions(sources: Sequence[str], options: ReadOptions) -> list[FilePartition]:
    """One partition per in-network file: a table of contents is read here (on the driver) for its files;
    one that cannot be read is a partition carrying its error, reported like a bad in-network file."""
    parts: list[FilePartition] = []
    for source in sources:
        try:
            parts += [FilePartition(target) for target in expand_sources([source], options=options)]
        except AtlasError as exc:
            parts.append(FilePartition(TocTarget(source), exc))
    return parts


def _stage(partition: FilePartition, codes: str | None, options: ReadOptions, directory: Path) -> TicFile:
    if partition.error is not None:
        raise partition.error
    target = partition.target
    if target.refused is not None:
        raise InputError(str(target.location), target.refused)
    tf = stage_in_network(target.location, keep_option(codes), directory, options=options)
    assert tf.staged is not None
    return tf


def _constants(tf: TicFile, payer: str, plan: str | None) -> dict[str, Any]:
    return {"payer": payer, "plan": plan, "file_name": tf.file_name, "location": tf.source,
            "sha256": tf.sha256, "updated": parse_date(tf.last_updated_on)}  # fmt: skip


def ingest_file(
    partition: FilePartition,
    codes: str | None,
    payer: str | None,
    options: ReadOptions,
    rates: str,
    lists: str | None = None,
) -> dict[str, Any]:
    """A Spark task of the ingest: stage one in-network file and write its rate rows under ``rates``
    (``payer=P/code_group=L/part-*.parquet``, a local path or a URI pyarrow writes) itself, so no row
    passes through the JVM, and its lists table under ``lists`` (``part-*.parquet``; the ids the rows
    name, :mod:`~hcpcs_atlas.store.parquet_out`); return its files-manifest entry (metadata, or the
    error)."""
    with _scratch() as tmp:
        try:
            tf = _stage(partition, codes, options, Path(tmp))
        except AtlasError as exc:
            return _failed(partition.target, exc)
        assert tf.staged is not None
        name, plan = payer_of(tf, payer)
        written = Path(tmp) / "rates"
        if tf.staged.rows:
            try:
                listed = Path(tmp) / "lists" if lists else None
                write_staged_rates(tf.staged, _constants(tf, name, plan), written, _stem(tf), listed)
            except duckdb.Error as exc:  # this file's failure (e.g. its memory cap), not the whole job's
                return _failed(
                    partition.target, StoreError(f"{tf.source}: Parquet not written: {one_line(str(exc))}")
                )
        if written.is_dir():
            _copy_out(written, rates, f"/payer={escape_path(name)}")
        if lists and (Path(tmp) / "lists").is_dir():
            _copy_out(Path(tmp) / "lists", lists)
        return _manifest(tf, name, plan, partition.target)


def _copy_out(folder: Path, uri: str, under: str = "") -> None:
    """Copy a task's local ``folder`` to ``uri`` + ``under`` (a local path or a URI pyarrow writes)."""
    fs, root = pafs.FileSystem.from_uri(uri)
    pafs.copy_files(str(folder), f"{root}{under}",
                    source_filesystem=pafs.LocalFileSystem(), destination_filesystem=fs)  # fmt: skip


def _scratch() -> tempfile.TemporaryDirectory[str]:
    """A task's staging folder, on the executor's scratch disk (``spark.local.dir``, which Spark hands
    its Python workers as ``SPARK_LOCAL_DIRS``) rather than a small /tmp."""
    local = os.environ.get("SPARK_LOCAL_DIRS", "").split(",")[0]
    return tempfile.TemporaryDirectory(prefix="hcpcs-atlas-spark-", dir=local or None)


def _stem(tf: TicFile) -> str:
    """A file's own names: the same file listed at two locations writes both (the attach keeps one)."""
    where = hashlib.sha256(tf.source.encode()).hexdigest()[:8]
    return f"part-{tf.sha256[:16]}-{where}"


def _manifest(tf: TicFile, payer: str, plan: str | None, target: TocTarget) -> dict[str, Any]:
    unresolved = set(tf.refs_unresolved)
    return {
        "location": tf.source,
        "file_name": tf.file_name,
        "sha256": tf.sha256,
        "size_bytes": tf.bytes_read,
        "rows": tf.staged.rows if tf.staged is not None else len(tf.rows),
        "rows_without_provider": (
            tf.staged.rows_without_provider
            if tf.staged is not None
            else sum(1 for r in tf.rows if r.provider_group_id in unresolved)
        ),
        "error": None,
        **file_row(tf, payer, plan, target),
        "worker_peak_rss_bytes": peak_rss(),
    }


def _failed(target: TocTarget, exc: AtlasError) -> dict[str, Any]:
    path = exc.path if isinstance(exc, InputError) else target.location
    return {"location": path, "error": str(exc), "worker_peak_rss_bytes": peak_rss()}


def _file_record(info: dict[str, Any]) -> tuple[Any, ...]:
    """A ``record = 'file'`` row: rate columns empty but the provenance, the manifest entry as JSON."""
    rates = [None] * (len(_RATE_FIELDS) + 3)
    provenance = (info.get("file_name"), info["location"], info.get("sha256"), info.get("last_updated_on"))
    return ("file", *rates, *provenance, orjson.dumps(info, default=str).decode())


def peak_rss() -> int:
    """This Python worker's peak resident memory in bytes: VmHWM on Linux, else ru_maxrss (KiB)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            return next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def manifest_row(file_info: str, columns: Sequence[str]) -> tuple[Any, ...]:
    """A ``file_info`` JSON back as a files-manifest row in ``columns`` order (dates as dates)."""
    info = orjson.loads(file_info)
    updated = info.get("last_updated_on")
    info["last_updated_on"] = date.fromisoformat(updated) if updated else None
    return tuple(info.get(name) for name in columns)
