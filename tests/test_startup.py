"""Start-up: the CLI imports heavy dependencies only in the commands that use them (by module list)."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("fpdf", "openpyxl", "xlrd", "pyarrow", "duckdb", "python_calamine", "numpy", "PIL", "fontTools")


def _loaded(code: str) -> set[str]:
    script = f"import sys\n{code}\nprint(' '.join(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    return {name.split(".")[0] for name in done.stdout.split()}


def test_importing_the_cli_loads_no_heavy_dependency() -> None:
    assert _loaded("import hcpcs_atlas.cli") & set(HEAVY) == set()


def test_help_loads_no_heavy_dependency() -> None:
    loaded = _loaded(
        "from hcpcs_atlas.cli import main\n"
        "try:\n    main(['--help'], prog_name='hcpcs-atlas')\nexcept SystemExit:\n    pass"
    )
    assert "click" in loaded and loaded & set(HEAVY) == set()


def test_the_package_names_still_resolve() -> None:
    import hcpcs_atlas
    from hcpcs_atlas.facts import FactsBuilder
    from hcpcs_atlas.render import render

    assert (hcpcs_atlas.FactsBuilder, hcpcs_atlas.render) == (FactsBuilder, render)
    assert all(getattr(hcpcs_atlas, name) is not None for name in hcpcs_atlas.__all__)


def test_commands_that_never_render_do_not_import_the_renderers() -> None:
    """The renderers pull in the writer and the facts' models: a third of the CLI's start-up, paid by
    every ``ingest`` (benchmarks/hospital_ingest.py compares a whole ingest with the csv module)."""
    script = "import sys, hcpcs_atlas.cli\nprint(' '.join(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = set(done.stdout.split())
    assert {"hcpcs_atlas.writer", "hcpcs_atlas.facts", "hcpcs_atlas.render.html"} & loaded == set()
