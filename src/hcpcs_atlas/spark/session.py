"""A Spark session for the CLI and tests: local mode by default, quiet, with workers on this interpreter."""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import time
from pathlib import Path

from pyspark.errors import PySparkRuntimeError
from pyspark.sql import SparkSession

from ..errors import AtlasError
from . import register

__all__ = ["FAST_START_JVM", "class_data_sharing", "spark_session"]

#: Local runs: no web UI, few shuffle partitions (the data after filtering is small), Arrow transfers.
_LOCAL_CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    # Codes such as 90371 stay strings when partitions are read back.
    "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
}


#: Driver JVM options for a short local run: the JIT's first tier only (less compiling at start-up) and
#: the serial collector (no concurrent GC threads to start and feed on a few cores; the local driver
#: holds no rows when it ingests, the tasks write them).
FAST_START_JVM = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"


def spark_session(
    master: str | None = None,
    app_name: str = "hcpcs-atlas",
    java_options: str | None = None,
    sources: bool = True,
) -> SparkSession:
    """The active session, or a new one on ``master`` (default ``local[2]``), with the data sources
    registered unless ``sources`` is false (registering starts Spark SQL's session state: 4-5 s of a
    local start here, which the ingest's tasks do not need).

    In local mode the driver JVM, which also runs the tasks, starts with :data:`FAST_START_JVM` and the
    class archive (:func:`class_data_sharing`) unless ``java_options`` says otherwise (``""``: the JVM's
    defaults).

    Python workers run on this interpreter (``PYSPARK_PYTHON``) unless the environment says otherwise,
    so in local mode they import the same hcpcs_atlas.
    """
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app_name).master(master or "local[2]")
    for key, value in _LOCAL_CONF.items():
        builder = builder.config(key, value)
    if java_options is None and (master or "local[2]").startswith("local"):
        # The first tier: half the start-up; the archive: a third of the CPU left (benchmarks/spark_startup.py)
        java_options = f"{FAST_START_JVM} {class_data_sharing()}".strip()
    if java_options:  # read when the JVM starts, i.e. only by the first session of this process
        builder = builder.config("spark.driver.extraJavaOptions", java_options)
    try:
        spark = builder.getOrCreate()
    except PySparkRuntimeError as exc:  # JAVA_GATEWAY_EXITED: no java, or one too old
        raise AtlasError(f"Spark could not start (needs Java 17+ on PATH or JAVA_HOME): {exc}") from None
    spark.sparkContext.setLogLevel("ERROR")
    if sources:
        register(spark)
    return spark


def _cds_folder() -> Path:
    """Where :func:`class_data_sharing` keeps its archives: the user's cache folder."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "hcpcs-atlas" / "spark-cds"


#: An archive written this recently may be one a JVM is still writing: not adopted yet.
_SETTLE_S = 20


def class_data_sharing() -> str:
    """JVM options for a class-data-sharing archive of the classes a local Spark session loads.

    The first session on a machine archives them at its JVM's exit (``-XX:ArchiveClassesAtExit``,
    a few seconds after the command returns); later ones map the archive instead of loading and
    verifying ~10,000 classes from the jars (``-XX:SharedArchiveFile``). The archive is only valid for
    the JDK and the jars it was made with, so its name is a hash of both: a new JDK or Spark makes a
    new one. The JVM checks the archive itself (checksum, class path) and runs without it, silently,
    if it does not fit; ``""`` when ``HCPCS_ATLAS_SPARK_CDS=0`` or no java or jars are found.
    """
    if os.environ.get("HCPCS_ATLAS_SPARK_CDS", "1") == "0" or (key := _cds_key()) is None:
        return ""
    folder = _cds_folder()
    if any(c.isspace() for c in str(folder)):  # Spark splits extraJavaOptions on spaces: no archive then
        return ""
    archive = folder / f"{key}.jsa"
    quiet = "-Xlog:cds*=off -Xlog:class+path=off -XX:+VerifySharedSpaces"
    if not archive.is_file():
        _adopt(folder, key, archive)
    if archive.is_file():
        return f"-XX:SharedArchiveFile={archive} {quiet}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return ""
    # Each JVM writes its own file; a later session adopts a finished one (two writers never share a file).
    return f"-XX:ArchiveClassesAtExit={folder / f'{key}.{os.getpid()}.tmp'} {quiet}"


#: The first four bytes of a finished dynamic archive (HotSpot's CDS_DYNAMIC_ARCHIVE_MAGIC): the JVM
#: writes the header last, so a dump cut short (the JVM killed) lacks them.
_DYNAMIC_MAGIC = 0xF00BABA8


def _adopt(folder: Path, key: str, archive: Path) -> None:
    for written in sorted(folder.glob(f"{key}.*.tmp")):
        try:
            owner = int(written.suffixes[-2].lstrip("."))
            if _alive(owner) or time.time() - written.stat().st_mtime < _SETTLE_S:
                continue
            with written.open("rb") as fh:
                finished = int.from_bytes(fh.read(4), sys.byteorder) == _DYNAMIC_MAGIC
            if finished:
                os.replace(written, archive)
                return
            written.unlink()  # a dump cut short: the next session makes another
        except (OSError, ValueError):
            continue


def _alive(pid: int) -> bool:
    """Whether the session that asked for this archive still runs (its JVM writes it at its exit)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _cds_key() -> str | None:
    """A hash of the JDK (the java binary and libjvm, by path, size and time) and Spark's jars."""
    home = os.environ.get("JAVA_HOME")
    java = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    spark_home = os.environ.get("SPARK_HOME")
    if spark_home is None:
        import pyspark

        spark_home = str(Path(pyspark.__file__).parent)
    jars = Path(spark_home) / "jars"
    if java is None or not jars.is_dir():
        return None
    binary = Path(java).resolve()
    parts = [binary, *binary.parent.parent.glob("lib/server/libjvm.so"), *sorted(jars.glob("*.jar"))]
    digest = hashlib.sha256()
    for path in parts:
        stat = path.stat()
        digest.update(f"{path}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return f"spark-{digest.hexdigest()[:16]}"
