"""Benchmark: load the whole shared quarterly series, then build every code with and without its history.

Targets (issue 10): loading 9 ASP + 9 crosswalk + 5 Addendum B + 6 HCPCS files (the CMS zips as shipped)
in <= 20 s; ``build --all`` over the series (history tables, charts, timeline, changes page) in <= 2x the
time of the same build over the latest file of each source only. Prints wall and CPU seconds: on a shared
2-core machine the CPU time is the steadier figure.
Usage: python benchmarks/history_series.py [../shared/data]
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hcpcs_atlas.site import build_publications
from hcpcs_atlas.store import Store, input_files, load_files

LOAD_TARGET = 20.0
BUILD_RATIO_TARGET = 2.0


def series(shared: Path) -> dict[str, list[Path]]:
    asp = shared / "asp"
    return {
        "asp": [
            asp / "history",
            asp / "2025_Oct_ASP_Pricing_File.csv",
            asp / "2025_Oct_NOC_Pricing_File.csv",
        ],
        "crosswalk": [
            asp / "history",
            asp / "2025_Oct_ASP_NDC-HCPCS_Crosswalk.csv",
            asp / "2025_Oct_ASP_NOC_NDC-HCPCS_Crosswalk.csv",
        ],
        "opps": [shared / "opps", shared / "opps/history"],
        "hcpcs": [
            shared / "hcpcs/2017/2017-Alpha-Numeric-HCPCS-File.zip",
            shared / "hcpcs/2019/2019-Alpha-Numeric-HCPCS-File.zip",
            shared / "hcpcs/2020/HCPC2020_ANWEB_w_disclaimer.txt",
            shared / "hcpcs/2020/HCPC2020_ANWEB_w_disclaimer.xls",
            shared / "hcpcs/2020_oct/anweb.xlsx",
            shared / "hcpcs/2025_oct/HCPC2025_OCT_ANWEB_v4.xlsx",
        ],
    }


def latest_only(shared: Path) -> dict[str, list[Path]]:
    return {
        "asp": [shared / "asp/2025_Oct_ASP_Pricing_File.csv"],
        "crosswalk": [shared / "asp/2025_Oct_ASP_NDC-HCPCS_Crosswalk.csv"],
        "opps": [shared / "opps/history/Section 508 version of July 2025 Web Addendum B.06.26.25.csv"],
        "hcpcs": [shared / "hcpcs/2025_oct/HCPC2025_OCT_ANWEB_v4.xlsx"],
    }


@contextmanager
def timed(label: str, out: dict[str, tuple[float, float]]) -> Iterator[None]:
    wall, cpu = time.perf_counter(), time.process_time()
    yield
    out[label] = (time.perf_counter() - wall, time.process_time() - cpu)
    print(f"{label:<34} wall {out[label][0]:6.2f} s   cpu {out[label][1]:6.2f} s")


def load(db: Path, inputs: dict[str, list[Path]]) -> int:
    count = 0
    with Store(db) as store:
        for source, paths in inputs.items():
            files, _ = input_files(source, paths)
            outcomes = list(load_files(store, source, files))
            failed = [o for o in outcomes if o.error]
            assert not failed, failed
            count += len(outcomes)
    return count


def build(db: Path, out: Path) -> int:
    with Store(db, read_only=True) as store:
        return len(build_publications(store, None, ["md", "html", "json"], out).codes)


def main(shared: Path) -> None:
    times: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with timed("load whole series", times):
            files = load(work / "series.duckdb", series(shared))
        load(work / "latest.duckdb", latest_only(shared))
        with timed("build --all, latest files only", times):
            codes = build(work / "latest.duckdb", work / "latest")
        with timed("build --all, whole series", times):
            build(work / "series.duckdb", work / "series")
    load_wall, load_cpu = times["load whole series"]
    ratio_wall = times["build --all, whole series"][0] / times["build --all, latest files only"][0]
    ratio_cpu = times["build --all, whole series"][1] / times["build --all, latest files only"][1]
    print(
        f"{files} files loaded; target <= {LOAD_TARGET:.0f} s: wall {load_wall:.2f} s, cpu {load_cpu:.2f} s"
    )
    print(f"{codes:,} codes; history build ratio wall {ratio_wall:.2f}, cpu {ratio_cpu:.2f} (target <= 2)")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared" / "data")
