"""Load test of ``hcpcs-atlas serve`` on loopback: a fixed request rate against code pages and search.

    python benchmarks/serve_load.py [--db STORE] [--rate 200] [--seconds 20]

Without --db it builds the issue's store in a temporary folder: the demo (its synthetic payers) plus the
full October 2025 HCPCS file, ASP file and crosswalk from ../shared/data. The server runs in its own
process; requests are sent open-loop at --rate per second over keep-alive connections, so a slow answer
does not slow the sender. Code pages: a mix of codes, cache warmed first. Search: distinct queries
(words, prefixes, two-word queries, codes, NDCs), so most are not cached. Reports p50, p99, max and errors
per phase. Loopback only; bounded (at most 60 s per phase, 1,000 requests/s).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
FILES = {
    "hcpcs": "hcpcs/2025_oct/HCPC2025_OCT_ANWEB_v4.xlsx",
    "asp": "asp/2025_Oct_ASP_Pricing_File.csv",
    "crosswalk": "asp/2025_Oct_ASP_NDC-HCPCS_Crosswalk.csv",
}


def _cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "hcpcs_atlas", *args], check=True, capture_output=True, timeout=600)


def make_store(folder: Path) -> Path:
    _cli("demo", "--out", str(folder / "demo"))
    db = folder / "demo" / "atlas.duckdb"
    for source, name in FILES.items():
        _cli("--db", str(db), "load", source, str(DATA / name))
    return db


class Client:
    """A minimal HTTP/1.1 keep-alive client over asyncio streams (GET only)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def get(self, path: str) -> int:
        if self.idle:
            try:  # a kept-alive connection the server has closed meanwhile: once more on a new one
                return await self._get(self.idle.pop(), path)
            except (OSError, asyncio.IncompleteReadError):
                pass
        return await self._get(await asyncio.open_connection("127.0.0.1", self.port), path)

    async def _get(self, conn: tuple[asyncio.StreamReader, asyncio.StreamWriter], path: str) -> int:
        reader, writer = conn
        writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
        status = int(head.split(b" ", 2)[1])
        length = int(re.search(rb"(?i)content-length: (\d+)", head).group(1))  # type: ignore[union-attr]
        await reader.readexactly(length)
        self.idle.append(conn)
        return status


async def _phase(client: Client, paths: list[str], rate: float, seconds: float) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    failed: dict[str, int] = {}

    async def one(path: str) -> None:
        nonlocal errors
        start = time.perf_counter()
        try:
            status = await client.get(path)
        except (TimeoutError, OSError, asyncio.IncompleteReadError):
            status = 0
        latencies.append((time.perf_counter() - start) * 1000)
        if status != 200:
            errors += 1
            failed[f"{status} {path}"] = failed.get(f"{status} {path}", 0) + 1

    total = int(rate * seconds)
    begin = time.perf_counter()
    tasks = []
    for i in range(total):
        delay = begin + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(one(paths[i % len(paths)])))
    await asyncio.gather(*tasks)
    latencies.sort()
    for what, n in sorted(failed.items())[:10]:
        print(f"  failed x{n}: {what}", file=sys.stderr)
    return {
        "requests": total,
        "seconds": time.perf_counter() - begin,
        "p50_ms": statistics.median(latencies),
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1],
        "max_ms": latencies[-1],
        "errors": errors,
    }


def _queries(codes: list[str], words: list[str], ndcs: list[str], n: int, rng: random.Random) -> list[str]:
    out = []
    for i in range(n):
        kind = i % 6
        if kind == 0:
            out.append(rng.choice(words))
        elif kind == 1:
            w = rng.choice(words)
            out.append(w[: rng.randint(1, max(1, len(w)))])
        elif kind == 2:
            out.append(f"{rng.choice(words)} {rng.choice(words)[:3]}")
        elif kind == 3:
            out.append(rng.choice(codes)[: rng.randint(1, 5)])
        elif kind == 4 and ndcs:
            ndc = rng.choice(ndcs)
            out.append(rng.choice([ndc, ndc.replace("-", ""), ndc[:5]]))
        else:
            out.append(rng.choice(words) + " " + rng.choice(words))
    return out


async def _run(
    port: int, rate: float, seconds: float, sample: list[dict[str, str]]
) -> dict[str, dict[str, float]]:
    client = Client(port)
    rng = random.Random(12)
    codes = [d["code"] for d in sample]
    pages = [f"/{c}" for c in rng.sample(codes, min(300, len(codes)))] + [
        "/J9032",
        "/J9330",
        "/J9035",
        "/Q5107",
    ]
    for path in pages:  # warm the cache: the target is a cached code page
        await client.get(path)
    words = sorted({w for d in sample for w in re.findall(r"[a-z]{3,}", d["descriptor"].lower())})
    queries = _queries(codes, words, [n for d in sample for n in d["ndcs"]], int(rate * seconds), rng)
    searches = [f"/search.json?q={quote(q)}" for q in queries]
    return {
        "code pages (cached)": await _phase(client, pages, rate, seconds),
        "search (distinct queries)": await _phase(client, searches, rate, seconds),
    }


def _sample(db: Path) -> list[dict[str, str]]:
    from hcpcs_atlas.store import Store

    with Store(db, read_only=True) as store:
        ndcs: dict[str, list[str]] = {}
        for code, ndc, _ in store.ndc_names():
            ndcs.setdefault(code, []).append(ndc)
        return [
            {"code": code, "descriptor": long or "", "ndcs": ndcs.get(code, [])}  # type: ignore[dict-item]
            for code, long, _, _ in store.latest_descriptors()
        ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", type=Path)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    if not (0 < args.rate <= 1000 and 0 < args.seconds <= 60):
        parser.error("--rate must be 1..1000 and --seconds 1..60 (the benchmark is bounded)")
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or make_store(Path(tmp))
        sample = _sample(db)
        server = subprocess.Popen(
            [sys.executable, "-m", "hcpcs_atlas", "--db", str(db), "serve", "--port", "0"],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert server.stdout is not None
            line = server.stdout.readline()
            port = int(re.search(r"http://127\.0\.0\.1:(\d+)/", line).group(1))  # type: ignore[union-attr]
            results = asyncio.run(_run(port, args.rate, args.seconds, sample))
        finally:
            server.terminate()
            server.wait(10)
    print(f"{len(sample):,} codes; {args.rate:g} requests/s for {args.seconds:g} s per phase, loopback")
    for name, r in results.items():
        print(
            f"{name:<27} {r['requests']:>6,} requests in {r['seconds']:.1f} s  p50 {r['p50_ms']:.1f} ms  "
            f"p99 {r['p99_ms']:.1f} ms  max {r['max_ms']:.1f} ms  errors {r['errors']:g}"
        )


if __name__ == "__main__":
    main()
