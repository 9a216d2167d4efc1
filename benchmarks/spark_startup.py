"""What Spark's fixed cost is made of, and what each start-up setting saves, measured side by side.

Run from the repository root (needs ``pip install -e '.[spark]'`` and Java 17+)::

    python benchmarks/spark_startup.py            # each variant twice, alternating, in fresh processes

Each variant runs in a fresh process timed from outside (interpreter, imports, JVM and session start-up,
one small query through the ``hcpcs_atlas_tic`` data source: one file, one partition, so the planner
process and one Python worker start, then ``stop``). CPU is user + system of the Python process, the JVM
and the JVM's Python processes (planner, workers), read from /proc just before ``stop``. Variants add settings one by one to Spark's defaults:

- ``defaults``: Spark's own settings (web UI on, 200 shuffle partitions, no Arrow for Python transfers);
- ``project``: the session's local settings (``hcpcs_atlas.spark.session``): UI off, 4 shuffle
  partitions, Arrow on;
- ``project+c1``: also the JIT's first tier only (``-XX:TieredStopAtLevel=1``) in the driver JVM,
  which in local mode is also the executor: less compilation CPU at start-up, slower long-running code.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import orjson
from spark_ingest import self_cpu, tree_cpu  # benchmarks/ is on sys.path when run as a script
from tic_throughput import HEALTHSCOPE

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = HEALTHSCOPE
VARIANTS = ("defaults", "project", "project+c1")


def child(variant: str, source: str) -> dict[str, float]:
    t0 = time.perf_counter()
    from pyspark.sql import SparkSession

    import hcpcs_atlas.spark
    from hcpcs_atlas.spark import session

    t1 = time.perf_counter()
    if variant == "defaults":
        spark = SparkSession.builder.master("local[2]").getOrCreate()
        hcpcs_atlas.spark.register(spark)
    else:
        jvm = session.FAST_START_JVM if variant.endswith("+c1") else ""
        spark = session.spark_session("local[2]", java_options=jvm)
    t2 = time.perf_counter()
    n = spark.read.format("hcpcs_atlas_tic").option("codes", "J9032").load(source).count()
    t3 = time.perf_counter()
    jvm = spark.sparkContext._gateway.proc.pid  # type: ignore[union-attr]
    cpu = self_cpu() + tree_cpu(jvm)
    spark.stop()
    return {"imports": t1 - t0, "session": t2 - t1, "query": t3 - t2, "rows": n, "cpu": cpu}


def run(variant: str, source: str) -> tuple[float, float, dict[str, float]]:
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, __file__, "--child", variant, source],
        check=True,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYSPARK_PYTHON": sys.executable},
    ).stdout
    wall = time.perf_counter() - start
    phases = orjson.loads(out.splitlines()[-1])
    return wall, phases["cpu"], phases


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--source", default=str(SAMPLE))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("rest", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        sys.stdout.write(orjson.dumps(child(args.child, args.rest[0])).decode() + "\n")
        return
    results: dict[str, list[tuple[float, float, dict[str, float]]]] = {v: [] for v in VARIANTS}
    load = os.getloadavg()[0]
    for _ in range(args.rounds):
        for variant in VARIANTS:  # alternating: a burst of load elsewhere hits every variant alike
            results[variant].append(run(variant, args.source))
    print(f"{os.cpu_count()} cores, load average {load:.1f} -> {os.getloadavg()[0]:.1f}; "
          f"one query over {Path(args.source).name}; best of {args.rounds} (wall, CPU), then each run")  # fmt: skip
    for variant, runs in results.items():
        wall, cpu = min(r[0] for r in runs), min(r[1] for r in runs)
        phases = "; ".join(
            f"{w:.1f}/{c:.1f} s (imports {p['imports']:.1f} + session {p['session']:.1f} + query {p['query']:.1f})"
            for w, c, p in runs
        )
        print(f"{variant:<12} {wall:6.1f} s wall {cpu:6.1f} s CPU   runs: {phases}")


if __name__ == "__main__":
    main()
