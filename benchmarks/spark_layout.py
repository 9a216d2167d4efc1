"""The Spark ingest's Parquet layout with every Level II code kept: a folder per code vs per code group.

Run from the repository root::

    python benchmarks/spark_layout.py                    # the real HealthSCOPE file and UNC's price file
    python benchmarks/spark_layout.py --spark-hospital   # and UNC through Spark's writer (needs Java)

What a Spark task does with one in-network file, step by step, each step in a fresh process timed from
outside (CPU = user + system, peak RSS = the process's VmHWM), on the real HealthSCOPE file with every
Level II code kept (the default code set):

- read: stage the file (``stage_in_network``, the local ingest's path);
- write, the layout before: the staged rows written as ``billing_code=C/`` folders (DuckDB's
  partitioned writer, one file per code);
- write, the layout now: ``write_staged_rates``, ``code_group=L/`` folders, rows in code order;
- one code read back from each dataset by DuckDB (J9032), and how many row groups its min/max could hold.

Then the hospital dataset's file count for UNC (every Level II code), one file per payer and code before,
per payer and letter now, counted from the reader's charges (Spark's writer writes one file per task and
partition folder, and a price file is one task); with ``--spark-hospital`` also by running Spark.
"""

from __future__ import annotations

import argparse
import os
import pickle
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / "_work" / "layout"
DATA = ROOT.parent / "shared" / "data"
HEALTHSCOPE = DATA / "tic/real/healthscope-benefits_in-network-rates_2023-02-01.json.gz"
UNC = DATA / "hospital_price_transparency/real/unc-hospitals_standardcharges.csv.gz"
CODE = "J9032"
CONSTANTS = {"payer": "HealthSCOPE", "plan": None, "file_name": "f", "location": "l", "sha256": "s", "updated": None}  # fmt: skip


def _peak() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def step(name: str) -> dict[str, Any]:
    """One step, run in this (fresh) process."""
    staged_dir = WORK / "staged"
    if name == "read":
        from hcpcs_atlas.sources import is_level2
        from hcpcs_atlas.sources.tic.reader import stage_in_network

        shutil.rmtree(staged_dir, ignore_errors=True)
        staged_dir.mkdir(parents=True)
        tf = stage_in_network(HEALTHSCOPE, is_level2, staged_dir)
        (WORK / "staged.pkl").write_bytes(pickle.dumps(tf.staged))
        assert tf.staged is not None
        return {"rows": tf.staged.rows, "peak": _peak()}
    if name == "start":  # the interpreter and the imports every step pays
        import duckdb  # noqa: F401

        import hcpcs_atlas.store.parquet_out  # noqa: F401

        return {"peak": _peak()}
    staged = pickle.loads((WORK / "staged.pkl").read_bytes())  # written by the step above
    out = WORK / name
    shutil.rmtree(out, ignore_errors=True)
    if name == "before":
        from hcpcs_atlas.store.parquet_out import RATE_FILE_COLUMNS
        from hcpcs_atlas.store.tic_parquet import _STAGED_ROWS, staged_rows

        columns = ", ".join(
            f"CAST({n} AS {k}) AS {n}" for n, k in RATE_FILE_COLUMNS.items() if n != "billing_code"
        )
        query = f"SELECT {columns}, billing_code FROM ({_STAGED_ROWS.format(record='', ids=', service_codes_id, modifiers_id', file_info='')})"
        with staged_rows(staged, CONSTANTS, query) as rows:
            rows.write_parquet(str(out), partition_by=["billing_code"], filename_pattern="part-{i}",
                               compression="snappy")  # fmt: skip
    elif name == "now":
        from hcpcs_atlas.store.parquet_out import write_staged_rates

        write_staged_rates(staged, CONSTANTS, out, "part")
    return {"peak": _peak()}


def run_step(name: str) -> dict[str, Any]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "--step", name], check=True, stdout=subprocess.PIPE)
    wall = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result: dict[str, Any] = orjson.loads(proc.stdout.splitlines()[-1])
    result |= {"wall": wall, "cpu": after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime}
    return result


def read_one_code(folder: Path, hive: str, where: str) -> tuple[float, float, int, int, int]:
    """(wall s, CPU s, rows, files, row groups whose billing_code min/max hold the code) of one code."""
    import duckdb

    con = duckdb.connect(config={"threads": 1})
    files = sorted(str(p) for p in folder.rglob("*.parquet"))
    wall, cpu = time.perf_counter(), time.process_time()
    rows = con.execute(
        f"SELECT count(*), sum(negotiated_rate) FROM read_parquet({files!r}, hive_partitioning = true, "
        f"hive_types_autocast = false) WHERE {where}"
    ).fetchall()[0][0]
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    column = "billing_code" if hive == "code_group" else None
    groups = 0
    if column:
        groups = con.execute(
            "SELECT count(*) FROM parquet_metadata(?) WHERE path_in_schema = 'billing_code' "
            "AND stats_min_value <= ? AND stats_max_value >= ?",
            [files, CODE, CODE],
        ).fetchall()[0][0]
    else:  # a folder per code: every row group of the code's folder holds it
        groups = con.execute(
            "SELECT count(DISTINCT (file_name, row_group_id)) FROM parquet_metadata(?)",
            [[f for f in files if f"billing_code={CODE}" in f]],
        ).fetchall()[0][0]
    return wall, cpu, rows, len(files), groups


def hospital_counts() -> tuple[int, int, int, int]:
    from hcpcs_atlas.sources.hospital import read_hospital_file
    from hcpcs_atlas.spark.tic import keep_option
    from hcpcs_atlas.store.hospital import hospital_payer

    hf = read_hospital_file(UNC, keep_option(None))
    pairs = {(hospital_payer(c.payer_name), c.code) for c in hf.charges}
    return (
        len(hf.charges),
        len({c for _, c in pairs}),
        len(pairs),
        len({(p, (c or "")[:1]) for p, c in pairs}),
    )


def spark_hospital() -> tuple[int, float]:
    from hcpcs_atlas.spark.ingest import ingest_hospital_to_parquet
    from hcpcs_atlas.spark.session import spark_session

    spark = spark_session("local[2]")
    out = WORK / "hospital"
    wall = time.perf_counter()
    ingest_hospital_to_parquet(spark, [str(UNC)], str(out), None)
    wall = time.perf_counter() - wall
    spark.stop()
    return sum(1 for _ in (out / "hospital_charges").rglob("*.parquet")), wall


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--spark-hospital", action="store_true")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        sys.stdout.write(orjson.dumps(step(args.step)).decode() + "\n")
        return
    WORK.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()[0]
    start = run_step("start")
    read = run_step("read")
    print(f"HealthSCOPE, every Level II code kept: {read['rows']:,} rate rows; load average {load:.1f} "
          "(2 cores shared); each step a fresh process, its CPU and peak RSS include the start line's")  # fmt: skip
    for label, r in (("start (Python, imports)", start), ("read (stage)", read)):
        print(
            f"  {label:<24}: {r['wall']:6.2f} s wall, {r['cpu']:6.2f} s CPU, peak RSS {r['peak'] / 1e6:.0f} MB"
        )
    for name, hive, where in (("before", "billing_code", f"billing_code = '{CODE}'"),
                              ("now", "code_group", f"code_group = 'J' AND billing_code = '{CODE}'")):  # fmt: skip
        result = run_step(name)
        files = list((WORK / name).rglob("*.parquet"))
        size = sum(p.stat().st_size for p in files)
        print(f"  write, {name:<17} : {result['wall']:6.2f} s wall, {result['cpu']:6.2f} s CPU, peak RSS "
              f"{result['peak'] / 1e6:.0f} MB; {len(files):,} files, {size / 1e6:.1f} MB")  # fmt: skip
        wall, cpu, rows, listed, groups = read_one_code(WORK / name, hive, where)
        print(f"    {CODE} read back by DuckDB: {rows} rows, {wall:.3f} s wall, {cpu:.3f} s CPU over {listed:,} "
              f"files listed; row groups holding it: {groups}")  # fmt: skip
    charges, codes, by_code, by_letter = hospital_counts()
    print(f"UNC, every Level II code kept: {charges:,} charges, {codes} codes; hospital_charges files per price "
          f"file: {by_code:,} by payer x code (before), {by_letter} by payer x letter (now)")  # fmt: skip
    if args.spark_hospital:
        count, wall = spark_hospital()
        print(f"  Spark's writer (local[2]), the layout now: {count} files, the ingest {wall:.1f} s wall")


if __name__ == "__main__":
    main()
