"""Throughput of the TiC in-network reader against gzip and ijson, and its peak memory at two sizes.

Run from the repository root::

    python benchmarks/tic_throughput.py                 # a 1 GB (uncompressed) synthetic .json.gz
    python benchmarks/tic_throughput.py --size-gb 4     # bigger; files are cached in benchmarks/_work/

It writes a synthetic in-network file with :mod:`hcpcs_atlas.synth` (reused when already there), then
times, each in a fresh subprocess so that peak RSS is that of the measured work alone:

- Python's ``gzip`` module decompressing the file (read everything, discard): the baseline;
- an ijson (``yajl2_c`` backend when available) extraction of the same target codes, on a prefix of the
  decompressed stream when the file is large, extrapolated linearly (the table says so);
- ``read_in_network`` on the file, checked against the generator's known answers, and again on a file a
  quarter of the size to show that peak memory does not grow with the file;
- the whole command, ``hcpcs-atlas ingest tic FILE --codes ...``, into a fresh store.

Peak RSS is each child's own high-water mark (Linux ``VmHWM``; ``ru_maxrss`` elsewhere), interpreter
and imports included.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import os
import platform
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import orjson

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / "_work"
TARGETS = ("J9032", "J9330")
GB = 1_000_000_000


def keep_target(code: str) -> bool:
    return code in TARGETS


def rows_digest(rows: list[Any]) -> str:
    return hashlib.sha256(orjson.dumps(rows)).hexdigest()


# -- the file ----------------------------------------------------------------------------------------------


def make_file(size_gb: float, seed: int, refs: str) -> tuple[Path, dict[str, Any]]:
    """The synthetic file and its sidecar (known-answer digest, sizes), generated once."""
    from hcpcs_atlas.synth import TicSynthOptions, write_in_network

    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / f"tic-{size_gb:g}gb-seed{seed}-{refs}.json.gz"
    sidecar = path.with_suffix(".answers.json")
    if path.is_file() and sidecar.is_file():
        return path, orjson.loads(sidecar.read_bytes())
    print(f"writing {path.relative_to(ROOT)} ...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    options = TicSynthOptions(seed=seed, size_bytes=int(size_gb * GB), refs=refs)  # type: ignore[arg-type]
    made = write_in_network(path, options)
    meta = {
        "rows": len(made.rows),
        "digest": rows_digest(made.rows),
        "items": made.items,
        "target_items": made.target_items,
        "uncompressed_bytes": made.uncompressed_bytes,
        "seconds_to_write": round(time.perf_counter() - started, 1),
    }
    sidecar.write_bytes(orjson.dumps(meta))
    return path, meta


# -- measurements, each run in its own process ---------------------------------------------------------------


def measure_gzip(path: Path) -> dict[str, Any]:
    started = time.perf_counter()
    total = 0
    with gzip.open(path, "rb") as stream:
        while block := stream.read(8 << 20):
            total += len(block)
    return {"seconds": time.perf_counter() - started, "bytes": total}


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class _Prefix:
    """The first ``limit`` decompressed bytes of a gzip file, as a file for ijson."""

    def __init__(self, stream: _Readable, limit: int) -> None:
        self.stream, self.left = stream, limit

    def read(self, size: int = -1) -> bytes:
        size = self.left if size < 0 else min(size, self.left)
        data = self.stream.read(size) if size > 0 else b""
        self.left -= len(data)
        return data


def measure_ijson(path: Path, limit: int) -> dict[str, Any]:
    import ijson  # type: ignore[import-untyped,unused-ignore]

    backend = ijson.get_backend("yajl2_c") if "yajl2_c" in getattr(ijson, "ALL_BACKENDS", ()) else ijson
    seen = kept = 0
    started = time.perf_counter()
    with gzip.open(path, "rb") as stream:
        source = _Prefix(stream, limit)
        try:
            for item in backend.items(source, "in_network.item", use_float=True):
                seen += 1
                code_type = str(item.get("billing_code_type", "")).strip().upper()
                if (
                    code_type in ("HCPCS", "CPT")
                    and str(item.get("billing_code", "")).strip().upper() in TARGETS
                ):
                    kept += 1
        except ijson.IncompleteJSONError:
            pass  # the prefix ends mid-document
        consumed = limit - source.left
    return {"seconds": time.perf_counter() - started, "bytes": consumed, "items": seen, "kept": kept,
            "backend": getattr(backend, "backend_name", "?")}  # fmt: skip


def measure_reader(path: Path) -> dict[str, Any]:
    from hcpcs_atlas.sources.tic import read_in_network

    started = time.perf_counter()
    tic = read_in_network(path, keep_target)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "rows": len(tic.rows), "digest": rows_digest(tic.rows), "items": tic.items_seen,
            "kept": tic.items_kept, "bytes": tic.bytes_decompressed}  # fmt: skip


def measure_cli(path: Path) -> dict[str, Any]:
    """The whole command, ``hcpcs-atlas ingest tic``, into a fresh store (read, match, store)."""
    import contextlib
    import io
    import tempfile

    from hcpcs_atlas.cli import main as cli

    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()) as said:
        args = ["--db", f"{tmp}/atlas.duckdb", "ingest", "tic", str(path), "--codes", ",".join(TARGETS)]
        started = time.perf_counter()
        cli.main(args, standalone_mode=False)
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "said": said.getvalue().strip()}


def run_child(kind: str, path: Path, *extra: str) -> dict[str, Any]:
    """One measurement in a fresh interpreter, which reports its own peak RSS."""
    command = [sys.executable, __file__, "--measure", kind, str(path), *extra]
    out = subprocess.run(
        command, check=True, capture_output=True, env=os.environ | {"PYTHONPATH": str(ROOT / "src")}
    )
    result: dict[str, Any] = orjson.loads(out.stdout)
    return result


def child_main(kind: str, path: Path, extra: list[str]) -> None:
    if kind == "import":
        from hcpcs_atlas.sources.tic import read_in_network  # noqa: F401 - the import is the measurement

        result: dict[str, Any] = {"seconds": 0.0}
    elif kind == "gzip":
        result = measure_gzip(path)
    elif kind == "ijson":
        result = measure_ijson(path, int(extra[0]))
    elif kind == "cli":
        result = measure_cli(path)
    else:
        result = measure_reader(path)
    result["max_rss_mb"] = peak_rss_mb()
    sys.stdout.buffer.write(orjson.dumps(result))


def peak_rss_mb() -> float:
    """This process's peak RSS. Linux's VmHWM is reset by exec; ru_maxrss is not (a child spawned from a
    big parent would report the parent's size), so it is only the fallback."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# -- report ------------------------------------------------------------------------------------------------


@dataclass
class Line:
    method: str
    seconds: float
    baseline: float  # gzip seconds for the same file
    size: int  # uncompressed bytes
    rss_mb: float | None
    note: str = ""


def best_of(repeat: int, kind: str, path: Path, *extra: str) -> dict[str, Any]:
    runs = [run_child(kind, path, *extra) for _ in range(repeat)]
    return min(runs, key=lambda r: float(r["seconds"]))


def report(lines: list[Line]) -> str:
    head = f"{'method':<44} {'file':>7} {'seconds':>8} {'x gzip':>7} {'MB/s':>6} {'peak RSS':>9}  note"
    out = [head, "-" * len(head)]
    for line in lines:
        rss = f"{line.rss_mb:7.0f}MB" if line.rss_mb is not None else "        -"
        speed = line.size / line.seconds / 1e6
        out.append(f"{line.method:<44} {line.size / 1e9:6.2f}G {line.seconds:8.2f} {line.seconds / line.baseline:7.2f} "
                   f"{speed:6.0f} {rss}  {line.note}")  # fmt: skip
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-gb", type=float, default=1.0, help="uncompressed size of the big file")
    parser.add_argument("--small-fraction", type=float, default=0.25, help="size of the second file for RSS")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--refs", choices=["before", "after", "none"], default="before")
    parser.add_argument("--ijson-prefix-mb", type=int, default=256, help="0 = the whole file")
    parser.add_argument("--repeat", type=int, default=2, help="timings are the best of this many runs")
    parser.add_argument("--measure", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        child_main(args.measure[0], Path(args.measure[1]), args.measure[2:])
        return

    path, meta = make_file(args.size_gb, args.seed, args.refs)
    small, small_meta = make_file(args.size_gb * args.small_fraction, args.seed, args.refs)
    total = int(meta["uncompressed_bytes"])
    print(f"file: {path.relative_to(ROOT)}: {total / 1e6:,.0f} MB uncompressed, "
          f"{path.stat().st_size / 1e6:,.0f} MB gzip, {meta['items']:,} in_network items, "
          f"{meta['target_items']} target items, {meta['rows']} known rows")  # fmt: skip
    print(f"machine: {platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs")

    gz = best_of(args.repeat, "gzip", path)
    gz_small = best_of(args.repeat, "gzip", small)
    limit = total if args.ijson_prefix_mb <= 0 else min(total, args.ijson_prefix_mb * 1_000_000)
    ij = run_child("ijson", path, str(limit))
    ij_seconds = float(ij["seconds"]) * total / max(int(ij["bytes"]), 1)
    big = best_of(args.repeat, "reader", path)
    cli = best_of(args.repeat, "cli", path)
    little = best_of(args.repeat, "reader", small)
    for run, expected in ((big, meta), (little, small_meta)):
        assert run["digest"] == expected["digest"] and run["rows"] == expected["rows"], (
            "rows differ from known answers"
        )
        assert (run["items"], run["kept"]) == (expected["items"], expected["target_items"])

    small_total = int(small_meta["uncompressed_bytes"])
    prefix = "" if limit >= total else f"extrapolated from the first {limit / 1e6:,.0f} MB"
    lines = [
        Line("gzip module: decompress only (baseline)", gz["seconds"], gz["seconds"], total, gz["max_rss_mb"]),
        Line(f"ijson {ij['backend']}: in_network items, target codes", ij_seconds, gz["seconds"], total,
             ij["max_rss_mb"], prefix),
        Line("read_in_network (this reader)", big["seconds"], gz["seconds"], total, big["max_rss_mb"],
             "rows == known answers"),
        Line("hcpcs-atlas ingest tic (read + store)", cli["seconds"], gz["seconds"], total, cli["max_rss_mb"]),
        Line("gzip module: decompress only (baseline)", gz_small["seconds"], gz_small["seconds"], small_total,
             gz_small["max_rss_mb"]),
        Line("read_in_network (this reader)", little["seconds"], gz_small["seconds"], small_total,
             little["max_rss_mb"], "rows == known answers"),
    ]  # fmt: skip
    print(report(lines))
    imports = run_child("import", path)["max_rss_mb"]
    print(f"reader peak RSS: {little['max_rss_mb']:.0f} MB at {small_total / 1e9:.2f} GB, "
          f"{big['max_rss_mb']:.0f} MB at {total / 1e9:.2f} GB "
          f"(of which {imports:.0f} MB is the interpreter and the package's imports)")  # fmt: skip


if __name__ == "__main__":
    main()
