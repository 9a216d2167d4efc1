"""Medicare payment history: the ASP payment limit of every loaded quarter, as a table and a line chart."""

from __future__ import annotations

from datetime import date

from ..facts.model import AspTrend, CodeFacts
from .fmt import or_na, pct, quarter, signed_pct, signed_usd, usd_limit
from .model import Block, LineChart, LineSeries, Paragraph, Table

__all__ = ["asp_history_blocks"]


def _trend(t: AspTrend) -> str:
    span = "1 quarter" if t.quarters == 1 else f"{t.quarters} quarters"
    rel = "" if t.change_pct is None else f", {signed_pct(t.change_pct)}"
    since = f"since {quarter(t.from_quarter)}, {usd_limit(t.from_limit)}"
    return f"over {span} ({since}): {signed_usd(t.change_usd)}{rel}"


def _latest_sentence(f: CodeFacts) -> str:
    latest = f.medicare.asp_history[-1]
    unit = f"per {latest.dosage}" if latest.dosage else "per billing unit"
    text = f"Latest ASP payment limit: {usd_limit(latest.payment_limit)} {unit} ({quarter(latest.effective_start)})"
    trends = [_trend(t) for t in f.medicare.asp_trend]
    return text + ("; " + "; ".join(trends) if trends else "") + "."


def _opps_by_quarter(f: CodeFacts) -> dict[date | None, float | None]:
    return {p.effective_start: p.payment_rate for p in f.medicare.opps_history}


def _revised(p_revised: bool, before: float | None, file: str | None) -> str:
    if not p_revised:
        return "-"
    return f"revised (earlier edition {usd_limit(before)}, {or_na(file)})"


def asp_history_blocks(f: CodeFacts) -> list[Block]:
    """Table oldest first and chart; the text leads with the latest quarter and its changes."""
    history = f.medicare.asp_history
    if len(history) < 2:
        return []
    opps = _opps_by_quarter(f)
    rows = [
        [
            quarter(p.effective_start),
            usd_limit(p.payment_limit),
            or_na(p.dosage),
            pct(p.coinsurance_pct),
            usd_limit(opps[p.effective_start]) if p.effective_start in opps else "-",
            p.source_file,
            _revised(p.revised, p.superseded_value, p.superseded_file),
        ]
        for p in history
    ]
    table = Table(
        ["Quarter", "ASP payment limit", "Billing unit", "Coinsurance", "OPPS rate", "ASP file", "Edition"],
        rows,
        caption="ASP payment limit per billing unit by quarter (the edition that stands for each quarter)",
    )
    return [Paragraph(_latest_sentence(f)), table, _chart(f)]


def _chart(f: CodeFacts) -> LineChart:
    history = f.medicare.asp_history
    labels = [quarter(p.effective_start) for p in history]
    series = [LineSeries("ASP payment limit", [p.payment_limit for p in history])]
    opps = _opps_by_quarter(f)
    if any(p.effective_start in opps for p in history):
        series.append(LineSeries("OPPS payment rate", [opps.get(p.effective_start) for p in history]))
    unit = history[-1].dosage or "billing unit"
    return LineChart(f"Medicare payment for {f.code} per {unit}, by quarter", labels, series, "USD")
