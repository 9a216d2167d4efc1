"""Section 7: Sources & Methodology."""

from __future__ import annotations

from ..facts.model import CodeFacts, Provenance
from .fmt import period
from .model import NA, Block, Bullets, Paragraph, Section, Table

METHODS = [
    "Descriptor, status and dates: the latest loaded HCPCS file that lists the code (versions ordered by the "
    "period each file covers, then edition, then load order).",
    "Editions: two files of one period (CMS re-posts a corrected file) are ordered by the release date in "
    "CMS's file name or the file's own 'Updated <month>' notes, load order last; the later edition stands and "
    "a figure it changed is reported as a correction, not a quarterly change.",
    "Medicare payment limit: the ASP Pricing File's Payment Limit for the code, USD per billing unit of the "
    "HCPCS code dosage, for the quarter the file states.",
    "Billing units: ceil(administered amount / descriptor amount).",
    "Negotiated-rate observation: one distinct (billing code, provider TIN, billing_class, negotiated_rate, "
    "sorted modifiers, sorted service codes) per payer across its files; negotiated, derived and fee schedule "
    "types only; rates expired before their file's last_updated_on and rates outside 0.05x-20x of the "
    "Medicare limit are left out and counted.",
    "Hospital-reported rate observation: one distinct (hospital file, code, payer as written, plan_name, "
    "billing_class, setting, sorted modifiers, negotiated dollar); payers named by package-data aliases "
    "(letters only, case-insensitive substring); dollars outside 0.05x-20x of the ASP limit per billing unit "
    "are suspect (listed, with 'per package?' when the crosswalk's billing units per package explain them) "
    "and left out; percentages and algorithms never enter dollar figures; a newer file of the same hospital "
    "supersedes an older one.",
    "Percentiles: linear interpolation between order statistics; % of Medicare = median / ASP payment limit.",
    "Provider taxonomies and states: the NPIs named by the counted rates, each under its NPPES primary "
    "taxonomy (named by the NUCC code set) and practice-location state; NPIs not in the loaded NPPES files "
    "are counted, not classified.",
    "Clinical context: FDA SPL labels linked by a package NDC in the ASP crosswalk, else by a generic name "
    "that is whole words of the HCPCS long descriptor; label text quoted as written.",
    "Full definitions: docs/methodology.md.",
]


def _files(f: CodeFacts) -> Block:
    if not f.provenance:
        return Paragraph(NA)
    rows = [
        [
            p.label,
            p.file_name,
            period(p.effective_start, p.effective_end)
            + (f" (from the {p.period_from})" if p.period_from else ""),
            _edition(p),
            p.sha256,
            p.loaded_at,
        ]
        for p in f.provenance
    ]
    return Table(["Source", "File", "Effective period", "Edition", "SHA-256", "Loaded at (UTC)"], rows)


def _edition(p: Provenance) -> str:
    """When this edition was published and what says so; a date after the period began marks a re-post."""
    if p.edition is None:
        return "-"
    text = f"{p.edition.isoformat()} ({p.edition_from})"
    if p.effective_start and p.edition > p.effective_start:
        text += f"; re-posted after the period began on {p.effective_start.isoformat()}"
    return text


def sources(f: CodeFacts) -> Section:
    return Section("sources", "Sources & Methodology", [_files(f), Bullets(METHODS)])


__all__ = ["sources"]
