"""Time ``hcpcs-atlas load nppes`` on a generated file of the real shape, and extrapolate to the 9 GB file.

Run from the repository root::

    python benchmarks/nppes_load.py                  # 1,000,000 rows (~1.2 GB), the CSV and its zip
    python benchmarks/nppes_load.py --rows 250000    # quicker
    python benchmarks/nppes_load.py --rows 2000000 --no-zip

The file comes from :mod:`hcpcs_atlas.synth.nppes` (the real 330-column current layout, every field
quoted, ~1.2 KB a row like the real ~9 GB / ~8 million row monthly file), cached in ``benchmarks/_work/``.
The benchmark is bounded so that it runs in a few minutes: it loads a file of ``--rows`` rows, not the full
9 GB, and EXTRAPOLATES linearly by bytes (the load streams, so time grows with bytes and memory does not:
the table shows peak memory at two sizes to prove the second point). Each load runs in a fresh
subprocess as the CLI would, into a fresh store; peak RSS is that child's high-water mark (``VmHWM``),
interpreter included. CPU is the child's user + system time over both cores; on a machine shared with
other work the wall time is longer than on an idle one, so the load average is reported too. The load is
CPU-bound (DuckDB parses on one core while a thread copies or unzips into the pipe on the other), so on an
idle machine its wall time is at most its CPU time: the CPU column is the figure to compare with the
3-minute target when the machine is busy.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / "_work"
FULL_FILE_BYTES = 9_000_000_000  # the monthly NPPES CSV, ~9 GB
TARGET_SECONDS = 180


def make_file(rows: int, archive: str) -> tuple[Path, int]:
    """The generated file (reused when there) and its CSV size in bytes."""
    from hcpcs_atlas.synth.nppes import NppesSynthOptions, write_nppes

    WORK.mkdir(parents=True, exist_ok=True)
    suffix = "zip" if archive == "zip" else "csv"
    path = WORK / f"npidata_pfile_20050523-20251109_{rows}.{suffix}"
    sidecar = path.with_suffix(".json")
    if path.exists() and sidecar.exists():
        return path, int(orjson.loads(sidecar.read_bytes())["bytes"])
    result = write_nppes(path, NppesSynthOptions(rows=rows, archive=archive))  # type: ignore[arg-type]
    sidecar.write_bytes(orjson.dumps({"bytes": result.bytes_written, "rows": result.rows}))
    return path, result.bytes_written


def child_main(path: Path, db: Path) -> None:
    """In the child: the CLI's own code path, then this process's figures as JSON on stdout."""
    from hcpcs_atlas.store import Store
    from hcpcs_atlas.store.nppes import load_nppes

    start = time.perf_counter()
    with Store(db) as store:
        result = load_nppes(store, path)
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        orjson.dumps(
            {
                "rows": result.rows,
                "wall_s": wall,
                "cpu_s": usage.ru_utime + usage.ru_stime,
                "rss_mb": peak_rss_mb(),
            }
        ).decode()
    )


def peak_rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(path: Path) -> dict[str, Any]:
    db = WORK / "bench-nppes.duckdb"
    for stale in WORK.glob("bench-nppes.duckdb*"):
        stale.unlink()
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(path), str(db)], check=True, capture_output=True, text=True
    )
    for stale in WORK.glob("bench-nppes.duckdb*"):
        stale.unlink()
    return dict(orjson.loads(out.stdout.strip().splitlines()[-1]))


def line(name: str, csv_bytes: int, m: dict[str, Any]) -> str:
    mb_s = csv_bytes / 1e6 / m["wall_s"]
    full = FULL_FILE_BYTES / csv_bytes * m["wall_s"]
    full_cpu = FULL_FILE_BYTES / csv_bytes * m["cpu_s"]
    return (
        f"| {name} | {m['rows']:,} | {csv_bytes / 1e9:.2f} | {m['wall_s']:.1f} | {m['cpu_s']:.1f} | {mb_s:.0f} "
        f"| {m['rss_mb']:.0f} | {full:.0f} | {full_cpu:.0f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--no-zip", action="store_true", help="time the plain CSV only")
    args = parser.parse_args()
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}"
    )
    table = [
        "| input | rows | CSV GB | wall s | CPU s | MB/s (wall) | peak RSS MB | 9 GB wall s (extrapolated) "
        "| 9 GB CPU s (extrapolated) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    small, small_bytes = make_file(max(args.rows // 4, 1000), "none")
    path, csv_bytes = make_file(args.rows, "none")
    table.append(line("CSV, 1/4 size", small_bytes, run_child(small)))
    measured = run_child(path)
    table.append(line("CSV", csv_bytes, measured))
    if not args.no_zip:
        zipped, _ = make_file(args.rows, "zip")
        table.append(line("zip (monthly download)", csv_bytes, run_child(zipped)))
    print("\n".join(table))
    full = FULL_FILE_BYTES / csv_bytes * measured["wall_s"]
    cpu = FULL_FILE_BYTES / csv_bytes * measured["cpu_s"]
    print(
        f"extrapolated 9 GB load: {full:.0f} s wall as measured (target {TARGET_SECONDS} s), {cpu:.0f} CPU s; "
        "the load is CPU-bound, so on an idle machine its wall time is at most its CPU time. "
        f"Load average now {os.getloadavg()[0]:.1f}."
    )


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child_main(Path(sys.argv[2]), Path(sys.argv[3]))
    else:
        main()
