"""What the Spark ingest's fixed cost is made of, and what each start-up setting saves, side by side.

Run from the repository root (needs ``pip install -e '.[spark]'`` and Java 17+)::

    python benchmarks/spark_startup.py            # each variant twice, alternating, in fresh processes

Each variant runs in a fresh process timed from outside (interpreter, imports, JVM and session start-up,
the ingest of one small file: one task, so one Python worker starts, then ``stop``). CPU is user +
system of the Python process, the JVM and the JVM's Python processes (daemon, worker), read from /proc
just before ``stop``. Every variant has the session's local settings (UI off, 4 shuffle partitions,
Arrow on) and the JIT's first tier only (``-XX:TieredStopAtLevel=1``, which halved the start-up here);
they differ in:

- ``c1``: nothing more (the session before the class archive);
- ``c1+register``: the data sources registered at start, as ``spark_session()`` does for users (it
  starts Spark SQL's session state, which the ingest's tasks do not need);
- ``c1+cds``: the class-data-sharing archive (``session.class_data_sharing``; made by an earlier run);
- ``c1+cds+serial``: and the serial garbage collector (no concurrent GC threads on a small machine):
  the session's default now (``session.FAST_START_JVM`` and the archive).
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
VARIANTS = ("c1", "c1+register", "c1+cds", "c1+cds+serial")


def child(variant: str, source: str) -> dict[str, float]:
    t0 = time.perf_counter()
    import tempfile

    from hcpcs_atlas.spark import session
    from hcpcs_atlas.spark.ingest import ingest_to_parquet

    t1 = time.perf_counter()
    jvm = "-XX:TieredStopAtLevel=1"
    if "+cds" in variant:
        jvm += " " + session.class_data_sharing()
    if variant.endswith("+serial"):
        jvm += " -XX:+UseSerialGC"
    spark = session.spark_session("local[2]", java_options=jvm, sources=variant.endswith("+register"))
    t2 = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        result = ingest_to_parquet(spark, [source], out, "J9032")
    t3 = time.perf_counter()
    cpu = self_cpu() + tree_cpu(spark.sparkContext._gateway.proc.pid)  # type: ignore[union-attr]
    spark.stop()
    rows = sum(int(str(f["rows"] or 0)) for f in result.files)
    return {"imports": t1 - t0, "session": t2 - t1, "query": t3 - t2, "rows": rows, "cpu": cpu}


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
          f"ingest of {Path(args.source).name}; best of {args.rounds} (wall, CPU), then each run")  # fmt: skip
    for variant, runs in results.items():
        wall, cpu = min(r[0] for r in runs), min(r[1] for r in runs)
        phases = "; ".join(
            f"{w:.1f}/{c:.1f} s (imports {p['imports']:.1f} + session {p['session']:.1f} + ingest {p['query']:.1f})"
            for w, c, p in runs
        )
        print(f"{variant:<12} {wall:6.1f} s wall {cpu:6.1f} s CPU   runs: {phases}")


if __name__ == "__main__":
    main()
