"""Hospital price files: ingest speed against the csv module, and JSON streaming throughput and memory.

Run from the repository root (the real files are read from ../shared/data)::

    python benchmarks/hospital_ingest.py               # UNC tall CSV + a 1 GB JSON built from UChicago's
    python benchmarks/hospital_ingest.py --json-gb 2   # a bigger JSON file (cached in benchmarks/_work/)
    python benchmarks/hospital_ingest.py --json-only --kinds json-ingest   # the 1 GB JSON ingest alone

Each measurement runs in a fresh interpreter, so its peak RSS (Linux ``VmHWM``) is its own; the best of
``--repeat`` runs is reported, side by side in one run (the machine is shared: only ratios are stable).

- ``csv``: Python's csv module reading every row of the UNC file (gzip.open, UTF-8): the baseline;
- ``ingest``: ``hcpcs-atlas ingest hospital`` on the same file, every Level II code kept, into a fresh
  store (read, parse, resolve payers, store): target <= 1.5x the baseline; with the C scanner
  (``_csvscan``) when it is built, and ``ingest, pure Python``: the same with HCPCS_ATLAS_PURE_PYTHON=1
  (UNC only; ``--no-pure`` leaves it out);
- the same pair on MD Anderson's wide CSV (the csv-module path: 400 payer columns a row), no target;
- ``json``: ``read_hospital_file`` on a >= 1 GB JSON file made by repeating UChicago's items (plain JSON,
  J9032/J9330 kept, ``--codes``); ``json-level2``: the same reader, every Level II code kept (charges
  handed to a sink that drops them: the reader's own cost and memory); ``json-ingest``: the whole
  ``ingest hospital`` of that file, every Level II code kept, into a fresh store (read, stage, store):
  targets peak RSS < 400 MB and >= 100 MB/s of JSON. Each JSON measurement runs with the C item search
  (``sources/hospital/_jsonitems.c``) and in pure Python (``HCPCS_ATLAS_PURE_PYTHON=1``), interleaved,
  with their ratio.

Times are CPU seconds of the measured process (all its threads) and wall seconds: the best wall time of
the runs, and separately the least CPU time; on a shared machine the wall figure carries other processes'
load (the load average at the start is printed), so the ratios are given for both.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("HCPCS_ATLAS_SHARED_DATA", ROOT.parent / "shared" / "data"))
REAL = DATA / "hospital_price_transparency" / "real"
UNC = REAL / "unc-hospitals_standardcharges.csv.gz"
UCHICAGO = REAL / "uchicago_standardcharges.json.gz"
MDA = REAL / "md-anderson_standardcharges.csv.gz"
WORK = ROOT / "benchmarks" / "_work"
TARGETS = ("J9032", "J9330")
GB = 1_000_000_000


def make_json(size_gb: float) -> Path:
    """UChicago's document with its items repeated until the file is ``size_gb`` (written once)."""
    path = WORK / f"hospital_{size_gb:g}gb.json"
    if path.is_file():
        return path
    WORK.mkdir(parents=True, exist_ok=True)
    with gzip.open(UCHICAGO, "rb") as fh:
        doc = orjson.loads(fh.read())
    items = [orjson.dumps(item) for item in doc.pop("standard_charge_information")]
    head = orjson.dumps(doc)[:-1] + b', "standard_charge_information": ['
    partial = path.with_suffix(".part")
    with partial.open("wb") as out:
        out.write(head)
        written, first = len(head), True
        while written < size_gb * GB:
            for item in items:
                out.write(item if first else b"," + item)
                written += len(item) + (0 if first else 1)
                first = False
        out.write(b"]}")
    partial.replace(path)
    return path


def measure_csv(path: Path) -> dict[str, Any]:
    start, cpu, rows = time.perf_counter(), time.process_time(), 0
    with gzip.open(path, "rt", encoding="utf-8-sig", newline="") as fh:
        for _ in csv.reader(fh):
            rows += 1
    return {"seconds": time.perf_counter() - start, "cpu_seconds": time.process_time() - cpu, "rows": rows}


def measure_ingest(path: Path) -> dict[str, Any]:
    from hcpcs_atlas.sources import is_level2
    from hcpcs_atlas.store import Store
    from hcpcs_atlas.store.hospital import ingest_hospital

    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "atlas.duckdb") as store:
        start, cpu = time.perf_counter(), time.process_time()
        summary = ingest_hospital(store, [str(path)], is_level2)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert not summary.failed, summary.failed
    return {"seconds": seconds, "cpu_seconds": cpu, "charges": summary.ingested[0][1],
            "mb_per_s": path.stat().st_size / seconds / 1e6}  # fmt: skip


def measure_json(path: Path, keep: Any = frozenset(TARGETS).__contains__) -> dict[str, Any]:
    """``--codes J9032,J9330``: the wanted codes go into the item search itself. Kept charges go to a
    sink that drops them (as ``ingest`` stages them on disk), so memory is the reader's own."""
    from hcpcs_atlas.sources.hospital import read_hospital_file

    start, cpu = time.perf_counter(), time.process_time()
    hf = read_hospital_file(path, keep, sink=lambda charges: None)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"seconds": seconds, "cpu_seconds": cpu, "items": hf.rows_seen, "charges": hf.n_charges,
            "mb_per_s": path.stat().st_size / seconds / 1e6}  # fmt: skip


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_json_level2(path: Path) -> dict[str, Any]:
    """Every Level II code kept (a callable, not a set): every item's codes go through Python."""
    from hcpcs_atlas.sources import is_level2

    return measure_json(path, is_level2)


MEASURES = {
    "csv": measure_csv,
    "ingest": measure_ingest,
    "json": measure_json,
    "json-level2": measure_json_level2,
    "json-ingest": measure_ingest,
}


PURE = "-pure"  # a kind ending so: measured with the C accelerators switched off


def run_child(kind: str, path: Path, pure: bool = False) -> dict[str, Any]:
    measure = kind.removesuffix(PURE)
    command = [sys.executable, __file__, "--measure", measure, str(path)]
    env = os.environ | {"PYTHONPATH": str(ROOT / "src")}
    if pure or kind != measure:  # what a machine without a C compiler runs
        env["HCPCS_ATLAS_PURE_PYTHON"] = "1"
    out = subprocess.run(command, check=True, capture_output=True, env=env)
    result: dict[str, Any] = orjson.loads(out.stdout)
    return result


def best_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    best = dict(min(runs, key=lambda r: float(r["seconds"])))
    best["max_rss_mb"] = max(float(r["max_rss_mb"]) for r in runs)
    best["cpu_seconds"] = min(float(r["cpu_seconds"]) for r in runs)  # the least CPU, whichever run
    return best


def compare(label: str, path: Path, repeat: int, target: str, pure: bool = False) -> None:
    """The csv module reading every row against ``ingest hospital`` (and, with ``pure``, the same with
    the C accelerators off), interleaved (all see the same load); each side's best wall time and,
    separately, its least CPU time."""
    kinds = ("csv", "ingest", "ingest" + PURE) if pure else ("csv", "ingest")
    runs: list[tuple[str, dict[str, Any]]] = []
    for _ in range(repeat):
        runs += [(kind, run_child(kind, path)) for kind in kinds]
    sides = {kind: [r for k, r in runs if k == kind] for kind in kinds}
    best = {k: min(sides[k], key=lambda r: float(r["seconds"])) for k in kinds}
    cpu = {k: min(float(r["cpu_seconds"]) for r in sides[k]) for k in kinds}
    base = best["csv"]
    print(f"{label} ({path.stat().st_size / 1e6:.1f} MB gz, {base['rows']:,} CSV records), best of {repeat}")
    names = {"csv": "csv module, every row", "ingest": "ingest hospital, Level II",
             "ingest" + PURE: "  the same, pure Python"}  # fmt: skip
    for kind in kinds:
        r, rss = best[kind], max(float(x["max_rss_mb"]) for x in sides[kind])
        ratio = "" if kind == "csv" else (
            f"  {r['seconds'] / base['seconds']:.2f}x wall, {cpu[kind] / cpu['csv']:.2f}x CPU{target}"
        )  # fmt: skip
        print(f"  {names[kind]:<26} {r['seconds']:6.2f} s wall {cpu[kind]:6.2f} s CPU  peak RSS {rss:5.0f} MB"
              f"{ratio}")  # fmt: skip
    print(f"  {best['ingest']['charges']:,} charges stored")


def accel_built() -> bool:
    env = os.environ | {"PYTHONPATH": str(ROOT / "src")}
    probe = (
        "from hcpcs_atlas.sources.hospital import jsonfile as j; print(j.accel.load(j._ACCEL) is not None)"
    )
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, env=env, text=True)
    return out.stdout.strip() == "True"


def compare_json(path: Path, repeat: int, kinds: list[str]) -> None:
    """Each JSON measurement with the C item search and in pure Python, interleaved (both see the same
    load): best wall time and least CPU time of each side, and their ratio."""
    size = path.stat().st_size
    built = accel_built()
    print(f"JSON {size / 1e9:.2f} GB ({path.name}); C item search built: {built}")
    sides = ("C", "pure") if built else ("pure",)
    for kind in kinds:
        runs: dict[str, list[dict[str, Any]]] = {side: [] for side in sides}
        for _ in range(repeat):
            for side in sides:
                runs[side].append(run_child(kind, path, pure=side == "pure"))
        best = {side: best_of(runs[side]) for side in sides}
        first = best[sides[0]]
        what = f"{first['charges']:,} charges kept" + (
            f" of {first['items']:,} items" if "items" in first else ", stored"
        )
        print(f"  {kind}: {what}, best of {repeat}")
        for side in sides:
            js = best[side]
            print(f"    {side:<4} {js['seconds']:6.2f} s wall ({js['mb_per_s']:4.0f} MB/s), {js['cpu_seconds']:6.2f} s CPU "
                  f"({size / js['cpu_seconds'] / 1e6:4.0f} MB/s; target >= 100), peak RSS {js['max_rss_mb']:4.0f} MB (target < 400)")  # fmt: skip
        assert all(best[s]["charges"] == first["charges"] for s in sides), "C and pure Python differ"
        if built:
            c, pure = best["C"], best["pure"]
            print(f"    pure / C: {pure['seconds'] / c['seconds']:.2f}x wall, "
                  f"{pure['cpu_seconds'] / c['cpu_seconds']:.2f}x CPU")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json-gb", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json-only", action="store_true", help="skip the CSV comparisons")
    parser.add_argument("--kinds", default="json,json-level2,json-ingest", help="JSON measurements to run")
    parser.add_argument("--no-pure", action="store_true", help="leave out the pure-Python ingest (UNC)")
    parser.add_argument("--unc-only", action="store_true", help="the UNC comparison only")
    parser.add_argument("--measure", nargs=2, metavar=("KIND", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        kind, path = args.measure
        result = MEASURES[kind](Path(path))
        result["max_rss_mb"] = peak_rss_mb()
        sys.stdout.buffer.write(orjson.dumps(result))
        return
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if not args.json_only:
        compare("UNC tall CSV", UNC, args.repeat, " (target <= 1.5x)", pure=not args.no_pure)
        if args.unc_only:
            return
        compare("MD Anderson wide CSV", MDA, args.repeat, "")
    compare_json(make_json(args.json_gb), args.repeat, args.kinds.split(","))
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
