"""Provider taxonomies and states (NPPES + NUCC over the NPIs of the code's rates), as blocks."""

from __future__ import annotations

from ..facts.model import Benchmarks, CodeFacts, StateFacts, TaxonomyFacts
from .fmt import pct, usd
from .model import NA, Bar, BarChart, Block, Paragraph, Table

__all__ = ["TOP_TAXONOMIES", "provider_sites", "state_blocks", "taxonomy_blocks"]

TOP_TAXONOMIES = 10
_STATE_STATS = ["State", "NPIs", "Hospitals", "Rates (n)", "Min", "P25", "Median", "P75", "Max"]


def _name(t: TaxonomyFacts) -> str:
    if t.display_name:
        return t.display_name
    parts = [p for p in (t.classification, t.specialization) if p]
    return ", ".join(parts) if parts else "not in the loaded NUCC file"


def _coverage(f: CodeFacts) -> str:
    p = f.providers
    found = p.n_npis - p.n_npis_not_in_nppes
    text = f"The negotiated rates for {f.code} name {p.n_npis:,} distinct NPI(s); {found:,} are in the loaded NPPES file(s)"
    if p.n_npis_not_in_nppes:
        text += f", {p.n_npis_not_in_nppes:,} are not (counted here, not classified)"
    return text + ". Each NPI counts once, under its NPPES primary taxonomy."


def taxonomy_blocks(f: CodeFacts) -> list[Block]:
    p = f.providers
    if not p.n_npis:
        return [Paragraph(NA)]
    blocks: list[Block] = [Paragraph(_coverage(f))]
    if not p.taxonomies:
        return blocks
    rows = [
        [t.taxonomy, _name(t), f"{t.n_npis:,}", pct(t.share * 100), usd(t.median_rate)]
        for t in p.taxonomies[:TOP_TAXONOMIES]
    ]
    rest = p.taxonomies[TOP_TAXONOMIES:]
    if rest:
        n = sum(t.n_npis for t in rest)
        share = sum(t.share for t in rest)
        rows.append([f"{len(rest)} more", "other taxonomies", f"{n:,}", pct(share * 100), ""])
    columns = ["Taxonomy", "NUCC display name", "NPIs", "Share of NPIs in NPPES", "Median negotiated rate"]
    blocks.append(Table(columns, rows, caption="Median of the dollar rates that name at least one such NPI."))
    return blocks


def _row(s: StateFacts) -> list[str]:
    b: Benchmarks | None = s.benchmarks
    stats = (
        [str(b.n_rates), usd(b.min), usd(b.p25), usd(b.median), usd(b.p75), usd(b.max)]
        if b
        else [NA] + [""] * 5
    )
    return [s.state, f"{s.n_npis:,}", f"{s.n_hospitals:,}", *stats]


def state_blocks(f: CodeFacts) -> list[Block]:
    states = f.providers.states
    if not states:
        return [Paragraph(NA)]
    blocks: list[Block] = [
        Paragraph(
            "By the practice-location state of the NPIs named by the rates (NPPES) and the address of each "
            "hospital. A rate naming NPIs in several states counts in each of them."
        ),
        Table(_STATE_STATS, [_row(s) for s in states]),
    ]
    priced = [s for s in states if s.benchmarks]
    if len(priced) >= 3:
        bars = [
            Bar(s.state, s.benchmarks.median, f"n={s.benchmarks.n_rates}") for s in priced if s.benchmarks
        ]
        blocks.append(BarChart(f"Median negotiated rate for {f.code} by state", bars, "USD"))
    return blocks


def provider_sites(f: CodeFacts) -> str | None:
    """A clause for the typical sites of service: who the rates name, by NPPES primary taxonomy."""
    top = f.providers.taxonomies[:3]
    if not top:
        return None
    named = ", ".join(f"{_name(t)} ({t.n_npis:,} NPI(s), {pct(t.share * 100)})" for t in top)
    return f"providers named by the rates, by NPPES primary taxonomy: {named}"
