"""hcpcs-atlas on Apache Spark: the project's own streaming readers as PySpark (>= 4.0) data sources.

Install with ``pip install 'hcpcs-atlas[spark]'`` (pyspark, pyarrow; Spark needs a Java 17+ runtime)::

    import hcpcs_atlas.spark
    hcpcs_atlas.spark.register(spark)
    rates = spark.read.format("hcpcs_atlas_tic").option("codes", "J9032,J9330").load(paths_or_toc)
    charges = spark.read.format("hcpcs_atlas_hospital").option("codes", "J9032").load(paths_or_cms_hpt)

One input file is one partition, read whole on an executor by the same reader the local ingest uses,
so a cluster gives the same rows as a laptop (see docs/scale.md). Nothing outside this package imports
pyspark; the CLI imports this package only for ``--engine spark``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["FORMATS", "register"]

#: The data source formats :func:`register` adds.
FORMATS = ("hcpcs_atlas_tic", "hcpcs_atlas_hospital")


def register(spark: SparkSession) -> None:
    """Register the hcpcs-atlas data sources (:data:`FORMATS`) with this Spark session."""
    from .hospital import HospitalDataSource
    from .tic import TicDataSource

    spark.dataSource.register(TicDataSource)
    spark.dataSource.register(HospitalDataSource)
