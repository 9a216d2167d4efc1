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
