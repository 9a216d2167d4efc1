"""Local ingest with 2 reader processes vs Spark ``local[2]``, side by side on the same generated files.

Run from the repository root (needs ``pip install -e '.[spark]'`` and Java 17+)::

    python benchmarks/spark_ingest.py                    # 8 realistic files of 64 MB (uncompressed) each
    python benchmarks/spark_ingest.py --size-mb 256      # bigger files; cached in benchmarks/_work/spark/
    python benchmarks/spark_ingest.py --all-codes        # every Level II code kept (the default code set)

Each side runs in a fresh subprocess, timed from outside (interpreter, imports and Spark start-up
included) into its own fresh store:

- local: ``hcpcs-atlas ingest tic FILES --codes ... --jobs 2`` (2 reader processes, one writer);
- Spark: what ``ingest tic --engine spark`` runs on ``local[2]`` (one file a task, each task writing its
  Parquet partitioned by payer and code itself, then attached to the store), phases timed inside; the
  class-data-sharing archive is used if an earlier session made it (the line says which).

Then it checks the figures: every payer's benchmarks for the twenty codes, from both stores, and the Spark
SQL benchmarks (``payer_benchmarks`` over the Parquet, those codes) against the local ones, exactly; and
times ``facts`` for one code (J9032: every payer's benchmarks) on each store, in this process. Peak memory: each
process's own high-water mark (Linux ``VmHWM``), sampled from /proc for the JVM and the Python workers.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / "_work" / "spark"
ENTITIES = ("Aetna Life Insurance Company", "Cigna Health and Life Insurance Company",
            "UnitedHealthcare of Texas", "Blue Cross and Blue Shield of Texas")  # fmt: skip
#: Twenty Level II drug codes kept: every file has items for each, among a body of other codes.
CODES = ("J9032", "J9330", "J9035", "J9045", "J9060", "J9171", "J9185", "J9201", "J9206", "J9263",
         "J9264", "J9267", "J9271", "J9299", "J9305", "J9306", "J9312", "J9355", "J0897", "J1745")  # fmt: skip
MB = 1_000_000


def make_files(count: int, size_mb: int, profile: str) -> list[Path]:
    from hcpcs_atlas.synth import TicSynthOptions, write_in_network

    WORK.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = WORK / f"in-network-{profile}-{size_mb}mb-{i}.json.gz"
        if not path.exists():
            shape: dict[str, Any] = {"profile": profile}  # the generator's realistic profile (issue 9)
            options = TicSynthOptions(
                seed=100 + i, version="2.0.0" if i % 2 else "1.3.1", refs="after" if i % 3 else "before",
                size_bytes=size_mb * MB, entity_name=ENTITIES[i % len(ENTITIES)], target_codes=CODES,
                items_per_target=40, decoys=False, **shape,
            )  # fmt: skip
            partial = path.with_name(f"partial-{path.name}")  # same suffix: the format comes from it
            write_in_network(partial, options)
            partial.rename(path)
        paths.append(path)
    return paths


# -- children ----------------------------------------------------------------------------------------------


def vm_hwm(pid: int | str = "self") -> int:
    """Peak RSS of a process in bytes (0 if gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a live process, of the children it reaped and of its live
    descendants: the JVM's share, read before it stops (nobody reaps it, so rusage misses it)."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    times: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        proc = int(stat.parent.name)
        parents[proc] = int(fields[1])
        times[proc] = sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
    total, frontier = 0, {pid}
    while frontier:
        total += sum(times.get(p, 0) for p in frontier)
        frontier = {p for p, parent in parents.items() if parent in frontier}
    return total / tick


def self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child_spark(db: Path, files: list[str], parquet: Path, all_codes: bool) -> dict[str, Any]:
    t0 = time.perf_counter()
    from hcpcs_atlas.spark.benchmarks import payer_benchmarks
    from hcpcs_atlas.spark.ingest import ingest_to_parquet
    from hcpcs_atlas.spark.session import class_data_sharing, spark_session
    from hcpcs_atlas.store import Store
    from hcpcs_atlas.store.tic_parquet import attach_tic_parquet

    t1 = time.perf_counter()
    archive = class_data_sharing()
    spark = spark_session("local[2]", sources=False)  # as ingest tic --engine spark starts it
    t2 = time.perf_counter()
    result = ingest_to_parquet(spark, files, str(parquet), None if all_codes else ",".join(CODES))
    t3 = time.perf_counter()
    with Store(db) as store:
        summary = attach_tic_parquet(store, parquet)
    t4 = time.perf_counter()
    cpu = self_cpu() + tree_cpu(spark.sparkContext._gateway.proc.pid)  # type: ignore[union-attr]
    written = list((parquet / "rates").rglob("*.parquet"))
    rates = spark.read.parquet(str(parquet / "rates"))
    checked = rates.where(rates.code_group == "J").where(rates.billing_code.isin(*CODES))
    figures = payer_benchmarks(checked).collect()
    t5 = time.perf_counter()
    spark.stop()
    return {
        "archive": "used" if "SharedArchiveFile" in archive else "made at exit" if archive else "off",
        "import_s": t1 - t0, "session_s": t2 - t1, "spark_job_s": t3 - t2, "attach_s": t4 - t3, "sql_s": t5 - t4, "cpu_s": cpu,
        "rows": sum(n for _, n in summary.ingested), "failed": summary.failed,
        "parquet_files": len(written), "parquet_bytes": sum(p.stat().st_size for p in written),
        "codes": len(_codes(parquet / "rates")), "per_code_files": _per_code_files(parquet / "rates"),
        "worker_peaks": [f["worker_peak_rss_bytes"] for f in result.files],
        "spark_figures": [r.asDict() for r in figures],
    }  # fmt: skip


def _codes(rates: Path) -> set[str]:
    import duckdb

    query = (
        f"SELECT DISTINCT billing_code FROM read_parquet('{rates}/*/*/*.parquet', hive_partitioning = true)"
    )
    return {c for (c,) in duckdb.connect().execute(query).fetchall()}


def _per_code_files(rates: Path) -> int:
    """The files a folder per code (the layout before) would have held: one per input file and code."""
    import duckdb

    query = (
        "SELECT count(*) FROM (SELECT DISTINCT sha256, location, payer, billing_code "
        f"FROM read_parquet('{rates}/*/*/*.parquet', hive_partitioning = true))"
    )
    return int(duckdb.connect().execute(query).fetchall()[0][0])


class Sampler(threading.Thread):
    """Polls the VmHWM of every descendant of ``root`` (the JVM, Python workers) until stopped, and its
    own CPU time (user + system, not its children's): summed, a cross-check of the CPU figures that does
    not depend on who reaps whom (a process living less than the 0.2 s between polls is missed)."""

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root, self.peaks, self.stop = root, dict[str, int](), threading.Event()
        self.cpu: dict[int, float] = {}

    def run(self) -> None:
        tick = os.sysconf("SC_CLK_TCK")
        while not self.stop.wait(0.2):
            for pid, name in self._descendants():
                self.peaks[f"{name}:{pid}"] = max(self.peaks.get(f"{name}:{pid}", 0), vm_hwm(pid))
                try:
                    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                except (OSError, IndexError):
                    continue
                self.cpu[pid] = max(self.cpu.get(pid, 0.0), (int(fields[11]) + int(fields[12])) / tick)

    def _descendants(self) -> list[tuple[int, str]]:
        parents: dict[int, tuple[int, str]] = {}
        for status in Path("/proc").glob("[0-9]*/status"):
            try:
                fields = dict(
                    line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line
                )
                parents[int(status.parent.name)] = (int(fields["PPid"]), fields["Name"].strip())
            except (OSError, KeyError, ValueError):
                continue
        found, frontier = [(self.root, "root")], {self.root}
        while frontier:
            kids = {pid for pid, (ppid, _) in parents.items() if ppid in frontier}
            found += [(pid, parents[pid][1]) for pid in kids]
            frontier = kids
        return found


def run_child(command: list[str]) -> tuple[bytes, float, float, dict[str, int], float]:
    """(stdout, wall seconds, CPU seconds of the child and every descendant it reaped, peak RSS by process,
    CPU seconds sampled from every descendant while it ran)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, env={**os.environ, "PYSPARK_PYTHON": sys.executable}
    )
    sampler = Sampler(proc.pid)
    sampler.start()
    out, _ = proc.communicate()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    sampler.stop.set()
    if proc.returncode:
        raise SystemExit(f"{command[:4]} failed ({proc.returncode})")
    return out, wall, cpu, sampler.peaks, sum(sampler.cpu.values())


# -- figures -----------------------------------------------------------------------------------------------


def facts_time(db: Path, code: str = "J9032") -> tuple[float, float]:
    """Wall and CPU seconds of every payer's benchmarks for one code (what ``facts`` does for TiC)."""
    from hcpcs_atlas.facts.tic import payer_facts
    from hcpcs_atlas.store import Store

    with Store(db, read_only=True) as store:
        wall, cpu = time.perf_counter(), time.process_time()
        payer_facts(store, code, None)
        return time.perf_counter() - wall, time.process_time() - cpu


def local_figures(db: Path) -> dict[tuple[str, str], dict[str, Any]]:
    from dataclasses import asdict

    from hcpcs_atlas.facts.tic import payer_facts
    from hcpcs_atlas.store import Store

    with Store(db, read_only=True) as store:
        return {(p.payer, code): asdict(p.benchmarks) for code in CODES
                for p in payer_facts(store, code, None) if p.benchmarks}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--size-mb", type=int, default=64, help="uncompressed size of each file")
    parser.add_argument("--profile", choices=["realistic", "synthetic"], default="realistic",
                        help="generator profile: realistic = filler items shaped like a real TPA file")  # fmt: skip
    parser.add_argument("--all-codes", action="store_true",
                        help="keep every Level II code (the default code set), not the twenty drug codes")  # fmt: skip
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("rest", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        db, *files = args.rest
        result = child_spark(Path(db), files, Path(db).with_suffix(".parquet"), args.child == "all")
        sys.stdout.write(orjson.dumps(result).decode() + "\n")
        return
    report(args.files, args.size_mb, args.profile, args.all_codes)


def report(count: int, size_mb: int, profile: str, all_codes: bool) -> None:
    import shutil

    files = [str(p) for p in make_files(count, size_mb, profile)]
    compressed = sum(Path(f).stat().st_size for f in files)
    runs = WORK / "runs"
    shutil.rmtree(runs, ignore_errors=True)
    runs.mkdir()
    codes = [] if all_codes else ["--codes", ",".join(CODES)]
    local_cli = [sys.executable, "-m", "hcpcs_atlas", "--db", str(runs / "local.duckdb"), "ingest", "tic",
                 *files, *codes, "--jobs", "2"]  # fmt: skip
    load = os.getloadavg()[0]
    _, local_wall, local_cpu, local_peaks, local_sampled = run_child(local_cli)
    out, spark_wall, spark_cpu, peaks, spark_sampled = run_child(
        [
            sys.executable,
            __file__,
            "--child",
            "all" if all_codes else "twenty",
            str(runs / "spark.duckdb"),
            *files,
        ]
    )
    spark = orjson.loads(out.splitlines()[-1])
    spark_cpu = spark["cpu_s"]  # up to the attach; rusage would miss the JVM, which the child never reaps
    same_facts = local_figures(runs / "local.duckdb") == local_figures(runs / "spark.duckdb")
    spark_sql = {(r["payer"], r["billing_code"]): {k: v for k, v in r.items() if k not in ("payer", "billing_code")}
                 for r in spark["spark_figures"]}  # fmt: skip
    same_sql = spark_sql == local_figures(runs / "local.duckdb")
    facts = {side: facts_time(runs / f"{side}.duckdb") for side in ("local", "spark")}
    jvm = max((v for k, v in peaks.items() if k.startswith("java")), default=0)
    workers = [v for k, v in peaks.items() if k.startswith("python")]
    kept = f"every Level II code ({spark['codes']:,} in the files)" if all_codes else f"{len(CODES)} codes"
    print(f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cores, "
          f"{count} files ({profile}), {count * size_mb} MB uncompressed, {compressed / MB:.0f} MB gzip, {kept} kept, "
          f"{spark['rows']:,} rate rows; load average {load:.1f} -> {os.getloadavg()[0]:.1f} (2 cores shared)")  # fmt: skip
    print(f"local --jobs 2            : {local_wall:6.1f} s wall, {local_cpu:6.1f} s CPU; peak RSS per process "
          f"{max(local_peaks.values(), default=0) / MB:.0f} MB (largest of writer and readers)")  # fmt: skip
    print(f"Spark local[2]            : {spark_wall:6.1f} s wall, {spark_cpu:6.1f} s CPU; wall = import {spark['import_s']:.1f} s + session "
          f"{spark['session_s']:.1f} s + job {spark['spark_job_s']:.1f} s + attach {spark['attach_s']:.1f} s + SQL figures {spark['sql_s']:.1f} s; "
          f"class archive {spark['archive']}")  # fmt: skip
    print(f"  peak RSS: JVM (driver = executor) {jvm / MB:.0f} MB, Python worker "
          f"{max(spark['worker_peaks']) / MB:.0f} MB as the task saw it, "
          f"{max(workers, default=0) / MB:.0f} MB largest Spark Python process sampled")  # fmt: skip
    ingest_wall = spark_wall - spark["sql_s"]  # the Spark SQL figures are the check, not the ingest
    print(f"ratio Spark / local: {ingest_wall / local_wall:.2f}x wall (Spark's wall without the SQL figures "
          f"{ingest_wall:.1f} s), {spark_cpu / local_cpu:.2f}x CPU; "
          f"Spark job alone / local wall {spark['spark_job_s'] / local_wall:.2f}x")  # fmt: skip
    print(f"CPU sampled from /proc every 0.2 s (every process's own time, the SQL figures included on "
          f"Spark's side): local {local_sampled:.1f} s, Spark {spark_sampled:.1f} s "
          f"({spark_sampled / max(local_sampled, 1e-9):.2f}x)")  # fmt: skip
    for name, seconds in (("local", local_wall), ("Spark job", spark["spark_job_s"])):
        print(f"{name} throughput: {count * size_mb / seconds / 2:.1f} MB/s per core uncompressed, "
              f"{compressed / MB / seconds / 2:.1f} MB/s per core compressed")  # fmt: skip
    print(
        f"Parquet written: {spark['parquet_files']} rate files, {spark['parquet_bytes'] / MB:.1f} MB "
        f"({spark['parquet_bytes'] / max(1, spark['parquet_files']) / 1000:.0f} kB a file, "
        f"{spark['parquet_files'] / count:.1f} per input file; a folder per code would have made "
        f"{spark['per_code_files']:,})"
    )
    print("facts for J9032 (every payer): " + ", ".join(
        f"{side} store {w:.2f} s wall, {c:.2f} s CPU" for side, (w, c) in facts.items()))  # fmt: skip
    print(f"figures: facts from both stores equal: {same_facts}; Spark SQL benchmarks == local: {same_sql} "
          f"({len(spark_sql)} payer x code)")  # fmt: skip


if __name__ == "__main__":
    main()
