"""hcpcs-atlas on Apache Spark: the project's own streaming readers as PySpark (>= 4.0) data sources.

Install with ``pip install 'hcpcs-atlas[spark]'`` (pyspark, pyarrow; Spark needs a Java 17+ runtime)::

    import hcpcs_atlas.spark
    hcpcs_atlas.spark.register(spark)
    rates = spark.read.format("hcpcs_atlas_tic").option("codes", "J9032,J9330").load(paths_or_toc)

One input file is one partition, read whole on an executor by the same reader the local ingest uses,
so a cluster gives the same rows as a laptop (see docs/scale.md). Nothing outside this package imports
pyspark; the CLI imports this package only for ``--engine spark``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["FORMATS", "register"]

#: The data source formats :func:`register` adds. Hospital price files plug in here as
#: ``hcpcs_atlas_hospital`` once their streaming reader is in sources/.
FORMATS = ("hcpcs_atlas_tic",)


def register(spark: SparkSession) -> None:
    """Register the hcpcs-atlas data sources (``hcpcs_atlas_tic``) with this Spark session."""
    from .tic import TicDataSource

    spark.dataSource.register(TicDataSource)
