"""Benchmark: load the 2025 HCPCS xlsx + ASP + crosswalk, then build md+html+json for every code.

Target: all ~8.8k codes in <= 30 s on a 2-core machine. Prints measured times and codes/s.
Usage: python benchmarks/build_all.py [../shared/data]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from hcpcs_atlas.site import build_publications
from hcpcs_atlas.store import Store, load_file

TARGET_SECONDS = 30.0


def main(shared: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        start = time.perf_counter()
        with Store(work / "atlas.duckdb") as store:
            load_file(store, "hcpcs", shared / "hcpcs/2025_oct/HCPC2025_OCT_ANWEB_v4.xlsx")
            load_file(store, "asp", shared / "asp/2025_Oct_ASP_Pricing_File.csv")
            load_file(store, "crosswalk", shared / "asp/2025_Oct_ASP_NDC-HCPCS_Crosswalk.csv")
            loaded = time.perf_counter()
            result = build_publications(store, None, ["md", "html", "json"], work / "out")
        done = time.perf_counter()
    codes = len(result.codes)
    total = done - start
    print(f"load (3 files):        {loaded - start:6.2f} s")
    print(f"build {codes:,} codes x 3: {done - loaded:6.2f} s  ({codes / (done - loaded):,.0f} codes/s)")
    print(
        f"total:                 {total:6.2f} s  target <= {TARGET_SECONDS:.0f} s  ratio {total / TARGET_SECONDS:.2f}"
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared" / "data")
