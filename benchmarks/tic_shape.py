"""The realistic profile's yardstick: shape statistics of the real HealthSCOPE file beside a generated file.

Run from the repository root (about a minute; both files are parsed whole with ``json``)::

    python benchmarks/tic_shape.py                      # the real file vs a fresh 80 MB realistic file
    python benchmarks/tic_shape.py --size-mb 20 --seed 3
    python benchmarks/tic_shape.py --file benchmarks/_work/tic-realistic-1gb-seed1.json.gz  # an existing one

The statistics are :func:`hcpcs_atlas.synth.tic.measure_shape`; ``REALISTIC`` in synth/tic.py quotes them,
and tests/test_synth_tic.py holds the generator to them within stated tolerances.
"""

from __future__ import annotations

import argparse
import gzip
import json
import tempfile
from pathlib import Path
from typing import Any

from hcpcs_atlas.synth import TicSynthOptions, write_in_network
from hcpcs_atlas.synth.tic import measure_shape

ROOT = Path(__file__).resolve().parents[1]
HEALTHSCOPE = ROOT.parent / "shared/data/tic/real/healthscope-benefits_in-network-rates_2023-02-01.json.gz"


def load(path: Path) -> Any:
    with gzip.open(path, "rb") if path.name.endswith(".gz") else path.open("rb") as fh:
        return json.load(fh)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-mb", type=float, default=80.0, help="uncompressed size of the generated file")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--file", type=Path, help="measure this generated file instead of a fresh one")
    args = parser.parse_args()
    real = measure_shape(load(HEALTHSCOPE))
    with tempfile.TemporaryDirectory() as tmp:
        path = args.file
        if path is None:
            path = Path(tmp) / "realistic.json.gz"
            options = TicSynthOptions(
                seed=args.seed, size_bytes=int(args.size_mb * 1e6), profile="realistic", target_codes=()
            )
            write_in_network(path, options)
        made = measure_shape(load(path))
    print(f"{'statistic':<32} {'real':>14} {'generated':>14} {'ratio':>7}")
    for key, value in real.items():
        ratio = made[key] / value if value else float("nan")
        print(f"{key:<32} {value:14,.4g} {made[key]:14,.4g} {ratio:7.3f}")


if __name__ == "__main__":
    main()
