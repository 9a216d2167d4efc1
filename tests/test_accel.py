"""The optional C accelerators: built in CI, current with their source, and switchable off.

Each accelerator's results are compared with the pure-Python path in the tests of its area.
"""

from __future__ import annotations

import os
import runpy
from pathlib import Path

import pytest

import hcpcs_atlas
from hcpcs_atlas import accel

PACKAGE = Path(hcpcs_atlas.__file__).parent


def _sources() -> list[Path]:
    return sorted(PACKAGE.glob("**/*.c"))


def _module(source: Path) -> str:
    return ".".join(("hcpcs_atlas", *source.relative_to(PACKAGE).with_suffix("").parts))


@pytest.mark.parametrize("source", _sources(), ids=lambda p: p.name)
def test_each_accelerator_is_built_from_its_current_source(source: Path) -> None:
    module = accel.load(_module(source))
    if module is None:
        if os.environ.get("CI"):
            pytest.fail(f"{_module(source)} is not built: CI installs with a C compiler")
        pytest.skip(f"{_module(source)} is not built (no C compiler at install?)")
    built = Path(str(module.__file__))
    # An editable install does not rebuild on edit: a stale module would test old code.
    assert built.stat().st_mtime >= source.stat().st_mtime, f"rebuild: pip install -e . ({built.name})"


def test_pure_python_can_be_forced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(accel.PURE_ENV, "1")
    assert accel.load("hcpcs_atlas.accel") is None
    monkeypatch.setenv(accel.PURE_ENV, "0")
    assert accel.load("hcpcs_atlas.accel") is accel


def test_a_missing_accelerator_means_pure_python() -> None:
    assert accel.load("hcpcs_atlas._no_such_accelerator") is None


def test_every_accelerator_is_optional_at_install(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a compiler the install must still succeed: setup.py marks each extension optional."""
    root = PACKAGE.parents[1]
    if not (root / "setup.py").exists():
        pytest.skip("not a source checkout")
    monkeypatch.chdir(root)
    extensions = runpy.run_path("setup.py", run_name="setup")["_extensions"]()
    assert sorted(e.name for e in extensions) == sorted(_module(s) for s in _sources())
    assert all(e.optional for e in extensions)
