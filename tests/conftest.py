"""Shared fixtures. Real CMS files are read from ../shared/data (never copied into the repository).

In CI (``CI=true``) a missing ../shared/data fails the run instead of skipping, so CI proves the real-data
tests ran.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("HCPCS_ATLAS_SHARED_DATA", REPO.parent / "shared" / "data")).resolve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real public files; fails in CI and skips elsewhere when it is missing."""
    if not (SHARED_DATA / "MANIFEST.md").is_file():
        message = f"real data not found at {SHARED_DATA} (set HCPCS_ATLAS_SHARED_DATA)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return SHARED_DATA


@pytest.fixture(scope="session")
def real_store(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with the real 2020 + 2025 HCPCS files, Oct 2025 ASP + crosswalk and the 2023 Addendum B."""
    from hcpcs_atlas.store import Store, load_file

    from .helpers import ASP, CROSSWALK, HCPCS_2020_TXT, HCPCS_2025_XLSX, OPPS_2023

    path = tmp_path_factory.mktemp("real") / "atlas.duckdb"
    with Store(path) as store:
        load_file(store, "hcpcs", shared_data / HCPCS_2020_TXT)
        load_file(store, "hcpcs", shared_data / HCPCS_2025_XLSX)
        load_file(store, "asp", shared_data / ASP)
        load_file(store, "crosswalk", shared_data / CROSSWALK)
        load_file(store, "opps", shared_data / OPPS_2023)
    return path


@pytest.fixture()
def store_copy(real_store: Path, tmp_path: Path) -> Path:
    """A private copy of ``real_store`` that a test may change."""
    import shutil

    copy = tmp_path / "atlas.duckdb"
    shutil.copy(real_store, copy)
    return copy


HOSTILE_PAYER = '<script>alert("payer")</script>'


def _tic_rate(code: str, rate: float, tin: str) -> dict[str, object]:
    return {
        "billing_code": code,
        "billing_code_type": "HCPCS",
        "negotiation_arrangement": "ffs",
        "negotiated_type": "negotiated",
        "negotiated_rate": rate,
        "expiration_date": "9999-12-31",
        "billing_class": "professional",
        "service_codes": ["11"],
        "modifiers": [],
        "tin_type": "ein",
        "tin_value": tin,
        "npis": [1234567890],
    }


def add_payer(store_path: Path, payer: str, rates: dict[str, list[float]]) -> None:
    """Add one payer's in-network file (known rates per code) to a store, as an ingest would."""
    import hashlib
    from datetime import date

    from hcpcs_atlas.store import FileRecord, Store
    from hcpcs_atlas.store.tic import insert_rate_rows

    rows = [_tic_rate(code, r, f"{100000000 + i}") for code, rs in rates.items() for i, r in enumerate(rs)]
    name = f"{payer}-in-network.json"
    sha = hashlib.sha256(payer.encode()).hexdigest()
    record = FileRecord("tic", name, name, sha, 1, "json", date(2025, 10, 1), None, {})
    with Store(store_path) as store, store.transaction():
        file_id = store.add_file(record, len(rows))
        meta = {"payer": payer, "reporting_entity_name": payer, "last_updated_on": date(2025, 10, 1)}
        store.insert_rows("core_tic_files", [meta], file_id=file_id)
        insert_rate_rows(store, rows, file_id=file_id, payer=payer)


@pytest.fixture(scope="session")
def site_store(real_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real store plus three payers with known rates for J9032 and J9330 (one named like an attack)."""
    import shutil

    path = tmp_path_factory.mktemp("site") / "atlas.duckdb"
    shutil.copy(real_store, path)
    add_payer(path, "Aetna", {"J9032": [60.0, 70.0, 80.0], "J9330": [30.0, 40.0]})
    add_payer(path, "Cigna", {"J9032": [55.0, 65.0], "J9330": [35.0]})
    add_payer(path, HOSTILE_PAYER, {"J9032": [58.0]})
    return path


class LiveServer:
    """The web application on a loopback port, run by uvicorn in a thread."""

    def __init__(self, db: Path, idle: float = 0.5) -> None:
        import threading

        import uvicorn

        from hcpcs_atlas.site.app import create_app
        from hcpcs_atlas.site.serve import bind
        from hcpcs_atlas.site.state import Atlas

        self.atlas = Atlas(db, idle=idle)
        self.sock = bind("127.0.0.1", 0)
        self.base = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(create_app(self.atlas), log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)
        self.thread.start()
        while not self.server.started:
            self.thread.join(0.02)

    def get(self, path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
        import urllib.error
        import urllib.request

        request = urllib.request.Request(self.base + path, method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as err:
            with err:
                return err.code, dict(err.headers), err.read()

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.atlas.close()
        self.sock.close()


@pytest.fixture(params=["c", "pure"])
def json_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Runs a JSON hospital test twice: with the C item search (skipped when it is not built) and with
    HCPCS_ATLAS_PURE_PYTHON=1 (what a machine without a C compiler runs)."""
    from hcpcs_atlas import accel

    if request.param == "pure":
        monkeypatch.setenv(accel.PURE_ENV, "1")
    else:
        monkeypatch.delenv(accel.PURE_ENV, raising=False)
        if accel.load("hcpcs_atlas.sources.hospital._jsonitems") is None:
            pytest.skip("the C item search is not built (no C compiler at install?)")
    return str(request.param)


@pytest.fixture(params=["accel", "pure"])
def tic_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Runs a TiC test with the C accelerator (when built) and again in pure Python, as a machine without
    a C compiler runs it: the same rows, refusals and byte offsets either way."""
    from hcpcs_atlas import accel
    from hcpcs_atlas.sources.tic import columns, scan

    from .helpers import tic_pure

    if request.param == "pure":
        monkeypatch.setenv(accel.PURE_ENV, "1")  # worker and helper processes load no accelerator
        for module, name, value in tic_pure():
            monkeypatch.setattr(module, name, value)
    elif columns._FLATTEN is None or scan._HITS is None:
        pytest.skip("the TiC accelerators are not built")
    return str(request.param)
