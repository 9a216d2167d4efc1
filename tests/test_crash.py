"""kill -9 during an ingest and during a load: the store holds the whole file or none of it, never part.

Each run is a subprocess killed at one point: after a delay (reading, parsing) or as soon as the store's
write-ahead log appears (writing, committing). Afterwards the store opens, ``files`` and ``facts`` work,
and loading the same file again gives exactly what an uninterrupted run gives. Every wait is bounded.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from hcpcs_atlas.store import Store
from hcpcs_atlas.synth import TicSynthOptions, write_in_network

from .helpers import HCPCS_2025_XLSX, table_counts

BOUND_S = 120.0


def cli(db: Path, *args: str, timeout: float = BOUND_S) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hcpcs_atlas", "--db", str(db), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def kill_when(db: Path, args: list[str], ready: Callable[[], bool]) -> bool:
    """Start the command, SIGKILL it once ``ready()`` (or when it ends first). True if it was killed."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "hcpcs_atlas", "--db", str(db), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    give_up = time.monotonic() + BOUND_S
    while proc.poll() is None and not ready() and time.monotonic() < give_up:
        time.sleep(0.002)
    killed = proc.poll() is None
    if killed:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=BOUND_S)
    return killed


def after(seconds: float) -> Callable[[], bool]:
    start = time.monotonic()
    return lambda: time.monotonic() - start >= seconds


def wal_of(db: Path) -> Callable[[], bool]:
    wal = Path(f"{db}.wal")
    return lambda: wal.exists() and wal.stat().st_size > 0


def consistent(db: Path, clean: dict[str, int], before: dict[str, int]) -> None:
    """The store opens (replaying its log), answers, and holds the file wholly or not at all."""
    with Store(db):
        pass
    assert cli(db, "files").returncode == 0
    counts = table_counts(db)
    assert counts in (clean, before), (counts, clean, before)


@pytest.fixture(scope="module")
def ingest(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], dict[str, int]]:
    """The ingest command and the table counts an uninterrupted run leaves."""
    path = tmp_path_factory.mktemp("crash") / "rates.json"
    write_in_network(path, TicSynthOptions(size_bytes=40_000_000, items_per_target=40))
    args = ["ingest", "tic", str(path), "--codes", "J9032,J9330"]
    clean_db = path.parent / "clean.duckdb"
    assert cli(clean_db, *args).returncode == 0
    return args, table_counts(clean_db)


@pytest.fixture(scope="module")
def load(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], dict[str, int]]:
    args = ["load", "hcpcs", str(shared_data / HCPCS_2025_XLSX)]
    clean_db = tmp_path_factory.mktemp("crash") / "clean.duckdb"
    assert cli(clean_db, *args).returncode == 0
    return args, table_counts(clean_db)


POINTS = ["0.3s", "1s", "wal"]


def kill_then_rerun(args: list[str], clean: dict[str, int], tmp_path: Path, point: str) -> Path:
    """Kill the command at ``point``, check the store is whole or untouched, run it again to the end."""
    db = tmp_path / "killed.duckdb"
    Store(db).close()
    before = table_counts(db)
    ready = wal_of(db) if point == "wal" else after(float(point[:-1]))
    kill_when(db, args, ready)
    consistent(db, clean, before)
    done = cli(db, *args)
    assert done.returncode == 0, done.stderr
    assert table_counts(db) == clean
    return db


@pytest.mark.parametrize("point", POINTS)
def test_kill_during_ingest(ingest: tuple[list[str], dict[str, int]], tmp_path: Path, point: str) -> None:
    kill_then_rerun(*ingest, tmp_path, point)


@pytest.mark.parametrize("point", ["1s", "wal"])
def test_kill_during_load(load: tuple[list[str], dict[str, int]], tmp_path: Path, point: str) -> None:
    db = kill_then_rerun(*load, tmp_path, point)
    assert cli(db, "facts", "J9032").returncode == 0
