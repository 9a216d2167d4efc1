"""The ``hcpcs_atlas_hospital`` data source: hospital price files read by the project's own reader.

Each price file (tall CSV, wide CSV or JSON; plain, gzip or zip; path or URL) is one partition, read whole
by :func:`~hcpcs_atlas.sources.hospital.read_hospital_file` on an executor; a ``cms-hpt.txt`` discovery
file stands for the price files it lists. Rows are the reader's :class:`HospitalCharge` fields, the payer
named as the store names it (``payer``: Aetna, Blue Cross Blue Shield, Cigna, UnitedHealthcare or the name
as written; ``payer_name`` stays as written), the charge's place in its file (``seq``), the hospital's
name and their provenance (file, sha256, last_updated_on).

Options: ``codes`` (comma list; default every HCPCS Level II code), ``on_error`` (``fail`` or ``skip``)
and ``records`` (``charges``, the default, or ``all``: one extra ``record = 'file'`` row per input file
with its hospital fields or its error as JSON in ``file_info``, which the ingest writes as the files
manifest).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

import orjson
from pyspark.sql.datasource import DataSource, DataSourceReader, InputPartition
from pyspark.sql.types import StructType

from ..errors import AtlasError, InputError
from ..sources.hospital import HospitalCharge, HospitalFile, is_discovery, read_discovery, read_hospital_file
from ..store.hospital import hospital_file_row, hospital_payer
from .tic import keep_option, peak_rss, source_paths

__all__ = [
    "HOSPITAL_COLUMNS",
    "HOSPITAL_FILE_COLUMNS",
    "HOSPITAL_MANIFEST_COLUMNS",
    "HospitalDataSource",
    "hospital_manifest_row",
]

HOSPITAL_COLUMNS = """
    code STRING, codes ARRAY<STRUCT<code: STRING, type: STRING>>, description STRING, billing_class STRING,
    setting STRING, drug_unit DOUBLE, drug_type STRING, modifiers ARRAY<STRING>, gross DOUBLE,
    discounted_cash DOUBLE, minimum DOUBLE, maximum DOUBLE, payer_name STRING, plan_name STRING,
    dollar DOUBLE, percentage DOUBLE, algorithm STRING, methodology STRING, row BIGINT,
    payer STRING, seq BIGINT,
    hospital_name STRING, layout STRING, file_name STRING, location STRING, sha256 STRING,
    last_updated_on DATE
"""

#: The hospital files manifest: source_files and core_hospital_files columns, charges kept, or the error.
HOSPITAL_FILE_COLUMNS = """
    location STRING, file_name STRING, sha256 STRING, size_bytes BIGINT, charges BIGINT, error STRING,
    hospital_name STRING, location_names ARRAY<STRING>, addresses ARRAY<STRING>, type_2_npis ARRAY<STRING>,
    license_number STRING, license_state STRING, last_updated_on DATE, last_updated_on_text STRING,
    version STRING, layout STRING, discovery_location STRING, rows_seen BIGINT, charges_kept BIGINT,
    worker_peak_rss_bytes BIGINT
"""

HOSPITAL_MANIFEST_COLUMNS = [part.split()[0] for part in HOSPITAL_FILE_COLUMNS.split(",")]


class _FilePartition(InputPartition):
    """One price file, with the location-name of the cms-hpt.txt entry that listed it; or a discovery
    file that could not be read, with its error."""

    def __init__(self, location: str, listed_as: str | None = None, error: AtlasError | None = None) -> None:
        super().__init__(location)
        self.location = location
        self.listed_as = listed_as
        self.error = error


class HospitalDataSource(DataSource):
    """``spark.read.format("hcpcs_atlas_hospital").option("codes", "J9032").load(paths_or_cms_hpt)``."""

    @classmethod
    def name(cls) -> str:
        return "hcpcs_atlas_hospital"

    def schema(self) -> str:
        if self.options.get("records", "charges") == "all":
            return f"record STRING, {HOSPITAL_COLUMNS}, file_info STRING"
        return HOSPITAL_COLUMNS

    def reader(self, schema: StructType) -> DataSourceReader:
        return HospitalReader(dict(self.options))


class HospitalReader(DataSourceReader):
    def __init__(self, options: dict[str, str]) -> None:
        self.sources = source_paths(options)
        self.codes = options.get("codes")
        self.skip_errors = options.get("on_error", "fail") == "skip"
        self.with_files = options.get("records", "charges") == "all"

    def partitions(self) -> Sequence[InputPartition]:
        # Runs on the driver: a cms-hpt.txt becomes the price files it lists, one partition each.
        return [part for source in self.sources for part in _expand(source)]

    def read(self, partition: InputPartition) -> Iterator[tuple[Any, ...]]:
        assert isinstance(partition, _FilePartition)
        try:
            if partition.error is not None:
                raise partition.error
            hf = read_hospital_file(partition.location, keep_option(self.codes))
        except AtlasError as exc:
            if not (self.with_files or self.skip_errors):
                raise
            if self.with_files:
                path = exc.path if isinstance(exc, InputError) else partition.location
                failed = {"location": str(path), "error": str(exc), "worker_peak_rss_bytes": peak_rss()}
                yield _file_record(failed)
            return
        hf.discovery_location = partition.listed_as
        provenance = (hf.hospital_name, hf.layout, hf.file_name, hf.source, hf.sha256, hf.last_updated)
        payers: dict[str | None, str | None] = {}
        for seq, charge in enumerate(hf.charges):
            name = charge.payer_name
            payer = payers[name] if name in payers else payers.setdefault(name, hospital_payer(name))
            values = (*_values(charge), payer, seq, *provenance)
            yield ("charge", *values, None) if self.with_files else values
        if self.with_files:
            yield _file_record(_manifest(hf))


def _expand(source: str) -> list[_FilePartition]:
    try:
        if not is_discovery(source):
            return [_FilePartition(source)]
        return [_FilePartition(e.mrf_url, e.location_name) for e in read_discovery(source)]
    except AtlasError as exc:  # reported by the partition, like a bad price file
        return [_FilePartition(source, error=exc)]


def _values(charge: HospitalCharge) -> Iterator[Any]:
    for value in charge:
        yield list(value) if isinstance(value, tuple) else value  # Spark takes arrays as lists


def _manifest(hf: HospitalFile) -> dict[str, Any]:
    return {
        "location": hf.source,
        "file_name": hf.file_name,
        "sha256": hf.sha256,
        "size_bytes": hf.bytes_read,
        "charges": hf.n_charges,
        "error": None,
        **hospital_file_row(hf),
        "worker_peak_rss_bytes": peak_rss(),
    }


def _file_record(info: dict[str, Any]) -> tuple[Any, ...]:
    """A ``record = 'file'`` row: charge columns empty but the provenance, the manifest entry as JSON."""
    empty = [None] * (len(HospitalCharge._fields) + 2)  # the charge, payer and seq
    provenance = (info.get("hospital_name"), info.get("layout"), info.get("file_name"), info["location"],
                  info.get("sha256"), info.get("last_updated_on"))  # fmt: skip
    return ("file", *empty, *provenance, orjson.dumps(info, default=str).decode())


def hospital_manifest_row(file_info: str) -> tuple[Any, ...]:
    """A ``file_info`` JSON back as a row of :data:`HOSPITAL_FILE_COLUMNS` (dates as dates)."""
    info = orjson.loads(file_info)
    updated = info.get("last_updated_on")
    info["last_updated_on"] = date.fromisoformat(updated) if updated else None
    return tuple(info.get(name) for name in HOSPITAL_MANIFEST_COLUMNS)
