"""Several processes on one store (docs/concurrency.md): one writes or many read, a loader holds the lock
only for its transaction, and a process that cannot get the lock in time says who holds it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hcpcs_atlas.store import Store
from hcpcs_atlas.synth import TicSynthOptions, write_in_network

BOUND_S = 120.0


def cli(db: Path, *args: str, wait: str = "0") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HCPCS_ATLAS_LOCK_WAIT": wait}
    command = [sys.executable, "-m", "hcpcs_atlas", "--db", str(db), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=BOUND_S, env=env)


def test_a_held_store_is_refused_naming_the_holder(tmp_path: Path) -> None:
    db = tmp_path / "atlas.duckdb"
    Store(db).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb, sys; c = duckdb.connect({str(db)!r}); print('held', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        done = cli(db, "files", wait="0.5")
    finally:
        holder.communicate("", timeout=BOUND_S)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert f"in use by process {holder.pid} (python" in done.stderr and "try again" in done.stderr


@pytest.fixture()
def big_tic(tmp_path: Path) -> Path:
    path = tmp_path / "rates.json"
    write_in_network(path, TicSynthOptions(size_bytes=40_000_000, items_per_target=40))
    return path


def test_reads_go_on_while_a_file_is_being_ingested(tmp_path: Path, big_tic: Path) -> None:
    """The ingest holds the lock only to commit: ``files`` (not waiting at all) answers meanwhile."""
    db = tmp_path / "atlas.duckdb"
    Store(db).close()
    ingest = subprocess.Popen(
        [sys.executable, "-m", "hcpcs_atlas", "--db", str(db), "ingest", "tic", str(big_tic), "--codes", "J9032"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    answered_during = 0
    give_up = time.monotonic() + BOUND_S
    while ingest.poll() is None and time.monotonic() < give_up:
        if cli(db, "files").returncode == 0 and ingest.poll() is None:
            answered_during += 1
    assert ingest.wait(timeout=BOUND_S) == 0
    assert answered_during > 0
    assert "rates.json" in cli(db, "files").stdout


def test_a_cms_load_holds_the_store_only_to_check_and_to_write(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parsing (seconds for a CMS workbook) happens with the store closed; a second process may read or
    load meanwhile, and a file it loaded in between is not loaded twice."""
    import hcpcs_atlas.store.load as load_module
    from hcpcs_atlas.store import load_files

    db = tmp_path / "atlas.duckdb"
    Store(db).close()
    open_now: list[Store] = []
    parsed_while_open: list[bool] = []

    def opener() -> Store:
        store = Store(db)
        open_now.append(store)
        original = store.close

        def close() -> None:
            open_now.remove(store)
            original()

        store.close = close  # type: ignore[method-assign]
        return store

    real_parse = load_module._parse

    def parse(parse_fn: object, item: object) -> object:
        parsed_while_open.append(bool(open_now))
        assert cli(db, "files").returncode == 0  # another process gets the store meanwhile
        return real_parse(parse_fn, item)  # type: ignore[arg-type]

    monkeypatch.setattr(load_module, "_parse", parse)
    outcomes = list(load_files(opener, "asp", [shared_data / "asp/2025_Oct_ASP_Pricing_File.csv"]))
    assert [o.error for o in outcomes] == [None] and parsed_while_open == [False] and not open_now
    with Store(db, read_only=True) as store:
        assert len(store.source_files()) == 1
