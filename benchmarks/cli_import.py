"""Benchmark: start-up of ``hcpcs-atlas --help``, from ``python -X importtime`` and wall clock.

Target: imports <= 0.25 s on this machine. The machine is shared, so each figure is the best of N runs.
Prints the import total (sum of top-level cumulative times) for ``python -m hcpcs_atlas --help`` and for
the venv's console script, the wall time of each, and the slowest top-level imports.
Usage: python benchmarks/cli_import.py [RUNS]
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

TARGET_SECONDS = 0.25
HEAVY = ("fpdf", "openpyxl", "xlrd", "pyarrow", "duckdb", "python_calamine", "numpy")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _importtime(command: list[str]) -> tuple[float, float, float, dict[str, float]]:
    """(import s, wall s, CPU s, cumulative s per top-level module) of one run. CPU time is the figure
    least disturbed by other work on a shared machine."""
    env = dict(os.environ, PYTHONPROFILEIMPORTTIME="1")
    started, cpu = time.perf_counter(), _cpu()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True, timeout=60)
    wall, cpu = time.perf_counter() - started, _cpu() - cpu
    top: dict[str, float] = {}
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = line.split("|")
        if cumulative.strip().isdigit() and not name.startswith("  "):  # one space: a top-level import
            top[name.strip()] = int(cumulative) / 1e6
    return sum(top.values()), wall, cpu, top


def _best(command: list[str], runs: int) -> tuple[float, float, float, dict[str, float]]:
    results = [_importtime(command) for _ in range(runs)]
    best = min(results, key=lambda r: r[0])
    return best[0], min(r[1] for r in results), min(r[2] for r in results), best[3]


def _heavy_loaded(command: list[str]) -> list[str]:
    env = dict(os.environ, PYTHONPROFILEIMPORTTIME="1")
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True, timeout=60)
    names = {line.split("|")[-1].strip().split(".")[0] for line in done.stderr.splitlines() if "|" in line}
    return sorted(names & set(HEAVY))


def main(runs: int) -> None:
    script = Path(sys.executable).parent / "hcpcs-atlas"
    commands = {"python -m hcpcs_atlas --help": [sys.executable, "-m", "hcpcs_atlas", "--help"]}
    if script.is_file():
        commands["hcpcs-atlas --help (console script)"] = [str(script), "--help"]
    for label, command in commands.items():
        imports, wall, cpu, top = _best(command, runs)
        print(f"{label}")
        print(
            f"  imports: {imports:6.3f} s  target <= {TARGET_SECONDS:.2f} s  ratio {imports / TARGET_SECONDS:.2f}"
            f"   process wall: {wall:6.3f} s  CPU: {cpu:6.3f} s   (best of {runs})"
        )
        slowest = sorted(top.items(), key=lambda item: -item[1])[:5]
        print("  slowest: " + ", ".join(f"{name} {seconds * 1000:.0f} ms" for name, seconds in slowest))
        print(f"  heavy modules imported: {', '.join(_heavy_loaded(command)) or 'none'}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
