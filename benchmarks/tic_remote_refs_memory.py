"""Peak memory of ``hcpcs-atlas ingest tic`` when a provider reference points at a big remote file.

Run from the repository root (a few minutes; the reference file is generated once into benchmarks/_work/)::

    python benchmarks/tic_remote_refs_memory.py                 # 5 M groups x 2 NPIs: ~400 MB, 10 M NPIs
    python benchmarks/tic_remote_refs_memory.py --groups 1000000

An in-network file with one kept price whose rate names one provider reference,
``{"provider_group_id": 1, "location": "http://127.0.0.1:PORT/..."}``, is ingested into a fresh store
while this process serves the reference file over loopback HTTP. Every group of the fetched file becomes
one stored row (price x provider group), so the whole path is measured: download, streaming the groups
into Arrow columns, staging, the store's insert. Printed: the reference file's size and NPIs, rows
stored (checked against the known answer), wall and CPU seconds and the ingest process's peak RSS
(issue #7 section 6: 1.13 GB when the groups were held as Python objects; the target is under 400 MB).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / "_work"


def make_references(groups: int) -> Path:
    """``{"provider_groups": [...]}`` with ``groups`` groups of 2 NPIs each (written once, streamed)."""
    path = WORK / f"remote-refs-{groups}.json"
    if path.is_file():
        return path
    WORK.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    with partial.open("w", encoding="ascii") as out:
        out.write('{"provider_groups": [\n')
        step = 100_000
        for first in range(0, groups, step):
            out.write(
                ",\n".join(
                    f'  {{"npi": [{1_000_000_000 + 2 * n}, {1_000_000_001 + 2 * n}], '
                    f'"tin": {{"type": "ein", "value": "{n % 100_000_000:09d}"}}}}'
                    for n in range(first, min(first + step, groups))
                )
            )
            out.write(",\n" if first + step < groups else "\n")
        out.write("]}\n")
    partial.replace(path)
    return path


def in_network(folder: Path, url: str) -> Path:
    doc = {
        "reporting_entity_name": "Memory Check Health", "reporting_entity_type": "health insurance issuer",
        "last_updated_on": "2025-01-01", "version": "1.0.0",
        "provider_references": [{"provider_group_id": 1, "location": url}],
        "in_network": [{
            "negotiation_arrangement": "ffs", "name": "x", "billing_code_type": "HCPCS",
            "billing_code_type_version": "2025", "billing_code": "J9032", "description": "d",
            "negotiated_rates": [{"provider_references": [1], "negotiated_prices": [{
                "negotiated_type": "negotiated", "negotiated_rate": 52.47, "expiration_date": "9999-12-31",
                "billing_class": "professional", "service_code": ["11"]}]}],
        }],
    }  # fmt: skip
    path = folder / "in-network.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--groups", type=int, default=5_000_000, help="provider groups (2 NPIs each)")
    args = parser.parse_args()
    refs = make_references(args.groups)
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(WORK)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/{refs.name}"
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print(f"reference file: {refs.stat().st_size / 1e6:,.0f} MB, {args.groups:,} groups, "
          f"{2 * args.groups:,} NPIs, served at {url}")  # fmt: skip
    try:
        with tempfile.TemporaryDirectory(dir=WORK) as tmp:
            source = in_network(Path(tmp), url)
            env = os.environ | {
                "PYTHONPATH": str(ROOT / "src"),
                "no_proxy": "127.0.0.1",
                "NO_PROXY": "127.0.0.1",
            }
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "hcpcs_atlas", "--db", f"{tmp}/atlas.duckdb", "ingest", "tic", str(source)],
                capture_output=True, text=True, env=env,
            )  # fmt: skip
            wall = time.perf_counter() - started
    finally:
        server.shutdown()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    said = (done.stdout + done.stderr).strip().splitlines()
    rows = (
        int(said[0].split(": ingested ")[1].split()[0].replace(",", ""))
        if ": ingested " in done.stdout
        else -1
    )
    verdict = "== known answer" if rows == args.groups else f"!= known answer {args.groups:,}"
    print(f"ingest tic: exit {done.returncode}, {rows:,} rows {verdict}; wall {wall:.1f} s, "
          f"CPU {usage.ru_utime + usage.ru_stime:.1f} s, peak RSS {usage.ru_maxrss / 1024:,.0f} MB "
          f"(target < 400 MB)")  # fmt: skip
    if done.returncode != 0:
        print("\n".join(said[-5:]))


if __name__ == "__main__":
    main()
