"""load nucc / nppes / label from the command line; J0135's publication; the demo's providers and label."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from hcpcs_atlas.cli import main
from hcpcs_atlas.demo import run_demo
from hcpcs_atlas.facts import FactsBuilder
from hcpcs_atlas.render import render_markdown
from hcpcs_atlas.store import Store
from hcpcs_atlas.writer import write_publication

from .helpers import table_counts


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_load_labels_says_what_links(shared_data: Path, store_copy: Path) -> None:
    code, out, _ = run("--db", str(store_copy), "load", "label", str(shared_data / "fda_spl"))
    assert code == 0
    assert "humira.xml: links to J0135 (by generic name), J0139 (by generic name)" in out
    assert "lipitor-orig.xml: links to no HCPCS code in the store" in out
    code, out, _ = run("--db", str(store_copy), "facts", "J0135")
    (label,) = json.loads(out)["clinical"]["labels"]
    assert set(label) == {
        "set_id", "version", "effective_date", "title", "generic_names", "routes", "dosage_forms",
        "indications", "dosage_and_administration", "boxed_warning", "link", "source_file",
    }  # fmt: skip
    assert (label["link"], label["boxed_warning"], label["effective_date"]) == (
        "generic_name",
        True,
        "2013-09-30",
    )
    assert label["indications"].startswith("1.1 Rheumatoid Arthritis")


def test_bad_label_inputs_exit_2_store_unchanged(store_copy: Path, tmp_path: Path) -> None:
    before = table_counts(store_copy)
    bad = tmp_path / "bad.xml"
    bad.write_text("<document><title>oops</document>")
    empty = tmp_path / "label.zip"
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("label.jpg", b"\xff\xd8")
    for path, message in ((bad, "bad.xml: malformed XML at line 1"), (empty, "the zip holds no SPL XML")):
        code, _, err = run("--db", str(store_copy), "load", "label", str(path))
        assert code == 2
        assert err.startswith("error: ") and message in err and err.count("\n") == 1
    assert table_counts(store_copy) == before


def test_load_nucc_and_nppes(shared_data: Path, tmp_path: Path) -> None:
    db = str(tmp_path / "a.duckdb")
    code, out, _ = run("--db", db, "load", "nucc", str(shared_data / "nucc/nucc_taxonomy_251.csv"))
    assert code == 0 and "loaded 883 nucc rows" in out
    code, out, _ = run("--db", db, "load", "nppes", str(shared_data / "nppes/npidata_first10_2016.csv"))
    assert code == 0 and "loaded 10 nppes rows" in out
    code, _, err = run("--db", db, "load", "nppes", str(shared_data / "nucc/nucc_taxonomy_251.csv"))
    assert code == 2 and "not an NPPES file" in err


def test_j0135_terminated_first_then_label(shared_data: Path, store_copy: Path) -> None:
    run("--db", str(store_copy), "load", "label", str(shared_data / "fda_spl/humira.xml"))
    with Store(store_copy, read_only=True) as store:
        md = render_markdown(write_publication(FactsBuilder(store).build("J0135")))
    summary = md.split("## Summary & Overview", 1)[1]
    assert summary.lstrip().startswith("> **TERMINATED: J0135 has termination date 2024-12-31")
    context = md.split("### Clinical context", 1)[1].split("### Coding specifications", 1)[0]
    assert context.lstrip().startswith("> **J0135 is terminated (HCPCS TERM DT 2024-12-31)")
    assert "SPL set id 608d4f0d-b19f-46d3-749a-7159aa5f933d, version 1560, effective 2013-09-30" in context
    assert (
        "“HUMIRA is indicated for reducing signs and symptoms of moderately to severely active polyarticular"
        in context
    )
    assert "The label carries a boxed warning." in context
    assert "Route(s): SUBCUTANEOUS" in context


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "out"
    run_demo(out, formats=("md", "html"))
    return out


def test_demo_shows_taxonomies_states_and_clinical_context(demo: Path) -> None:
    md = (demo / "publications" / "J9032.md").read_text(encoding="utf-8")
    taxonomies = md.split("### Provider taxonomies", 1)[1].split("###", 1)[0]
    assert "| 207RX0202X | Medical Oncology Physician |" in taxonomies
    assert "are not (counted here, not classified)" in taxonomies
    by_state = md.split("### By state", 1)[1].split("###", 1)[0]
    assert "| TX |" in by_state and "| CA |" in by_state
    context = md.split("### Clinical context", 1)[1].split("###", 1)[0]
    assert "DEMO SYNTHETIC LABEL" in context and "package NDC of the label is listed under J9032" in context
    assert "Dosing basis in the label: body surface area (per m²)" in context
    html = (demo / "publications" / "J9032.html").read_text(encoding="utf-8")
    assert "Median negotiated rate for J9032 by state" in html
    # a code without a label and without rates: exactly as before
    j0202 = (demo / "publications" / "J0202.md").read_text(encoding="utf-8")
    assert "Typical patient and indication: Data not available in the input." in j0202
