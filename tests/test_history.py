"""History across the real quarterly series (MANIFEST.md §9-§11): one standing edition per quarter."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from hcpcs_atlas.cli import main
from hcpcs_atlas.facts import FactsBuilder
from hcpcs_atlas.render.linechart import line_chart_svg
from hcpcs_atlas.store import Store, load_file
from hcpcs_atlas.writer import write_publication
from hcpcs_atlas.writer.model import LineChart, Table
from hcpcs_atlas.writer.updates import timeline

J9032_SERIES = [48.884, 48.837, 49.956, 50.088, 50.280, 50.919, 52.040, 52.474]
FIRST_OCT_2025 = "section 508 version of Oct 2025 ASP Pricing File 091725.csv"
REVISED_OCT_2025 = "2025_Oct_ASP_Pricing_File.csv"


def series_files(shared_data: Path) -> list[tuple[str, Path]]:
    """Every ASP, crosswalk and Addendum B file of the series, in no meaningful order."""
    files = [
        ("crosswalk" if "Crosswalk" in p.name else "asp", p)
        for p in sorted((shared_data / "asp/history").iterdir())
    ]
    files += [("asp", shared_data / "asp" / REVISED_OCT_2025)]
    files += [("crosswalk", shared_data / "asp/2025_Oct_ASP_NDC-HCPCS_Crosswalk.csv")]
    files += [("asp", shared_data / "asp/2025_Oct_NOC_Pricing_File.csv")]
    files += [("crosswalk", shared_data / "asp/2025_Oct_ASP_NOC_NDC-HCPCS_Crosswalk.csv")]
    files += [("opps", p) for p in sorted((shared_data / "opps/history").iterdir())]
    return files


def load_files(path: Path, files: list[tuple[str, Path]]) -> Path:
    with Store(path) as store:
        for source, file in files:
            load_file(store, source, file)
    return path


@pytest.fixture(scope="module")
def series_db(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("series")
    hcpcs = [shared_data / "hcpcs/2019/2019-Alpha-Numeric-HCPCS-File.zip"]  # the CMS zip as distributed
    hcpcs.append(shared_data / "hcpcs/2020/HCPC2020_ANWEB_w_disclaimer.txt")
    hcpcs.append(shared_data / "hcpcs/2025_oct/HCPC2025_OCT_ANWEB_v4.xlsx")
    files = [*(("hcpcs", p) for p in hcpcs), *series_files(shared_data)]
    return load_files(folder / "atlas.duckdb", files)


@pytest.fixture(scope="module")
def series(series_db: Path) -> Iterator[FactsBuilder]:
    with Store(series_db, read_only=True) as store:
        yield FactsBuilder(store)


def test_j9032_payment_limit_every_quarter(series: FactsBuilder) -> None:
    f = series.build("J9032")
    history = f.medicare.asp_history
    assert [p.payment_limit for p in history] == J9032_SERIES
    assert [p.effective_start for p in history] == [
        date(year, month, 1) for year in (2024, 2025) for month in (1, 4, 7, 10)
    ]
    assert history[-1].source_file == REVISED_OCT_2025  # the later edition stands
    assert history[-1].revised and history[-1].superseded_value == 52.474
    assert not any(p.revised for p in history[:-1])
    assert f.medicare.asp is not None and f.medicare.asp.payment_limit == 52.474
    one, four = f.medicare.asp_trend
    assert (one.quarters, one.from_limit, one.change_usd) == (1, 52.040, 52.474 - 52.040)
    assert (four.quarters, four.from_quarter, four.change_pct) == (
        4,
        date(2024, 10, 1),
        (52.474 - 50.088) / 50.088 * 100,
    )


def test_j9032_table_and_chart(series: FactsBuilder) -> None:
    pub = write_publication(series.build("J9032"))
    medicare = next(s for s in pub.sections if s.id == "payers").subsections[0]
    table = next(b for b in medicare.blocks if isinstance(b, Table) and "by quarter" in (b.caption or ""))
    assert [row[:2] for row in table.rows] == [
        ["2024 Q1", "$48.884"], ["2024 Q2", "$48.837"], ["2024 Q3", "$49.956"], ["2024 Q4", "$50.088"],
        ["2025 Q1", "$50.280"], ["2025 Q2", "$50.919"], ["2025 Q3", "$52.040"], ["2025 Q4", "$52.474"],
    ]  # fmt: skip
    chart = next(b for b in medicare.blocks if isinstance(b, LineChart))
    assert [s.label for s in chart.series] == ["ASP payment limit", "OPPS payment rate"]
    assert chart.series[1].values == [48.884, None, None, None, 50.28, None, 52.04, None]
    svg = line_chart_svg(chart)
    assert svg.count("<polyline") == 2 and svg.count("<circle") == 8 + 3
    assert ">$48.837</text>" in svg and ">$52.474</text>" in svg and ">2025 Q4</text>" in svg


def test_revised_edition_is_a_correction_not_a_quarterly_change(series: FactsBuilder) -> None:
    f = series.build("J2782")
    latest = f.medicare.asp_history[-1]
    assert (latest.payment_limit, latest.revised, latest.superseded_value) == (103.397, True, 105.124)
    assert (latest.source_file, latest.superseded_file) == (REVISED_OCT_2025, FIRST_OCT_2025)
    correction = next(c for c in f.changes if c.kind == "correction")
    assert (correction.before_usd, correction.after_usd, correction.to_effective) == (
        105.124,
        103.397,
        date(2025, 10, 1),
    )
    quarterly = [c for c in f.changes if c.source == "asp" and c.kind == "change"]
    assert all(c.from_file != FIRST_OCT_2025 and c.to_file != FIRST_OCT_2025 for c in quarterly)
    line = next(t for t in timeline(f) if "revised in a later edition" in t)
    assert "$105.124 → $103.397" in line and "(ASP quarter)" in line


def test_load_order_does_not_matter(shared_data: Path, tmp_path: Path, series: FactsBuilder) -> None:
    """The revised edition loaded first still stands: its "Updated January 2026" note dates it."""
    history = shared_data / "asp/history"
    backwards = [("asp", shared_data / "asp" / REVISED_OCT_2025), ("asp", history / FIRST_OCT_2025)]
    backwards += [("asp", history / "section 508 verision of JUL 2025 ASP Pricing File 062325.csv")]
    files = [("hcpcs", shared_data / "hcpcs/2025_oct/HCPC2025_OCT_ANWEB_v4.xlsx"), *backwards]
    with Store(load_files(tmp_path / "atlas.duckdb", files), read_only=True) as store:
        f = FactsBuilder(store).build("J2782")
    assert f.medicare.asp_history == series.build("J2782").medicare.asp_history[-2:]


def test_crosswalk_change_two_ndcs_then_one(series: FactsBuilder) -> None:
    f = series.build("J9032")
    assert [(e.effective, e.change, e.ndc) for e in f.ndc_history] == [
        (date(2025, 1, 1), "removed", "68152-0108-09")
    ]
    assert [n.ndc for n in f.ndcs] == ["72893-0002-01"]
    line = next(t for t in timeline(f) if "NDC 68152-0108-09" in t)
    assert line.startswith("2025-01-01 (crosswalk quarter)")


def test_addendum_b_history(series: FactsBuilder) -> None:
    f = series.build("J9032")
    assert [
        (p.effective_start, p.status_indicator, p.apc, p.payment_rate) for p in f.medicare.opps_history
    ] == [
        (date(2024, 1, 1), "K", "1658", 48.884),
        (date(2025, 1, 1), "K", "1658", 50.28),
        (date(2025, 7, 1), "K", "1658", 52.04),
    ]
    opps = next(p for p in f.provenance if p.file_name.endswith("Addendum_B.04.24.24.csv"))
    assert (opps.effective_start, opps.edition, opps.period_from) == (
        date(2024, 1, 1),
        date(2024, 4, 24),
        "file name",
    )


def test_code_terminated_between_two_loaded_years(series: FactsBuilder) -> None:
    f = series.build("J9031")
    event = next(e for e in f.hcpcs_history if e.change == "terminated")
    assert (event.effective, event.before, event.after) == (date(2020, 1, 1), None, "2019-06-30")
    assert event.source_file == "HCPC2020_ANWEB_w_disclaimer.txt"
    line = next(t for t in timeline(f) if "terminated" in t)
    assert "2020-01-01 (HCPCS file period)" in line and "2019-06-30" in line


def test_timeline_newest_first_and_only_changes(series: FactsBuilder) -> None:
    lines = timeline(series.build("J9032"))
    dates = [line[:10] for line in lines]
    assert dates == sorted(dates, reverse=True)
    assert sum("(ASP quarter)" in line for line in lines) == 7  # 8 quarters, every one a change
    assert any("(rule effective date): JZ" in line for line in lines)


def changes_cli(db: Path, *args: str) -> str:
    result = CliRunner().invoke(main, ["--db", str(db), "changes", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_changes_command_json(series_db: Path) -> None:
    found = json.loads(changes_cli(series_db, "--format", "json"))
    assert set(found[0]) >= {
        "code",
        "source",
        "kind",
        "field",
        "before",
        "after",
        "from_file",
        "to_file",
        "effective",
    }
    correction = next(c for c in found if c["kind"] == "correction")
    assert (correction["code"], correction["before"], correction["after"]) == ("J2782", "105.124", "103.397")
    j9032 = [c for c in found if c["code"] == "J9032" and c["source"] == "asp"]
    assert [c["after"] for c in reversed(j9032)] == [str(v) for v in J9032_SERIES[1:]]
    assert any(c["code"] == "J9031" and c["kind"] == "terminated" for c in found)
    dates = [c["effective"] for c in found]
    assert dates == sorted(dates, reverse=True)


def test_changes_command_filters_and_formats(series_db: Path) -> None:
    rows = list(
        csv.DictReader(
            io.StringIO(changes_cli(series_db, "--since", "2025-07-01", "--source", "asp", "--format", "csv"))
        )
    )
    assert (
        rows and {r["source"] for r in rows} == {"asp"} and min(r["effective"] for r in rows) >= "2025-07-01"
    )
    big = json.loads(changes_cli(series_db, "--source", "asp", "--min-pct", "50", "--format", "json"))
    assert big and all(abs(c["change_pct"]) >= 50 for c in big if c["change_pct"] is not None)
    text = changes_cli(series_db, "--source", "crosswalk")
    assert "Biggest payment movers" in text and "| J9032 | removed | NDC 68152-0108-09 |" in text


def test_site_changes_page(series_db: Path, tmp_path: Path) -> None:
    from hcpcs_atlas.site import build_publications

    with Store(series_db, read_only=True) as store:
        result = build_publications(store, None, ["json"], tmp_path)
    assert tmp_path / "changes.html" in result.files
    twin = json.loads((tmp_path / "changes.json").read_text(encoding="utf-8"))
    assert any(c["code"] == "J2782" and c["kind"] == "correction" for c in twin)
    html = (tmp_path / "changes.html").read_text(encoding="utf-8")
    assert 'href="changes.json"' in html and "J2782" in html
    assert 'href="changes.html"' in (tmp_path / "index.html").read_text(encoding="utf-8")
