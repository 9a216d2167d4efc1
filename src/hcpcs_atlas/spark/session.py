"""A Spark session for the CLI and tests: local mode by default, quiet, with workers on this interpreter."""

from __future__ import annotations

import os
import sys

from pyspark.errors import PySparkRuntimeError
from pyspark.sql import SparkSession

from ..errors import AtlasError
from . import register

__all__ = ["spark_session"]

#: Local runs: no web UI, few shuffle partitions (the data after filtering is small), Arrow transfers.
_LOCAL_CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    # Codes such as 90371 stay strings when partitions are read back.
    "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
}


def spark_session(master: str | None = None, app_name: str = "hcpcs-atlas") -> SparkSession:
    """The active session, or a new one on ``master`` (default ``local[2]``) with the data sources registered.

    Python workers run on this interpreter (``PYSPARK_PYTHON``) unless the environment says otherwise,
    so in local mode they import the same hcpcs_atlas.
    """
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app_name).master(master or "local[2]")
    for key, value in _LOCAL_CONF.items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except PySparkRuntimeError as exc:  # JAVA_GATEWAY_EXITED: no java, or one too old
        raise AtlasError(f"Spark could not start (needs Java 17+ on PATH or JAVA_HOME): {exc}") from None
    spark.sparkContext.setLogLevel("ERROR")
    register(spark)
    return spark
