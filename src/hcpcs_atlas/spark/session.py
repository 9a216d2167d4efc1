"""A Spark session for the CLI and tests: local mode by default, quiet, with workers on this interpreter."""

from __future__ import annotations

import os
import sys

from pyspark.errors import PySparkRuntimeError
from pyspark.sql import SparkSession

from ..errors import AtlasError
from . import register

__all__ = ["FAST_START_JVM", "spark_session"]

#: Local runs: no web UI, few shuffle partitions (the data after filtering is small), Arrow transfers.
_LOCAL_CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    # Codes such as 90371 stay strings when partitions are read back.
    "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
}


#: Driver JVM options for a short local run: the JIT's first tier only (less compiling at start-up).
FAST_START_JVM = "-XX:TieredStopAtLevel=1"


def spark_session(
    master: str | None = None, app_name: str = "hcpcs-atlas", java_options: str | None = None
) -> SparkSession:
    """The active session, or a new one on ``master`` (default ``local[2]``) with the data sources registered.

    In local mode the driver JVM, which also runs the tasks, starts with :data:`FAST_START_JVM` unless
    ``java_options`` says otherwise (``""``: the JVM's defaults).

    Python workers run on this interpreter (``PYSPARK_PYTHON``) unless the environment says otherwise,
    so in local mode they import the same hcpcs_atlas.
    """
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app_name).master(master or "local[2]")
    for key, value in _LOCAL_CONF.items():
        builder = builder.config(key, value)
    if java_options is None and (master or "local[2]").startswith("local"):
        java_options = FAST_START_JVM  # half the start-up wall time here (benchmarks/spark_startup.py)
    if java_options:  # read when the JVM starts, i.e. only by the first session of this process
        builder = builder.config("spark.driver.extraJavaOptions", java_options)
    try:
        spark = builder.getOrCreate()
    except PySparkRuntimeError as exc:  # JAVA_GATEWAY_EXITED: no java, or one too old
        raise AtlasError(f"Spark could not start (needs Java 17+ on PATH or JAVA_HOME): {exc}") from None
    spark.sparkContext.setLogLevel("ERROR")
    register(spark)
    return spark
