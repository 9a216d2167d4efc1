"""Payer Landscape, "Hospital-reported negotiated rates": hospitals' price files (45 CFR 180.50)."""

from __future__ import annotations

from collections import Counter

from ..facts.model import CodeFacts, HospitalCharges, HospitalPayerFacts, PayerFacts
from .fmt import pct, usd
from .model import NA, Block, Paragraph, Section, Table
from .summary import hospital_sentence

__all__ = ["hospital_rates"]

_STATS = [
    "Hospitals",
    "Rates (n)",
    "Min",
    "P10",
    "P25",
    "Median",
    "P75",
    "P90",
    "Max",
    "Median % of Medicare",
]
_BREAKDOWN = ["Rates (n)", "Min", "P10", "P25", "Median", "P75", "P90", "Max", "Median % of Medicare"]


def _row(label: str, p: HospitalPayerFacts) -> list[str]:
    b = p.benchmarks
    assert b is not None
    values = [b.min, b.p10, b.p25, b.median, b.p75, b.p90, b.max]
    return [
        label,
        str(p.n_hospitals),
        str(b.n_rates),
        *(usd(v) for v in values),
        pct(p.pct_of_medicare_median),
    ]


def _table(p: HospitalPayerFacts, title: str, groups: str) -> Table:
    rows = []
    for g in getattr(p, groups):
        b = g.benchmarks
        values = [b.min, b.p10, b.p25, b.median, b.p75, b.p90, b.max]
        rows.append([g.group, str(b.n_rates), *(usd(v) for v in values), pct(g.pct_of_medicare_median)])
    return Table([title, *_BREAKDOWN], rows, caption=f"{p.payer}: hospital-reported rates by {title.lower()}")


def _comparison(tic: list[PayerFacts], hospital: list[HospitalPayerFacts], medicare: float | None) -> str:
    """One sentence per payer with both sources, from the medians only."""
    by_payer = {p.payer: p for p in tic if p.benchmarks}
    parts = []
    for h in hospital:
        t = by_payer.get(h.payer)
        if h.benchmarks is None or t is None or t.benchmarks is None:
            continue
        hm, tm = h.benchmarks.median, t.benchmarks.median
        relation = "above" if hm > tm else "below" if hm < tm else "equal to"
        parts.append(
            f"{h.payer}: hospital-reported median {usd(hm)} is {relation} the payer-file median {usd(tm)}"
        )
    if not parts:
        return "No payer has dollar rates in both payer files and hospital files for this code."
    text = "; ".join(parts)
    if medicare:
        text += f" (Medicare ASP limit {usd(medicare)})"
    return text + "."


def _suspects(p: HospitalPayerFacts) -> list[Block]:
    if not p.suspects:
        return []
    reasons = Counter(s.reason.split(" NDC ")[0] if s.reason.startswith("per package?") else s.reason
                      for s in p.suspects)  # fmt: skip
    summary = "; ".join(f"{n} {reason}" for reason, n in sorted(reasons.items()))
    rows = [[s.hospital, f"{s.payer_name}: {s.plan_name}" if s.plan_name else s.payer_name,
             " / ".join(x for x in (s.billing_class, s.setting) if x) or NA, usd(s.negotiated_usd),
             f"{s.ratio_to_medicare:,.1f}x", s.reason] for s in p.suspects]  # fmt: skip
    return [
        Paragraph(f"Left out of the dollar figures as suspect units ({p.n_suspect}): {summary}."),
        Table(["Hospital", "Payer: plan", "Class / setting", "Negotiated", "x ASP limit", "Reason"], rows),
    ]


def _payer(p: HospitalPayerFacts) -> Section:
    sid = "hospital-" + p.payer.lower().replace(" ", "-")
    blocks: list[Block] = []
    if p.benchmarks:
        blocks += [_table(p, "Hospital", "by_hospital"), _table(p, "Segment", "by_segment"),
                   _table(p, "Plan", "by_plan")]  # fmt: skip
    else:
        blocks.append(Paragraph(f"Dollar benchmarks: {NA}"))
    blocks += _suspects(p)
    if p.non_dollar:
        kinds = "; ".join(f"{n} {kind}" for kind, n in p.non_dollar.items())
        blocks.append(Paragraph(f"Not dollar amounts, never in the figures: {kinds} observation(s)."))
    return Section(sid, f"{p.payer} (hospital files)", blocks)


def _charges(c: HospitalCharges | None) -> list[Block]:
    if c is None:
        return []
    rows = []
    for label, b in (("Gross charge", c.gross), ("Discounted cash price", c.discounted_cash)):
        if b is None:
            rows.append([label, "0", *([NA] * 7)])
            continue
        values = [b.min, b.p10, b.p25, b.median, b.p75, b.p90, b.max]
        rows.append([label, str(b.n_rates), *(usd(v) for v in values)])
    note = (f"Across {c.n_hospitals} hospital(s), per billing unit; {c.n_not_per_unit} price(s) outside "
            "0.05x-20x of the ASP limit (priced per package or another unit) are left out.")  # fmt: skip
    return [Paragraph(note), Table(["Price", "n", "Min", "P10", "P25", "Median", "P75", "P90", "Max"], rows)]


def _unpriced(payers: list[HospitalPayerFacts]) -> list[Block]:
    """Payers without a counted dollar rate: one line, with what was left out and why."""
    if not payers:
        return []
    parts = []
    for p in payers:
        what = [f"{p.n_suspect} suspect"] if p.n_suspect else []
        what += [f"{n} {kind}" for kind, n in p.non_dollar.items()]
        reasons = sorted({s.reason.split(" NDC ")[0] for s in p.suspects})
        parts.append(f"{p.payer} ({', '.join(what)}{': ' + '; '.join(reasons) if reasons else ''})")
    return [Paragraph("No counted dollar rate from: " + ", ".join(parts) + ".")]


def hospital_rates(f: CodeFacts, medicare: float | None) -> Section:
    """The subsection; the chart beside the payer files' is drawn by the Payer Landscape overview."""
    title = "Hospital-reported negotiated rates"
    if not f.hospital_rates and f.hospital_charges is None:
        return Section("hospital-rates", title, [Paragraph(NA)])
    priced = [p for p in f.hospital_rates if p.benchmarks]
    blocks: list[Block] = [
        Paragraph(hospital_sentence(f)),
        Paragraph(_comparison(f.payers, priced, medicare)),
    ]
    if priced:
        blocks.append(Table(["Payer", *_STATS], [_row(p.payer, p) for p in priced]))
    blocks += _unpriced([p for p in f.hospital_rates if not p.benchmarks])
    blocks += _charges(f.hospital_charges)
    return Section("hospital-rates", title, blocks, subsections=[_payer(p) for p in priced])
