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
