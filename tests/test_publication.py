"""Publications: the outline, the NA rule, traceable figures, self-contained escaped HTML, PDF."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from hcpcs_atlas.facts import FactsBuilder
from hcpcs_atlas.render import render_html, render_json, render_markdown, render_pdf
from hcpcs_atlas.store import Store
from hcpcs_atlas.writer import NA, write_publication

from .helpers import assert_dollars_traceable

OUTLINE = [
    "Summary & Overview",
    "Billing Code Overview",
    "Clinical & Coding Specifications",
    "Related Codes",
    "Payer Landscape & Reimbursement Benchmarks",
    "Policy & Coding Updates",
    "Sources & Methodology",
]


@pytest.fixture(scope="module")
def builder(real_store: Path) -> Iterator[FactsBuilder]:
    with Store(real_store, read_only=True) as store:
        yield FactsBuilder(store)


@pytest.mark.parametrize("code", ["J9032", "J9330", "J9010", "J0131", "A4206", "E0100"])
def test_outline_and_traceable_figures(builder: FactsBuilder, code: str) -> None:
    facts = builder.build(code)
    pub = write_publication(facts)
    assert [s.title for s in pub.sections] == OUTLINE
    md = render_markdown(pub)
    assert [line[3:] for line in md.splitlines() if line.startswith("## ")] == OUTLINE
    assert_dollars_traceable(md, facts)
    assert not re.search(r"\b(None|nan|null|TODO|TBD)\b", md)
    for line in md.splitlines():
        if "not available" in line.lower():
            assert NA in line


def test_drug_publication_has_modifier_table_and_unit_rule(builder: FactsBuilder) -> None:
    md = render_markdown(write_publication(builder.build("J9032")))
    assert "| Modifier | Description | When to Use |" in md
    for modifier in ("JW", "JZ", "JG", "TB", "PO", "PN"):
        assert f"\n| {modifier} | " in md
    assert '"00" is not a modifier.' in md
    assert "Billing units = ceil(administered amount / 10 MG)" in md
    assert "$52.47 per billing unit (10 MG)" in md and "2025-10-01 to 2025-12-31" in md
    assert "| OPPS APC | 1658 |" in md
    assert "72893-0002-01" in md


def test_terminated_code_says_so_first(builder: FactsBuilder) -> None:
    md = render_markdown(write_publication(builder.build("J9010")))
    first_body_line = [line for line in md.splitlines()[4:] if line.strip()][1]
    assert first_body_line.startswith("> **TERMINATED: J9010 has termination date 2015-12-31")
    assert "J0202" in first_body_line


def test_missing_data_is_written_exactly_where_it_is_missing(builder: FactsBuilder) -> None:
    md = render_markdown(write_publication(builder.build("J9010")))
    icd = md.split("### ICD-10-CM codes")[1].split("###")[0]
    assert icd.strip() == NA
    aetna = md.split("### Aetna")[1].split("###")[0]
    assert aetna.strip() == NA


def test_html_is_self_contained_and_escaped(builder: FactsBuilder) -> None:
    facts = builder.build("J9032")
    hostile = replace(facts, descriptor=replace(facts.descriptor, long='<script>alert("x")</script> & co'))
    html = render_html(write_publication(hostile))
    assert "<script>" not in html and "&lt;script&gt;" in html and "&amp; co" in html
    # Self-contained: the stylesheet inline, no script, nothing fetched (the favicon is an empty data URL).
    assert "<style>" in html and not re.search(
        r"<link(?! rel=\"icon\" href=\"data:,\")|<script|src=\"http", html
    )
    assert "@media print" in html
    assert html.count('<section id="') >= 7


def test_json_and_pdf(builder: FactsBuilder) -> None:
    pub = write_publication(builder.build("J9330"))
    assert '"title": "Sources & Methodology"' in render_json(pub)
    pdf = render_pdf(pub)
    assert pdf.startswith(b"%PDF") and len(pdf) > 5000
