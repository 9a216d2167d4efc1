"""Section 2: Billing Code Overview."""

from __future__ import annotations

from ..facts.model import CodeFacts
from .fmt import iso_date, or_na
from .model import NA, Block, Paragraph, Section, Table
from .nppes import provider_sites
from .summary import termination_notice


def _status_text(f: CodeFacts) -> str:
    s = f.status
    if s.terminated:
        return (
            f"Status: terminated. Termination date {iso_date(s.terminated)}; added {iso_date(s.added)} "
            f"(dates are the HCPCS file's ADD DT and TERM DT, {s.as_of_file})."
        )
    return f"Status: active in {s.as_of_file}; added {iso_date(s.added)} (the HCPCS file's ADD DT), no termination date."


def _coded(meanings: dict[str, str], values: list[str]) -> str:
    if not values:
        return NA
    return "; ".join(f"{v} ({meanings[v]})" if v in meanings else v for v in values)


def _sites(f: CodeFacts) -> str:
    sites = sorted({b.group for p in f.payers for b in p.by_site_of_service if b.group != "not specified"})
    if f.medicare.opps and f.medicare.opps.status_indicator:
        sites.append(f"hospital outpatient (OPPS status indicator {f.medicare.opps.status_indicator})")
    text = ", ".join(sites)
    if providers := provider_sites(f):
        text = f"{text}; {providers}" if text else providers[0].upper() + providers[1:]
    return text or NA


def overview(f: CodeFacts) -> Section:
    h = f.hcpcs
    known = h.code_meanings
    rows = [
        ["Code", f.code],
        ["Long descriptor", or_na(f.descriptor.long)],
        ["Short descriptor", or_na(f.descriptor.short)],
        ["Service type (BETOS)", _coded(known.get("betos", {}), [h.betos] if h.betos else [])],
        ["Type of service", _coded(known.get("type_of_service", {}), h.type_of_service)],
        [
            "Coverage code",
            _coded(known.get("coverage_code", {}), [h.coverage_code] if h.coverage_code else []),
        ],
        ["Pricing indicator", _coded(known.get("pricing_indicator", {}), h.pricing_indicators)],
        [
            "Multiple pricing indicator",
            _coded(
                known.get("multiple_pricing_indicator", {}),
                [h.multiple_pricing_indicator] if h.multiple_pricing_indicator else [],
            ),
        ],
        ["ASC payment group", or_na(h.asc_group)],
        ["Typical sites of service", _sites(f)],
        ["Added (HCPCS ADD DT)", iso_date(f.status.added)],
        ["Action effective (ACT EFF DT)", iso_date(f.status.action_effective)],
        ["Termination (TERM DT)", iso_date(f.status.terminated) if f.status.terminated else "none"],
        [
            "Action code",
            _coded(known.get("action_code", {}), [f.status.action_code] if f.status.action_code else []),
        ],
    ]
    blocks: list[Block] = []
    if notice := termination_notice(f):
        blocks.append(notice)
    blocks += [Paragraph(_status_text(f)), Table(["Field", "Value"], rows)]
    return Section("overview", "Billing Code Overview", blocks)
