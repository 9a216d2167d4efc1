"""Section 5: Payer Landscape & Reimbursement Benchmarks."""

from __future__ import annotations

from ..data import major_payers, payer_order
from ..facts.model import Benchmarks, Breakdown, CodeFacts, OppsFacts, PayerFacts
from .fmt import iso_date, or_na, pct, period, usd
from .history import asp_history_blocks
from .hospital import hospital_rates
from .model import NA, Block, Chart, ChartSeries, Paragraph, Section, Table
from .nppes import state_blocks

_STATS = ["Rates (n)", "Min", "P10", "P25", "Median", "P75", "P90", "Max", "Median % of Medicare"]


def _medicare(f: CodeFacts) -> list[Block]:
    asp, opps = f.medicare.asp, f.medicare.opps
    rows = []
    if asp:
        rows += [
            ["ASP payment limit per billing unit", usd(asp.payment_limit)],
            ["Billing unit (HCPCS code dosage)", or_na(asp.dosage)],
            ["ASP quarter", period(asp.effective_start, asp.effective_end)],
            ["Coinsurance", pct(asp.coinsurance_pct)],
            ["ASP file note", or_na(asp.notes)],
        ]
    else:
        rows.append(["ASP payment limit per billing unit", NA])
    if opps:
        si = opps.status_indicator or NA
        rows += [
            ["OPPS status indicator", f"{si} ({opps.status_meaning})" if opps.status_meaning else si],
            ["OPPS APC", _apc(opps)],
            ["OPPS national unadjusted payment rate", usd(opps.payment_rate)],
            ["OPPS file (effective)", f"{opps.source_file} ({iso_date(opps.effective_start)})"],
        ]
    else:
        rows.append(["OPPS status indicator, APC and rate", NA])
    return [Table(["Medicare", "Value"], rows), *asp_history_blocks(f)]


def _apc(opps: OppsFacts) -> str:
    if not opps.apc:
        return NA
    if opps.apc_source_file == opps.source_file:
        return opps.apc
    return (
        f"{opps.apc} (from {opps.apc_source_file}, effective {iso_date(opps.apc_effective_start)}; "
        f"the latest file, {opps.source_file}, carries no APC)"
    )


def _stats_row(label: str, b: Benchmarks, pct_med: float | None) -> list[str]:
    values = [b.min, b.p10, b.p25, b.median, b.p75, b.p90, b.max]
    return [label, str(b.n_rates), *(usd(v) for v in values), pct(pct_med)]


#: Why a breakdown's groups can add up to more than the payer's rates (docs/methodology.md).
_OVERLAP = {
    "Site of service": "a rate the file lists for places of service in several groups (say office 11 and "
    "outpatient hospital 22) applies in each of them, so it is counted in each",
    "Plan / reporting entity": "a rate found in several plans' files is counted under each plan",
}


def _breakdown_table(title: str, rows: list[Breakdown], total: int) -> Table:
    counted = sum(r.benchmarks.n_rates for r in rows)
    caption = None
    if counted > total and title in _OVERLAP:
        caption = (
            f"Groups overlap: they count {counted} rates in all for the payer's {total} distinct rates, "
            f"because {_OVERLAP[title]}. Each group's figures are right for that group; do not add them up."
        )
    return Table(
        [title, *_STATS],
        [_stats_row(r.group, r.benchmarks, r.pct_of_medicare_median) for r in rows],
        caption,
    )


def _payer_sentence(p: PayerFacts, medicare: float | None) -> str:
    b = p.benchmarks
    assert b is not None
    text = (
        f"{p.payer}: {b.n_rates} distinct negotiated rates from {p.n_tins} TIN(s) and {p.n_providers} NPI(s); "
        f"median {usd(b.median)}, middle half {usd(b.p25)} to {usd(b.p75)}"
    )
    if p.pct_of_medicare_median is not None and medicare:
        text += f", {pct(p.pct_of_medicare_median)} of the Medicare payment limit ({usd(medicare)})"
    return text + "."


def _exclusions(p: PayerFacts) -> str | None:
    parts = []
    if p.n_suspect_rates:
        parts.append(f"{p.n_suspect_rates} rate(s) outside 0.05x-20x of Medicare flagged as suspect units")
    if p.n_expired_excluded:
        parts.append(f"{p.n_expired_excluded} rate(s) expired before their file's last_updated_on")
    for kind, n in p.non_dollar_rates.items():
        parts.append(f"{n} {kind} rate(s) (not dollar amounts)")
    return "Left out of the dollar figures: " + "; ".join(parts) + "." if parts else None


def _sources(p: PayerFacts) -> str:
    files = [f"{s.file_name} (last_updated_on {iso_date(s.last_updated_on)})" for s in p.source_files]
    return "Files: " + "; ".join(files) + "."


def _payer_section(p: PayerFacts | None, name: str, medicare: float | None) -> Section:
    sid = "payer-" + name.lower().replace(" ", "-")
    if p is None:
        return Section(sid, name, [Paragraph(NA)])
    blocks: list[Block] = []
    if b := p.benchmarks:
        blocks.append(Paragraph(_payer_sentence(p, medicare)))
        blocks.append(_breakdown_table("Billing class", p.by_billing_class, b.n_rates))
        blocks.append(_breakdown_table("Site of service", p.by_site_of_service, b.n_rates))
        if len(p.by_plan) > 1 or name not in major_payers() or name == "Blue Cross Blue Shield":
            blocks.append(_breakdown_table("Plan / reporting entity", p.by_plan, b.n_rates))
    else:
        blocks.append(Paragraph(f"Dollar benchmarks: {NA}"))
    if note := _exclusions(p):
        blocks.append(Paragraph(note))
    blocks.append(Paragraph(_sources(p)))
    return Section(sid, name, blocks)


def _overview(f: CodeFacts, medicare: float | None) -> list[Block]:
    priced = [p for p in f.payers if p.benchmarks]
    blocks: list[Block] = []
    if priced:
        rows = [_stats_row(p.payer, p.benchmarks, p.pct_of_medicare_median) for p in priced if p.benchmarks]
        blocks += [Paragraph(_comparison(priced, medicare)), Table(["Payer", *_STATS], rows)]
    else:
        blocks.append(Paragraph(f"Commercial negotiated rates: {NA}"))
    if series := _side_by_side(f):
        blocks.append(_chart(f, series))
    return blocks


def _series(label: str, b: Benchmarks) -> ChartSeries:
    return ChartSeries(label, b.n_rates, b.min, b.p10, b.p25, b.median, b.p75, b.p90, b.max)


def _side_by_side(f: CodeFacts) -> list[ChartSeries]:
    """Payer files and hospital files side by side, payer by payer (labels say which when both exist)."""
    tic = {p.payer: p.benchmarks for p in f.payers if p.benchmarks}
    hospital = {p.payer: p.benchmarks for p in f.hospital_rates if p.benchmarks}
    both = bool(tic) and bool(hospital)
    series = []
    for name in sorted({*tic, *hospital}, key=payer_order):
        if b := tic.get(name):
            series.append(_series(f"{name} (payer files)" if both else name, b))
        if b := hospital.get(name):
            series.append(_series(f"{name} (hospital files)", b))
    return series


def _chart(f: CodeFacts, series: list[ChartSeries]) -> Chart:
    asp = f.medicare.asp
    unit = asp.dosage if asp and asp.dosage else "billing unit"
    medicare = asp.payment_limit if asp else None
    label = None
    if asp and medicare:
        label = f"Medicare ASP limit {usd(medicare)} ({period(asp.effective_start, asp.effective_end)})"
    described = [
        f"{s.label}: {s.n} rates, median {usd(s.median)}, middle half {usd(s.p25)} to {usd(s.p75)}, "
        f"p10 to p90 {usd(s.p10)} to {usd(s.p90)}, min {usd(s.min)}, max {usd(s.max)}"
        for s in series
    ]
    if label:
        described.append(f"dashed line: {label}")
    return Chart(
        f"Negotiated rates for {f.code} per {unit}",
        series,
        medicare,
        label,
        unit,
        axis_label=f"Negotiated rate per {unit} (USD)",
        description="Box plot of negotiated rates per payer. " + "; ".join(described) + ".",
    )


def _comparison(priced: list[PayerFacts], medicare: float | None) -> str:
    medians = sorted((p.benchmarks.median, p.payer) for p in priced if p.benchmarks)
    (low, low_payer), (high, high_payer) = medians[0], medians[-1]
    if len(medians) == 1:
        text = f"One payer has dollar rates loaded: {low_payer}, median {usd(low)}"
    else:
        text = (
            f"Across {len(medians)} payers, median negotiated rates range from {usd(low)} ({low_payer}) "
            f"to {usd(high)} ({high_payer})"
        )
    if medicare:
        above = [p.payer for p in priced if p.benchmarks and p.benchmarks.median > medicare]
        text += f"; {len(above)} of {len(medians)} pay a median above the Medicare limit of {usd(medicare)}"
    return text + "."


def payers(f: CodeFacts) -> Section:
    medicare = f.medicare.asp.payment_limit if f.medicare.asp else None
    by_name = {p.payer: p for p in f.payers}
    others = [p.payer for p in f.payers if p.payer not in major_payers()]
    subsections = [Section("medicare", "Medicare", _medicare(f))]
    subsections.append(Section("commercial", "Commercial payers at a glance", _overview(f, medicare)))
    subsections.append(Section("by-state", "By state", state_blocks(f)))
    subsections += [_payer_section(by_name.get(n), n, medicare) for n in (*major_payers(), *others)]
    subsections.append(hospital_rates(f, medicare))
    return Section("payers", "Payer Landscape & Reimbursement Benchmarks", subsections=subsections)


__all__ = ["payers"]
