"""The command line: exact command forms, one-line errors with exit 2, and the CLI reference is current."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from hcpcs_atlas.cli import main

from .helpers import ASP, HCPCS_2025_XLSX, table_counts

REPO = Path(__file__).resolve().parents[1]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture()
def db(store_copy: Path) -> Path:
    return store_copy


def test_facts_and_schema(db: Path) -> None:
    code, out, _ = run("--db", str(db), "facts", "J9032")
    assert code == 0
    facts = json.loads(out)
    assert facts["medicare"]["asp"]["payment_limit"] == 52.474
    code, out, _ = run("schema")
    assert code == 0 and json.loads(out)["title"] == "hcpcs-atlas CodeFacts"


def test_build_writes_every_format_and_an_index(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    code, stdout, _ = run(
        "--db", str(db), "build", "J9032", "J9330", "--format", "md,html,json,pdf", "--out", str(out)
    )
    assert code == 0, stdout
    for name in ("J9032.md", "J9032.html", "J9032.json", "J9032.pdf", "J9330.md", "index.html", "index.json"):
        assert (out / name).is_file(), name
    assert [e["code"] for e in json.loads((out / "index.json").read_text())] == ["J9032", "J9330"]


def test_db_from_environment(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HCPCS_ATLAS_DB", str(db))
    code, out, _ = run("files")
    assert code == 0 and "2025_Oct_ASP_Pricing_File.csv" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["facts", "ZZ999"], "ZZ999: not a code in the loaded HCPCS file(s)"),
        (["load", "hcpcs", "{shared}/" + ASP], "2025_Oct_ASP_Pricing_File.csv"),
        (["load", "asp", "{shared}/" + HCPCS_2025_XLSX], "HCPC2025_OCT_ANWEB_v4.xlsx"),
        (["load", "asp", "{tmp}/missing.csv"], "missing.csv: no such file"),
        (["build", "ZZ999", "--out", "{tmp}/o"], "ZZ999"),
    ],
)
def test_bad_input_is_one_line_exit_2_store_unchanged(
    db: Path, shared_data: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    before = table_counts(db)
    filled = [a.format(shared=shared_data, tmp=tmp_path) for a in args]
    code, _, err = run("--db", str(db), *filled)
    assert code == 2
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err
    assert table_counts(db) == before


def test_missing_store_is_a_clear_error(tmp_path: Path) -> None:
    code, _, err = run("--db", str(tmp_path / "none.duckdb"), "facts", "J9032")
    assert code == 2 and "no store here" in err


def test_cli_reference_is_current() -> None:
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        from gen_cli_docs import render
    finally:
        sys.path.pop(0)
    assert (REPO / "docs" / "cli.md").read_text(encoding="utf-8") == render(), "run scripts/gen_cli_docs.py"


def test_console_script_runs() -> None:
    # The venv's own script, never PATH: CI and new users run the suite without an activated venv.
    script = Path(sys.executable).parent / "hcpcs-atlas"
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and "ingest" in result.stdout


def test_python_m_runs() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "hcpcs_atlas", "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0 and "Usage: hcpcs-atlas" in result.stdout
