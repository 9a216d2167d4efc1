"""TiC ingest throughput on real shapes: decompressors, a peer extractor and ``hcpcs-atlas ingest tic``.

Run from the repository root (a few minutes; the big file is generated once into benchmarks/_work/)::

    python benchmarks/tic_throughput.py                  # a 1 GB (uncompressed) realistic file + HealthSCOPE
    python benchmarks/tic_throughput.py --size-gb 2
    python benchmarks/tic_throughput.py --also-src ../main/src   # + the ingest of another checkout
    python benchmarks/tic_throughput.py --pure                   # + the ingest without the C accelerator
    python benchmarks/tic_throughput.py --rounds 5 --no-peers --skip-real   # medians over interleaved rounds

The realistic file is :mod:`hcpcs_atlas.synth` with ``profile="realistic"``: filler items shaped like the
real HealthSCOPE Benefits file (Level II share, rates per item, prices per rate, one provider reference per
rate, its 53 references as measured: 124 NPIs a row, place-of-service lists of 17/32/49 codes, modifiers;
see ``REALISTIC`` in synth/tic.py and benchmarks/tic_shape.py). The file is generated once and regenerated
when the profile changes (its fingerprint is in the ``.answers.json`` beside it). Each
measurement runs in a fresh process; peak RSS is that process's (or its children's) high-water mark:

- stdlib ``gzip`` decompress (read all, discard): the baseline every ratio is against;
- ``isal`` decompress (``isal.igzip``, what the reader uses);
- ``rapidgzip`` decompress with 2 threads (parallel inflate);
- cms-mrf-extractor's ``mrf-extract`` (PyPI): full extraction of the file to Parquet, a peer;
- ``hcpcs-atlas ingest tic FILE`` with the default code set (every Level II code), into a fresh store:
  the whole command, interpreter start-up included, as the README installs it: the sources byte-compiled
  first, and numpy (a test extra, which pyarrow imports when it can: 0.4 CPU-s more) not importable; one
  more line runs it with numpy importable, as in the test venv. Its row count is checked against the
  generator's.
  Once as a user runs it (``--jobs`` = the cores: one file is read by the main process and a helper
  process, see sources/tic/split.py) and once with ``--jobs 1`` (one process). With ``--pure`` both again
  under ``HCPCS_ATLAS_PURE_PYTHON=1``: what a machine without a C compiler runs (sources/tic/_flatten.c).

rapidgzip and cms-mrf-extractor are installed into a benchmark-only venv (benchmarks/_work/peer-venv) with
pip; they are not project dependencies. If that install fails, their lines say so.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / "_work"
PEER = WORK / "peer-venv"
PEER_PACKAGES = ("cms-mrf-extractor", "rapidgzip")
HEALTHSCOPE = (
    ROOT.parent
    / "shared"
    / "data"
    / "tic"
    / "real"
    / "healthscope-benefits_in-network-rates_2023-02-01.json.gz"
)
GB = 1_000_000_000
#: cms-mrf-extractor's option sets, tried in turn until one succeeds: its type detection fails on a
#: non-integer id (320.25975), its pyarrow.json decoder on some shapes; the last is its reference path.
PEER_OPTIONS = (
    (),
    ("--id-type", "string"),
    ("--id-type", "string", "--npi-type", "string"),
    ("--id-type", "string", "--npi-type", "string", "--no-arrow-json"),
)

#: Runs a command and prints its wall time, its CPU time (user + system, all threads and child processes:
#: the machine is shared, so wall time is noisy and CPU time is the steadier figure), the peak RSS of
#: its process tree's largest member and the peak of the tree's summed RSS (sampled every 50 ms: the
#: ingest's helper process is a second member), and the CPU time of the command's own process and of its
#: child processes apart (their last sample, up to 50 ms short): on an idle machine the ingest's wall time
#: cannot drop below its main process's CPU time, whatever the helper takes.
WRAPPER = """
import glob, json, os, resource, subprocess, sys, threading, time
TICK = os.sysconf("SC_CLK_TCK")
def tree(pid):
    total, cpu, todo = 0, {}, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as fh:
                total += next(int(l.split()[1]) for l in fh if l.startswith("VmRSS:"))
            with open(f"/proc/{p}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            cpu[p] = (int(fields[11]) + int(fields[12])) / TICK
            for kids in glob.glob(f"/proc/{p}/task/*/children"):
                with open(kids) as fh:
                    todo += [int(k) for k in fh.read().split()]
        except (OSError, StopIteration, ValueError, IndexError):
            pass
    return total, cpu
started = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
peak, cpus = [0], {}
def watch():
    while proc.poll() is None:
        rss, cpu = tree(proc.pid)
        peak[0] = max(peak[0], rss)
        cpus.update(cpu)
        time.sleep(0.05)
threading.Thread(target=watch, daemon=True).start()
out, err = proc.communicate()
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
# the command's own process (after env/exec: the same pid) and its helpers, as last sampled
mine = [c for p, c in cpus.items() if p != proc.pid]
print(json.dumps({"seconds": time.perf_counter() - started, "cpu": usage.ru_utime + usage.ru_stime,
                  "code": proc.returncode, "out": out[-2000:], "err": err[-2000:],
                  "max_rss_mb": usage.ru_maxrss / 1024, "tree_rss_mb": peak[0] / 1024,
                  "main_cpu": cpus.get(proc.pid, 0.0), "helper_cpu": sum(mine)}))
"""
DECOMPRESS = {
    "gzip": "import gzip, sys\nwith gzip.open(sys.argv[1], 'rb') as f:\n    while f.read(8 << 20): pass",
    "isal": "import sys\nfrom isal import igzip\nwith igzip.open(sys.argv[1], 'rb') as f:\n    while f.read(8 << 20): pass",
    "rapidgzip": "import sys, rapidgzip\nwith rapidgzip.open(sys.argv[1], parallelization=2) as f:\n"
    "    while f.read(8 << 20): pass",
}


def measure(command: list[str]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", WRAPPER, *command], check=True, capture_output=True, text=True
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def make_realistic(size_gb: float, seed: int) -> tuple[Path, dict[str, Any]]:
    """The realistic file and its known answers (rows the default codes keep), generated once."""
    from hcpcs_atlas.synth import TicSynthOptions, write_in_network
    from hcpcs_atlas.synth.tic import realistic_fingerprint

    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / f"tic-realistic-{size_gb:g}gb-seed{seed}.json.gz"
    sidecar = path.with_suffix(".answers.json")
    profile = realistic_fingerprint()  # a file made by another profile is regenerated, not measured
    if path.is_file() and sidecar.is_file() and json.loads(sidecar.read_text()).get("profile") == profile:
        return path, json.loads(sidecar.read_text())
    for stale in (path, sidecar):
        if stale.is_symlink():  # never write through a link into another checkout's file
            stale.unlink()
    print(f"writing {path.relative_to(ROOT)} ...", file=sys.stderr, flush=True)
    options = TicSynthOptions(seed=seed, size_bytes=int(size_gb * GB), profile="realistic")
    made = write_in_network(path, options)
    meta = {"rows": made.level2_rows + len(made.rows), "items": made.items, "bytes": made.uncompressed_bytes,
            "profile": profile}  # fmt: skip
    sidecar.write_text(json.dumps(meta))
    return path, meta


def peer_python() -> tuple[Path | None, str]:
    """The benchmark-only venv with the peers, created on first use; (python, note)."""
    python = PEER / "bin" / "python"
    if not python.is_file():
        subprocess.run([sys.executable, "-m", "venv", str(PEER)], check=True)
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", *PEER_PACKAGES],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        return None, f"pip install {' '.join(PEER_PACKAGES)} failed: {done.stderr.strip()[-200:]}"
    return python, ""


def uncompressed_size(path: Path) -> int:
    import gzip

    total = 0
    with gzip.open(path, "rb") as fh:
        while block := fh.read(8 << 20):
            total += len(block)
    return total


@dataclass
class Line:
    method: str
    result: dict[str, Any] | None
    note: str = ""


def run_file(
    path: Path,
    peer: Path | None,
    peer_note: str,
    expected_rows: int | None,
    also: Path | None = None,
    pure: bool = False,
) -> list[Line]:
    lines = [
        Line(
            "stdlib gzip: decompress (baseline)",
            measure([sys.executable, "-c", DECOMPRESS["gzip"], str(path)]),
        )
    ]
    lines.append(Line("isal: decompress", measure([sys.executable, "-c", DECOMPRESS["isal"], str(path)])))
    if peer is None:
        lines += [
            Line("rapidgzip 2 threads: decompress", None, peer_note),
            Line("cms-mrf-extractor", None, peer_note),
        ]
    else:
        rapid = measure([str(peer), "-c", DECOMPRESS["rapidgzip"], str(path)])
        lines.append(Line("rapidgzip, 2 threads: decompress", rapid, _failed(rapid)))
        with tempfile.TemporaryDirectory(dir=WORK) as tmp:
            source = Path(tmp) / "in"
            source.mkdir()
            (source / path.name).symlink_to(path)
            extract = peer.parent / "mrf-extract"
            run: dict[str, Any] = {}
            tried: list[str] = []
            for options in PEER_OPTIONS:  # its defaults first; then what its crashes ask for
                shutil.rmtree(f"{tmp}/out", ignore_errors=True)
                run = measure([str(extract), str(source), "-o", f"{tmp}/out", "-q", *options])
                tried.append(" ".join(options) or "defaults")
                if run["code"] == 0:
                    break
            written = (
                sum(f.stat().st_size for f in Path(f"{tmp}/out").rglob("*.parquet"))
                if run["code"] == 0
                else 0
            )
            note = (
                f"FAILED with every option set tried ({'; '.join(tried)}): {_failed(run)}"
                if run["code"] != 0
                else f"whole file to Parquet ({written / 1e6:,.0f} MB written; options: {tried[-1]})"
            )
            lines.append(Line("cms-mrf-extractor: mrf-extract", run, note))
    sources = [(ROOT / "src", "")] + (
        [(also, f" [{also.resolve().parent.name}]")] if also is not None else []
    )
    modes = [("", "0")] + ([(", pure Python", "1")] if pure else [])
    runs = [(src, f"{tag}{label}{kind}", extra, flag, True) for src, tag in sources for kind, flag in modes
            for label, extra in (("", []), (", --jobs 1", ["--jobs", "1"]))]  # fmt: skip
    runs.append((ROOT / "src", ", numpy importable", [], "0", False))
    for src, _ in sources:
        # as an installed package has them: without, every run compiles the modules (0.1 s here, with
        # PYTHONDONTWRITEBYTECODE set as on this machine)
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(src)], check=True, capture_output=True)
    with tempfile.TemporaryDirectory(prefix="no-numpy-") as folder:
        return lines + [_ingest(path, expected_rows, run, _numpy_hidden(Path(folder))) for run in runs]


def _ingest(
    path: Path, expected_rows: int | None, run: tuple[Path, str, list[str], str, bool], hidden: Path
) -> Line:
    """One measured ``ingest tic`` of ``path`` into a fresh store."""
    src, label, extra, flag, installed = run
    with tempfile.TemporaryDirectory(dir=WORK) as tmp:
        path_entries = f"{hidden}:{src}" if installed else str(src)
        env = f"PYTHONPATH={path_entries} HCPCS_ATLAS_PURE_PYTHON={flag}"
        db = f"{tmp}/atlas.duckdb"
        done = measure(["env", *env.split(), sys.executable, "-m", "hcpcs_atlas", "--db", db, "ingest", "tic",
                        *extra, str(path)])  # fmt: skip
    rows = _rows(done["out"])
    note = _failed(done) or f"{rows:,} rows"
    if expected_rows is not None and not _failed(done):
        note += " == known answer" if rows == expected_rows else f" != known answer {expected_rows:,}"
    return Line(f"ingest tic (default codes{label})", done, note)


def _numpy_hidden(folder: Path) -> Path:
    """``folder`` with a ``numpy`` that cannot be imported, for the front of the measured command's path:
    the README's install has no numpy (a test extra), and pyarrow, which imports it when it can, then
    costs the ingest 0.4 CPU-s less (its import and its per-value checks). The "numpy importable" line
    measures the test venv as it is. Outside the repository: mypy would take it for numpy."""
    (folder / "numpy.py").write_text(
        'raise ImportError("numpy is not installed (as in the README install)")\n'
    )
    return folder


def _rows(said: str) -> int:
    words = said.split(": ingested ")
    return int(words[1].split()[0].replace(",", "")) if len(words) > 1 else -1


def _failed(run: dict[str, Any]) -> str:
    return "" if run["code"] == 0 else f"FAILED: {run['err'].strip().splitlines()[-1:]}"


def report(title: str, size: int, lines: list[Line]) -> str:
    baseline = lines[0].result
    assert baseline is not None
    head = (f"{'method':<56} {'wall s':>7} {'x gzip':>7} {'CPU s':>7} {'x gzip':>7} {'MB/s':>6} "
            f"{'peak RSS':>9} {'tree RSS':>9} {'main CPU':>8} {'helper':>7}  note")  # fmt: skip
    out = [title, head, "-" * len(head)]
    for line in lines:
        if line.result is None:
            out.append(
                f"{line.method:<56} {'-':>7} {'-':>7} {'-':>7} {'-':>7} {'-':>6} {'-':>9} {'-':>9} {'-':>8} "
                f"{'-':>7}  {line.note}"
            )
            continue
        seconds, cpu = float(line.result["seconds"]), float(line.result["cpu"])
        out.append(f"{line.method:<56} {seconds:7.2f} {seconds / baseline['seconds']:7.2f} {cpu:7.2f} "
                   f"{cpu / baseline['cpu']:7.2f} {size / seconds / 1e6:6.0f} {line.result['max_rss_mb']:7.0f}MB "
                   f"{line.result.get('tree_rss_mb', 0):7.0f}MB {line.result['main_cpu']:8.2f} "
                   f"{line.result['helper_cpu']:7.2f}  {line.note}")  # fmt: skip
    return "\n".join(out)


def summary(rounds: list[list[Line]]) -> str:
    """Each line over the rounds: its wall time against the same round's gzip (the machine's speed
    drifts between rounds: a ratio within a round is the steadier figure), median and range."""
    out = [
        f"over {len(rounds)} rounds: wall x gzip (median, min-max), wall s (median), CPU s (median), peak RSS (max)"
    ]
    for index, line in enumerate(rounds[0]):
        runs = [(run, gzip) for r in rounds if (run := r[index].result) and (gzip := r[0].result)]
        if not runs or any(run.get("code") for run, _ in runs):
            continue
        ratios = sorted(float(run["seconds"]) / float(gzip["seconds"]) for run, gzip in runs)
        walls = [float(run["seconds"]) for run, _ in runs]
        cpus = [float(run["cpu"]) for run, _ in runs]
        peak = max(float(run["max_rss_mb"]) for run, _ in runs)
        out.append(f"{line.method:<56} {statistics.median(ratios):5.2f}x ({ratios[0]:.2f}-{ratios[-1]:.2f}) "
                   f"{statistics.median(walls):6.2f} s {statistics.median(cpus):6.2f} CPU-s {peak:5.0f} MB")  # fmt: skip
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-gb", type=float, default=1.0, help="uncompressed size of the realistic file")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-peers", action="store_true", help="skip the benchmark venv (offline)")
    parser.add_argument("--also-src", type=Path, help="also time the ingest of this src folder (a baseline)")
    parser.add_argument("--pure", action="store_true", help="also time the ingest without the C accelerator")
    parser.add_argument("--skip-real", action="store_true", help="the realistic file only (not HealthSCOPE)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="measure the realistic file N times (peers in the first round only) and "
                             "summarize each line's wall ratio to its round's gzip: median, min-max")  # fmt: skip
    args = parser.parse_args()
    peer, note = (None, "skipped (--no-peers)") if args.no_peers else peer_python()
    print(f"machine: {platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f} (wall times stretch with the load; CPU times much less)")  # fmt: skip
    started = time.perf_counter()
    path, meta = make_realistic(args.size_gb, args.seed)
    title = (f"realistic: {path.name}: {meta['bytes'] / 1e6:,.0f} MB uncompressed, {path.stat().st_size / 1e6:,.0f} MB "
             f"gzip, {meta['items']:,} items")  # fmt: skip
    rounds = []
    for number in range(args.rounds):
        later = (None, "skipped (first round only)") if number else (peer, note)
        rounds.append(run_file(path, *later, int(meta["rows"]), args.also_src, args.pure))
        heading = title if args.rounds == 1 else f"{title} (round {number + 1} of {args.rounds})"
        print(report(heading, int(meta["bytes"]), rounds[-1]), flush=True)
    if args.rounds > 1:
        print(summary(rounds), flush=True)
    if HEALTHSCOPE.is_file() and not args.skip_real:
        size = uncompressed_size(HEALTHSCOPE)
        title = f"real: {HEALTHSCOPE.name}: {size / 1e6:,.0f} MB uncompressed, {HEALTHSCOPE.stat().st_size / 1e6:,.1f} MB gzip"
        print(report(title, size, run_file(HEALTHSCOPE, peer, note, None, args.also_src, args.pure)))
    print(
        f"(whole run {time.perf_counter() - started:,.0f} s; load average at the end {os.getloadavg()[0]:.1f})"
    )


if __name__ == "__main__":
    main()
