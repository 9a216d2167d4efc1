"""The ``hcpcs_atlas_hospital`` data source: hospital price files read by the project's own reader.

Each price file (tall CSV, wide CSV or JSON; plain, gzip or zip; path or URL) is one partition, read whole
by :func:`~hcpcs_atlas.sources.hospital.read_hospital_file` on an executor; a ``cms-hpt.txt`` discovery
file stands for the price files it lists. Rows are the reader's :class:`HospitalCharge` fields with the
hospital's name and their provenance (file, sha256, last_updated_on). Payer names are as the hospital
wrote them: naming payers canonically is the store's job when hospital rates are attached.

Options: ``codes`` (comma list; default every HCPCS Level II code), ``on_error`` (``fail`` or ``skip``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from pyspark.sql.datasource import DataSource, DataSourceReader, InputPartition
from pyspark.sql.types import StructType

from ..errors import AtlasError
from ..sources.hospital import HospitalCharge, is_discovery, read_discovery, read_hospital_file
from .tic import keep_option, source_paths

__all__ = ["HOSPITAL_COLUMNS", "HospitalDataSource"]

HOSPITAL_COLUMNS = """
    code STRING, codes ARRAY<STRUCT<code: STRING, type: STRING>>, description STRING, billing_class STRING,
    setting STRING, drug_unit DOUBLE, drug_type STRING, modifiers ARRAY<STRING>, gross DOUBLE,
    discounted_cash DOUBLE, minimum DOUBLE, maximum DOUBLE, payer_name STRING, plan_name STRING,
    dollar DOUBLE, percentage DOUBLE, algorithm STRING, methodology STRING, row BIGINT,
    hospital_name STRING, layout STRING, file_name STRING, location STRING, sha256 STRING,
    last_updated_on DATE
"""


class HospitalDataSource(DataSource):
    """``spark.read.format("hcpcs_atlas_hospital").option("codes", "J9032").load(paths_or_cms_hpt)``."""

    @classmethod
    def name(cls) -> str:
        return "hcpcs_atlas_hospital"

    def schema(self) -> str:
        return HOSPITAL_COLUMNS

    def reader(self, schema: StructType) -> DataSourceReader:
        return HospitalReader(dict(self.options))


class HospitalReader(DataSourceReader):
    def __init__(self, options: dict[str, str]) -> None:
        self.sources = source_paths(options)
        self.codes = options.get("codes")
        self.skip_errors = options.get("on_error", "fail") == "skip"

    def partitions(self) -> Sequence[InputPartition]:
        # Runs on the driver: a cms-hpt.txt becomes the price files it lists, one partition each.
        return [InputPartition(location) for source in self.sources for location in _expand(source)]

    def read(self, partition: InputPartition) -> Iterator[tuple[Any, ...]]:
        try:
            hf = read_hospital_file(str(partition.value), keep_option(self.codes))
        except AtlasError:
            if self.skip_errors:
                return
            raise
        provenance = (hf.hospital_name, hf.layout, hf.file_name, hf.source, hf.sha256, hf.last_updated)
        for charge in hf.charges:
            yield (*_values(charge), *provenance)


def _expand(source: str) -> list[str]:
    if not is_discovery(source):
        return [source]
    return [entry.mrf_url for entry in read_discovery(source)]


def _values(charge: HospitalCharge) -> Iterator[Any]:
    for value in charge:
        yield list(value) if isinstance(value, tuple) else value  # Spark takes arrays as lists
