"""What a careful reader catches, on the real 2025 and 2020 HCPCS files: related codes with their status,
no HCPCS file loaded, overlapping site-of-service groups, the APC of an earlier file, the chart's axis."""

from __future__ import annotations

import re
import zlib
from datetime import date
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from hcpcs_atlas.cli import main
from hcpcs_atlas.facts import CodeFacts, FactsBuilder
from hcpcs_atlas.render import render_html, render_json, render_markdown, render_pdf
from hcpcs_atlas.render.chart import chart_svg, ticks
from hcpcs_atlas.store import Store, load_files
from hcpcs_atlas.writer import write_publication
from hcpcs_atlas.writer.model import NA, Chart, ChartSeries

from .helpers import ASP, HCPCS_2020_TXT, OPPS_2023, OPPS_2026

C9442_ROW = "TERMINATED 2015-12-31: do not bill for dates of service after 2015-12-31. Replacement: J9032"


def _load(store: Store, source: str, path: Path) -> None:
    [outcome] = load_files(store, source, [path], None)
    assert outcome.error is None, outcome.error


@pytest.fixture(scope="module")
def only_2020(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 2020 HCPCS text file and the 2026 Softek CSV (no APC column) only."""
    path = tmp_path_factory.mktemp("y2020") / "atlas.duckdb"
    with Store(path) as store:
        _load(store, "hcpcs", shared_data / HCPCS_2020_TXT)
        _load(store, "opps", shared_data / OPPS_2026)
    return path


def _j9032(path: Path) -> CodeFacts:
    with Store(path, read_only=True) as store:
        return FactsBuilder(store).build("J9032")


def _c9442_in_every_format(f: CodeFacts) -> None:
    pub = write_publication(f)
    md, html, doc = render_markdown(pub), render_html(pub), render_json(pub)
    assert (
        f"| C9442 | Injection, belinostat, 10 mg | same drug name (belinostat) in the HCPCS descriptor | {C9442_ROW} |"
        in md
    )
    assert C9442_ROW in html and C9442_ROW in doc
    assert render_pdf(pub).startswith(b"%PDF")


def test_terminated_related_code_with_date_and_replacement_2025(real_store: Path) -> None:
    f = _j9032(real_store)
    c9442 = next(r for r in f.related.hcpcs if r.code == "C9442")
    assert (c9442.status, c9442.terminated, c9442.replacement_codes) == (
        "terminated",
        date(2015, 12, 31),
        ["J9032"],
    )
    facts = orjson.loads(orjson.dumps(f))
    assert {
        "status": "terminated",
        "terminated": "2015-12-31",
        "replacement_codes": ["J9032"],
    }.items() <= next(r for r in facts["related"]["hcpcs"] if r["code"] == "C9442").items()
    _c9442_in_every_format(f)


def test_terminated_related_code_2020_file(only_2020: Path) -> None:
    f = _j9032(only_2020)
    assert [(r.code, r.status, str(r.terminated), r.replacement_codes) for r in f.related.hcpcs] == [
        ("C9442", "terminated", "2015-12-31", ["J9032"])
    ]
    _c9442_in_every_format(f)


def test_terminated_related_codes_sort_after_active_ones(real_store: Path) -> None:
    with Store(real_store, read_only=True) as store:
        f = FactsBuilder(store).build("J0165")
    statuses = [r.status or "" for r in f.related.hcpcs]
    assert statuses == ["active"] * 4 + ["terminated"]  # J0166-J0169, then J0173 (terminated 2025-06-30)
    terminated = next(r for r in f.related.hcpcs if r.status == "terminated")
    assert terminated.replacement_codes == []
    md = render_markdown(write_publication(f))
    assert f"Replacement: {NA}" in md and f"| {terminated.code} |" in md


def test_facts_without_a_hcpcs_file_says_how_to_load_one(shared_data: Path, tmp_path: Path) -> None:
    db = str(tmp_path / "atlas.duckdb")
    runner = CliRunner()
    assert runner.invoke(main, ["--db", db, "load", "asp", str(shared_data / ASP)]).exit_code == 0
    result = runner.invoke(main, ["--db", db, "facts", "J1931"])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {db}: no HCPCS file is loaded")
    assert "hcpcs-atlas load hcpcs FILE" in result.stderr and "not a code" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_apc_from_the_latest_file_that_has_one(store_copy: Path, shared_data: Path) -> None:
    with Store(store_copy) as store:
        _load(store, "opps", shared_data / OPPS_2026)
        f = FactsBuilder(store).build("J9032")
    opps = f.medicare.opps
    assert opps is not None and opps.source_file == Path(OPPS_2026).name and opps.payment_rate == 53.111
    assert (opps.apc, opps.apc_source_file, str(opps.apc_effective_start)) == (
        "1658",
        Path(OPPS_2023).name,
        "2023-01-01",
    )
    md = render_markdown(write_publication(f))
    assert f"| OPPS APC | 1658 (from {Path(OPPS_2023).name}, effective 2023-01-01; the latest file, " in md


def test_apc_not_available_only_when_no_file_has_one(only_2020: Path) -> None:
    opps = _j9032(only_2020).medicare.opps
    assert opps is not None and opps.apc is None and opps.apc_source_file is None
    assert f"| OPPS APC | {NA} |" in render_markdown(write_publication(_j9032(only_2020)))


def test_ticks_are_round_and_span_the_values() -> None:
    assert ticks(37.7, 56.8) == [35.0, 40.0, 45.0, 50.0, 55.0, 60.0]
    assert ticks(0.012, 0.019) == [0.012, 0.014, 0.016, 0.018, 0.02]
    assert ticks(5.0, 5.0) == [4.0, 4.5, 5.0, 5.5, 6.0]


def _chart() -> Chart:
    series = [ChartSeries("Aetna", 16, 37.7, 42.14, 51.565, 56.8, 56.8, 56.8, 56.8)]
    label = "Medicare ASP limit $52.47 (2025-10-01 to 2025-12-31)"
    return Chart(
        "Negotiated rates for J9032 per 10 MG",
        series,
        52.474,
        label,
        "10 MG",
        axis_label="Negotiated rate per 10 MG (USD)",
        description="Box plot. Aetna: 16 rates.",
    )


def test_chart_has_dollar_axis_labelled_reference_and_text_alternative() -> None:
    svg = chart_svg(_chart())
    assert re.search(r"<svg[^>]*>\s*<title[^>]*>Negotiated rates for J9032 per 10 MG</title>", svg)
    assert '<desc id="chart-desc">Box plot. Aetna: 16 rates.</desc>' in svg
    assert 'aria-labelledby="chart-title chart-desc"' in svg
    assert [f"${v}.00" for v in (35, 40, 45, 50, 55, 60)] == re.findall(r">(\$[\d.]+)</text>", svg)[:6]
    assert ">Negotiated rate per 10 MG (USD)</text>" in svg
    assert ">Medicare ASP limit $52.47 (2025-10-01 to 2025-12-31)</text>" in svg
    assert 'class="reference"' not in svg and 'stroke-dasharray="4 3"' in svg  # styled without CSS


def _pdf_text(pdf: bytes) -> bytes:
    streams = re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S)
    out = []
    for s in streams:
        try:
            out.append(zlib.decompress(s))
        except zlib.error:
            continue
    return b"\n".join(out)


def test_the_same_chart_is_drawn_in_the_pdf() -> None:
    from hcpcs_atlas.writer.model import Publication, Section

    pub = Publication("J9032", "J9032", "test", [Section("commercial", "Commercial", [_chart()])])
    text = _pdf_text(render_pdf(pub))
    for label in (b"($35.00) Tj", b"($60.00) Tj", b"(Negotiated rate per 10 MG \\(USD\\)) Tj"):
        assert label in text, label
    assert b"Medicare ASP limit $52.47 \\(2025-10-01 to 2025-12-31\\)" in text
