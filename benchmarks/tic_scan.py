"""The main process's share of a TiC read, alone: the byte scan and the hand-over of kept items.

Run from the repository root (the 1 GB realistic file of ``tic_throughput.py`` must exist)::

    python benchmarks/tic_scan.py                          # this tree, C and pure Python
    python benchmarks/tic_scan.py --also-src ../main/src   # + another checkout, interleaved

Each measurement is a fresh process reading the file with every Level II code wanted, in two modes:

- ``scan``: the in-network scan (inflate thread, key search, items seen, object starts, end hints) with
  a ``divert`` that only computes each kept item's end: what the main process spends per chunk and per
  kept item before any item is parsed;
- ``hand-over``: the same with :class:`Helper.divert <hcpcs_atlas.sources.tic.split.Helper>` building
  its batches (end, closing brace, brace balance, the copy into a batch) but no process to send them to.

It prints the main thread's CPU time (``time.thread_time``: the inflate thread apart), the process's CPU
(both threads) and wall, best and median of ``--runs``, side by side with ratios to the first line.
The machine is shared: wall times are noisy, the main thread's CPU is the steady figure.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FILE = ROOT / "benchmarks" / "_work" / "tic-realistic-1gb-seed1.json.gz"

PROBE = """
import gc, json, sys, time
from pathlib import Path
from hcpcs_atlas.sources import is_level2
from hcpcs_atlas.sources.tic import split
from hcpcs_atlas.sources.tic.doc import InNetworkScan
from hcpcs_atlas.sources.tic.refs import ReferenceSections, Resolver
from hcpcs_atlas.sources.tic.rows import ItemCollector
from hcpcs_atlas.sources.tic.scan import HEADROOM, hinted_end
from hcpcs_atlas.sources.tic.stream import ChunkStream

path, mode = sys.argv[1], sys.argv[2]
handed = [0]
if mode == "scan":
    def divert(buf, start, hint):
        handed[0] += 1
        return hinted_end(buf, start, hint)
else:
    helper = split.Helper(is_level2, Path("."), 0)
    helper._process = True  # started, as far as divert can tell
    def send():
        handed[0] += len(helper._spans)
        helper._batch, helper._spans = bytearray(), []
    helper._send = send
    divert = helper.divert
gc.disable()  # as the reader does
collector = ItemCollector(is_level2)
thread, process, wall = time.thread_time(), time.process_time(), time.perf_counter()
with ChunkStream(path, HEADROOM) as stream, ReferenceSections(False, False) as sections:
    scan = InNetworkScan("t", collector, sections, Resolver("t"), False, stream.pool.put)
    scan.finder.divert = divert
    for chunk in stream:
        scan.feed(chunk, HEADROOM)
    scan.finish()
if mode != "scan":
    send()
print(json.dumps({"thread": time.thread_time() - thread, "process": time.process_time() - process,
                  "wall": time.perf_counter() - wall, "items": scan.items_seen, "handed": handed[0]}))
"""


def run(src: Path, mode: str, pure: bool) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=str(src), HCPCS_ATLAS_PURE_PYTHON="1" if pure else "0")
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(FILE), mode], env=env, check=True, capture_output=True, text=True
    )
    result: dict[str, float] = json.loads(out.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--also-src", type=Path, help="also measure this src folder (a baseline)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-pure", action="store_true", help="skip the pure-Python lines")
    args = parser.parse_args()
    if not FILE.is_file():
        sys.exit(f"{FILE} is missing: run benchmarks/tic_throughput.py once to write it")
    trees = [(ROOT / "src", "this tree")] + (
        [(args.also_src, args.also_src.resolve().parent.name)] if args.also_src else []
    )
    lines = [(src, name, mode, pure) for mode in ("scan", "hand-over") for src, name in trees
             for pure in ((False, True) if not args.no_pure else (False,))]  # fmt: skip
    samples: dict[int, list[dict[str, float]]] = {i: [] for i in range(len(lines))}
    for _ in range(args.runs):  # interleaved: the machine's load shifts alike for every line
        for i, (src, _name, mode, pure) in enumerate(lines):
            samples[i].append(run(src, mode, pure))
    print(f"{FILE.name}, {args.runs} runs each, load average {os.getloadavg()[0]:.1f}")
    head = f"{'mode':<10} {'code':<22} {'main thread CPU s':>20} {'x first':>8} {'process CPU s':>14} {'wall s':>7}  items / handed"
    print(head)
    print("-" * len(head))
    first: dict[str, float] = {}
    for i, (_src, name, mode, pure) in enumerate(lines):
        got = samples[i]
        thread = sorted(s["thread"] for s in got)
        best = thread[0]
        first.setdefault(mode, best)
        label = f"{name}{', pure' if pure else ', C'}"
        print(f"{mode:<10} {label:<22} {best:8.3f} (med {statistics.median(thread):5.3f}) {best / first[mode]:8.2f} "
              f"{min(s['process'] for s in got):14.3f} {min(s['wall'] for s in got):7.2f}  "
              f"{got[0]['items']:,.0f} / {got[0]['handed']:,.0f}")  # fmt: skip


if __name__ == "__main__":
    main()
