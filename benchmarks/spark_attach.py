"""The attach alone (``hcpcs-atlas ingest parquet``): a Spark TiC dataset into a fresh store, this tree's code
vs an earlier commit's, side by side in one run, alternating, on the same dataset.

Run from the repository root, after ``spark_ingest.py --all-codes --size-mb 512`` made its dataset::

    python benchmarks/spark_attach.py                                  # vs main, 2 rounds
    python benchmarks/spark_attach.py --against 3f6e71e --rounds 3 \\
        --dataset benchmarks/_work/spark/runs/spark.parquet

The earlier commit's ``src/`` is extracted by ``git archive`` to a temporary folder and imported from
there. Each attach runs in a fresh subprocess into a fresh store (wall timed from outside, imports
included; CPU from the child's rusage: user + system, every DuckDB thread; peak RSS its VmHWM). Then
``facts`` for a few codes on each store (every payer's benchmarks): equal figures, and their time, so
that a faster attach is not paid for by slower reads; and how many of the store's row groups the
zone maps (billing_code min/max) leave a one-code read to look at, on average and at most over every code.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
DATASET = ROOT / "benchmarks" / "_work" / "spark" / "runs" / "spark.parquet"
CODES = ("J9032", "J9330", "A7108", "C7830", "E1403", "L0108", "Q0553", "V0044")
MB = 1_000_000

_CHILD = """
import resource, sys, time, orjson
from pathlib import Path
from hcpcs_atlas.store import Store
from hcpcs_atlas.store.tic_parquet import attach_tic_parquet
t = time.perf_counter()
with Store(sys.argv[1]) as store:
    summary = attach_tic_parquet(store, Path(sys.argv[2]))
    rows = store.con.execute("SELECT count(*) FROM core_tic_rate_rows").fetchone()[0]
    meta = dict(store.con.execute("SELECT key, value FROM atlas_meta WHERE key LIKE 'tic_%'").fetchall())
wall = time.perf_counter() - t
hwm = [int(l.split()[1]) * 1024 for l in open('/proc/self/status') if l.startswith('VmHWM:')][0]
print(orjson.dumps({"attach_s": wall, "rows": rows, "compacted": summary.compacted, "meta": meta,
                    "files": len(summary.ingested), "peak": hwm}).decode())
"""


def attach(src: Path, db: Path, dataset: Path) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(db), str(dataset)], env=env, check=True, capture_output=True
    ).stdout
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result: dict[str, Any] = orjson.loads(out.splitlines()[-1])
    result["wall"] = wall
    result["cpu"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return result


_ZONES = """
WITH zones AS (
    SELECT row_group_id, min(stats.min) AS lo, max(stats.max) AS hi
    FROM pragma_storage_info('core_tic_rate_rows') WHERE column_name = 'billing_code' GROUP BY 1
), codes AS (SELECT DISTINCT billing_code FROM core_tic_rate_rows)
SELECT avg(n), max(n), (SELECT count(*) FROM zones)
FROM (SELECT c.billing_code, count(*) AS n FROM codes c JOIN zones z ON c.billing_code BETWEEN z.lo AND z.hi
      GROUP BY 1)
"""


def zones(db: Path) -> tuple[float, int, int]:
    """(mean, max) row groups a one-code read cannot skip by their billing_code min/max, of how many."""
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        mean, most, groups = con.execute(_ZONES).fetchall()[0]
        return float(mean), int(most), int(groups)


def facts(db: Path) -> tuple[dict[tuple[str, str], dict[str, Any]], float, float]:
    """Every payer's benchmarks of CODES, wall and CPU seconds (in this process, this tree's code)."""
    from dataclasses import asdict

    from hcpcs_atlas.facts.tic import payer_facts
    from hcpcs_atlas.store import Store

    with Store(db, read_only=True) as store:
        wall, cpu = time.perf_counter(), time.process_time()
        figures = {
            (p.payer, c): asdict(p.benchmarks)
            for c in CODES
            for p in payer_facts(store, c, None)
            if p.benchmarks
        }
        return figures, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--against", default="main", help="the earlier commit (default: main)")
    parser.add_argument("--dataset", type=Path, default=DATASET)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="attach-bench-") as tmp:
        old_src = Path(tmp) / "old"
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", args.against, "src"], check=True, capture_output=True
        ).stdout
        with tarfile.open(fileobj=__import__("io").BytesIO(archive)) as tar:
            tar.extractall(old_src, filter="data")
        sides = {f"{args.against} (old)": old_src / "src", "this tree (new)": ROOT / "src"}
        print(
            f"{os.cpu_count()} cores (shared), dataset {args.dataset}; load average {os.getloadavg()[0]:.1f}"
        )
        stores: dict[str, Path] = {}
        for round_ in range(1, args.rounds + 1):
            for index, (name, src) in enumerate(sides.items()):
                db = Path(tmp) / f"{round_}-{index}.duckdb"
                r = attach(src, db, args.dataset)
                stores[name] = db
                print(f"round {round_} {name:>22}: {r['wall']:6.1f} s wall, {r['cpu']:6.1f} s CPU, "
                      f"peak RSS {r['peak'] / MB:4.0f} MB; {r['rows']:,} rows of {r['files']} files, "
                      f"compacted {r['compacted']:,}; marks {r['meta']}")  # fmt: skip
        results = {name: facts(db) for name, db in stores.items()}
        for name, (_, wall, cpu) in results.items():
            mean, most, groups = zones(stores[name])
            print(f"{name} store: facts for {len(CODES)} codes {wall:.2f} s wall, {cpu:.2f} s CPU; a code's "
                  f"row groups by the zone maps: {mean:.2f} on average, {most} at most, of {groups}")  # fmt: skip
        first, *rest = (figures for figures, _, _ in results.values())
        print(f"figures equal: {all(f == first for f in rest)} ({len(first)} payer x code)")
        print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
