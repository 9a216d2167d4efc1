"""The store's insert of one staged TiC file alone (``store.tic._insert_staged``): this tree's code vs an
earlier commit's, side by side in one run, alternating, on the same staged files.

Run from the repository root, after ``tic_throughput.py`` made the 1 GB realistic file::

    python benchmarks/tic_insert.py                          # vs main, 3 rounds
    python benchmarks/tic_insert.py --against 92bbf22 --rounds 5
    python benchmarks/tic_insert.py --levers                 # DuckDB settings and shapes of the insert
    python benchmarks/tic_insert.py --shape                  # the rows' shape and each column's cost
    python benchmarks/tic_insert.py --levers --staged benchmarks/_work/insert/healthscope \\
        --source ../shared/data/tic/real/healthscope-benefits_in-network-rates_2023-02-01.json.gz

The file is staged once (this tree's reader, the default code set of a fresh store: every Level II code)
into ``benchmarks/_work/insert/``; every measurement then reads those same Parquet files. The earlier
commit's ``src/`` is extracted by ``git archive`` and imported from there. Each insert runs in a fresh
subprocess into a fresh store, in a transaction with its file's row as ``ingest tic`` does: CPU is the
child's own (user + system, every DuckDB thread) over the insert and its commit, wall the same span,
peak RSS the child's VmHWM (imports and the store's opening included).

``--levers`` runs the same insert on this tree with one change each (DuckDB threads, insertion order,
memory limit, compression methods, allocator, write buffer). Since schema 4 the store keeps each
provider set once (core_tic_provider_sets) and a price row names it: ``--against`` a commit before it
(e.g. 4ec2ee3) shows the two layouts side by side. ``--shape`` prints how many NPIs a
provider group names, how large the rows are, and what inserting each column alone costs.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / "_work"
REALISTIC = WORK / "tic-realistic-1gb-seed1.json.gz"
STAGED = WORK / "insert" / "staged-1gb"
MB = 1_000_000

#: A child: stage nothing, insert the staged file into a fresh store, say what it cost.
_CHILD = r"""
import json, os, resource, sys, time
from pathlib import Path
from hcpcs_atlas.sources.tic.model import StagedRates
from hcpcs_atlas.store import Store, tic
from hcpcs_atlas.store.db import FileRecord

db, folder, rows, lever = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
staged = StagedRates(folder)
staged.rows = rows
SETTINGS = {
    "threads=1": "SET threads = 1",
    "preserve_insertion_order=false": "SET preserve_insertion_order = false",
    "memory_limit=300MB": None,
    "no fsst": "SET disabled_compression_methods = 'fsst,dict_fsst'",
    "uncompressed": "SET force_compression = 'uncompressed'",
    "allocator_background_threads": "SET allocator_background_threads = true",
    "write_buffer_row_group_count=1": "SET write_buffer_row_group_count = 1",
}


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


with Store(db) as store:
    con = store.con
    record = FileRecord("tic", folder.name, str(folder), "0" * 64, None, "json", None, None, {})
    wall, used = time.perf_counter(), cpu()
    with store.transaction():
        file_id = store.add_file(record, rows)
        if lever in ("", "memory_limit=300MB"):
            if lever:
                tic.INSERT_MEMORY = "300MB"
            tic._insert_staged(store, staged, file_id, "Bench payer")
        else:
            with tic.memory_limit(store, tic.INSERT_MEMORY):
                if SETTINGS.get(lever):
                    con.execute(SETTINGS[lever])
                tic._run_insert(store, staged, file_id, "Bench payer", None)
    wall, used = time.perf_counter() - wall, cpu() - used
    stored = con.execute("SELECT count(*) FROM core_tic_rates").fetchone()[0]
hwm = [int(line.split()[1]) * 1024 for line in open("/proc/self/status") if line.startswith("VmHWM:")][0]
print(json.dumps({"wall": wall, "cpu": used, "rows": stored, "peak": hwm, "size": os.path.getsize(db)}))
"""

LEVERS = (
    "threads=1",
    "preserve_insertion_order=false",
    "memory_limit=300MB",
    "no fsst",
    "uncompressed",
    "allocator_background_threads",
    "write_buffer_row_group_count=1",
)


def stage(folder: Path, source: Path = REALISTIC) -> int:
    """Stage ``source`` once (this tree's reader); returns the rows the join will make."""
    marker = folder / "rows.json"
    if marker.is_file():
        rows: int = json.loads(marker.read_text())["rows"]
        return rows
    if not source.is_file():
        sys.exit(f"{source} is missing: run benchmarks/tic_throughput.py once to generate it")
    from hcpcs_atlas.sources import is_level2
    from hcpcs_atlas.sources.tic import stage_in_network

    print(f"staging {source.name} into {folder} ...", flush=True)
    folder.mkdir(parents=True, exist_ok=True)
    tic = stage_in_network(str(source), is_level2, folder)
    assert tic.staged is not None
    marker.write_text(json.dumps({"rows": tic.staged.rows}))
    return tic.staged.rows


def insert(src: Path, folder: Path, rows: int, lever: str = "") -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="tic-insert-") as tmp:
        env = {**os.environ, "PYTHONPATH": str(src)}
        command = [sys.executable, "-c", _CHILD, str(Path(tmp) / "s.duckdb"), str(folder), str(rows), lever]
        out = subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout
    result: dict[str, Any] = json.loads(out.splitlines()[-1])
    return result


def line(name: str, r: dict[str, Any]) -> str:
    return (
        f"{name:>34}: {r['cpu']:5.2f} CPU-s, {r['wall']:5.2f} s wall, peak RSS {r['peak'] / MB:4.0f} MB, "
        f"{r['rows']:,} rows, store {r['size'] / MB:4.0f} MB"
    )


def summary(results: dict[str, list[dict[str, Any]]]) -> None:
    print("median (min-max) over the rounds:")
    for name, runs in results.items():
        cpu = sorted(r["cpu"] for r in runs)
        wall = sorted(r["wall"] for r in runs)
        peak = max(r["peak"] for r in runs)
        print(
            f"{name:>34}: CPU {cpu[len(cpu) // 2]:.2f} ({cpu[0]:.2f}-{cpu[-1]:.2f}) s, wall "
            f"{wall[len(wall) // 2]:.2f} ({wall[0]:.2f}-{wall[-1]:.2f}) s, peak RSS {peak / MB:.0f} MB"
        )


def shape(folder: Path) -> None:
    """How many NPIs per group, how large the rows are, and each column's insert alone."""
    import resource
    import time

    import duckdb

    from hcpcs_atlas.sources.tic.model import StagedRates
    from hcpcs_atlas.store import tic

    staged = StagedRates(folder)
    params = {"file_id": 1, "payer": "Bench payer", **tic.staged_files(staged)}
    with tempfile.TemporaryDirectory(prefix="tic-insert-") as tmp:
        con = duckdb.connect(str(Path(tmp) / "s.duckdb"))
        con.execute(f"SET memory_limit = '{tic.INSERT_MEMORY}'")
        # the rows as the view makes them (price x provider group): what schema 3 stored per row
        select = (
            "SELECT p.* EXCLUDE (pset), g.* EXCLUDE (pset, ordinal) FROM read_parquet($prices) p "
            "JOIN read_parquet($providers) g ON g.pset = p.pset"
        )
        con.execute(f"CREATE TEMP TABLE rows_in AS {select}", {k: params[k] for k in ("prices", "providers")})
        (prices,) = con.execute("SELECT count(*) FROM read_parquet($p)", {"p": staged.prices}).fetchall()[0]
        groups = con.execute(
            "SELECT count(*), avg(len(npis)), max(len(npis)), avg(len(network_names)) FROM read_parquet($g)",
            {"g": params["providers"]},
        ).fetchall()[0]
        rows, npis = con.execute("SELECT count(*), sum(len(npis)) FROM rows_in").fetchall()[0]
        print(
            f"{prices:,} prices x provider groups = {rows:,} rows naming {npis:,} NPIs ({npis / rows:.2f} per row); "
            f"{groups[0]} provider groups: {groups[1]:.2f} NPIs on average, {groups[2]} at most, "
            f"{groups[3]:.2f} network names"
        )
        types = con.execute("DESCRIBE rows_in").fetchall()
        print("each column inserted alone from a temporary table (CPU-s, 1 round):")
        total = 0.0
        for column, kind, *_ in types:
            con.execute(f'CREATE OR REPLACE TABLE one ("{column}" {kind})')
            used = resource.getrusage(resource.RUSAGE_SELF)
            start = time.perf_counter()
            con.execute(f'INSERT INTO one SELECT "{column}" FROM rows_in')
            after = resource.getrusage(resource.RUSAGE_SELF)
            cpu = after.ru_utime + after.ru_stime - used.ru_utime - used.ru_stime
            total += cpu
            print(f"  {column:>24} {kind:>9}: {cpu:.2f} CPU-s, {time.perf_counter() - start:.2f} s wall")
        print(f"  {'sum':>24} {'':>9}: {total:.2f} CPU-s")
        con.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--against", default="main", help="the earlier commit (default: main)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--staged", type=Path, default=STAGED, help="a staged file's folder")
    parser.add_argument("--source", type=Path, default=REALISTIC, help="the file to stage there if new")
    parser.add_argument("--levers", action="store_true", help="this tree with one change each")
    parser.add_argument("--shape", action="store_true", help="the rows' shape and each column's cost")
    args = parser.parse_args()
    rows = stage(args.staged, args.source)
    print(f"{os.cpu_count()} cores (shared), {args.staged}: {rows:,} rows; load {os.getloadavg()[0]:.1f}")
    if args.shape:
        shape(args.staged)
        return
    with tempfile.TemporaryDirectory(prefix="tic-insert-src-") as tmp:
        if args.levers:
            sides = {"this tree": ("", ROOT / "src"), **{lever: (lever, ROOT / "src") for lever in LEVERS}}
        else:
            archive = subprocess.run(
                ["git", "-C", str(ROOT), "archive", args.against, "src"], check=True, capture_output=True
            ).stdout
            with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
                tar.extractall(Path(tmp) / "old", filter="data")
            sides = {
                f"{args.against} (old)": ("", Path(tmp) / "old" / "src"),
                "this tree (new)": ("", ROOT / "src"),
            }
        results: dict[str, list[dict[str, Any]]] = {name: [] for name in sides}
        for round_ in range(1, args.rounds + 1):
            for name, (lever, src) in sides.items():
                r = insert(src, args.staged, rows, lever)
                results[name].append(r)
                print(f"round {round_} {line(name, r)}", flush=True)
    summary(results)
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
