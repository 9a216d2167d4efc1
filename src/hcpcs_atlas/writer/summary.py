"""Section 1: Summary & Overview."""

from __future__ import annotations

from ..data import major_payers
from ..facts.model import CodeFacts
from .fmt import iso_date, pct, usd
from .model import NA, Bullets, Notice, Paragraph, Section


def termination_notice(f: CodeFacts) -> Notice | None:
    if f.status.terminated is None:
        return None
    replacement = ", ".join(f.status.replacement_codes) or NA
    return Notice(
        f"TERMINATED: {f.code} has termination date {iso_date(f.status.terminated)} in the HCPCS file "
        f"{f.status.as_of_file}. Cross-reference (replacement): {replacement}"
    )


def _medicare_sentence(f: CodeFacts) -> str:
    asp = f.medicare.asp
    if asp and asp.payment_limit is not None:
        text = (
            f"Medicare Part B pays up to {usd(asp.payment_limit)} per billing unit ({asp.dosage or NA}) "
            f"under the ASP Pricing File effective {iso_date(asp.effective_start)} to {iso_date(asp.effective_end)}"
        )
        if asp.coinsurance_pct is not None:
            text += f", with beneficiary coinsurance of {pct(asp.coinsurance_pct)}"
        return text + "."
    opps = f.medicare.opps
    if opps and opps.payment_rate is not None:
        return f"The OPPS national unadjusted payment rate is {usd(opps.payment_rate)} ({opps.source_file})."
    return f"Medicare payment amount: {NA}"


def _payers_sentence(f: CodeFacts) -> str:
    if not f.payers:
        return f"Commercial payer rates: {NA}"
    parts = [f"{p.payer} ({p.benchmarks.n_rates if p.benchmarks else 0} rates)" for p in f.payers]
    missing = [p for p in major_payers() if p not in {x.payer for x in f.payers}]
    text = "Commercial in-network rates are included for " + ", ".join(parts) + "."
    if missing:
        text += " Not in the loaded files: " + ", ".join(missing) + "."
    return text


def hospital_sentence(f: CodeFacts) -> str:
    """Summary & Overview: how many hospital files and rates, the major payers first."""
    files = [p for p in f.provenance if p.source == "hospital"]
    if not files:
        return f"Hospital-reported negotiated rates: {NA}"
    priced = [p for p in f.hospital_rates if p.benchmarks]
    major = [
        f"{p.payer} ({p.benchmarks.n_rates})" for p in priced if p.payer in major_payers() and p.benchmarks
    ]
    others = [p for p in priced if p.payer not in major_payers()]
    total = sum(p.benchmarks.n_rates for p in priced if p.benchmarks)
    text = f"Hospital price files ({len(files)}) report {total} counted negotiated rate(s)"
    if major:
        text += ": " + ", ".join(major)
        text += f", and {len(others)} other payer(s)" if others else ""
    elif others:
        text += f" from {len(others)} payer(s) other than the four major ones"
    return text + "."


def summary(f: CodeFacts) -> Section:
    blocks: list[Notice | Paragraph | Bullets] = []
    if notice := termination_notice(f):
        blocks.append(notice)
    kind = "a drug or biological billed per unit" if f.is_drug else "a HCPCS Level II code"
    blocks += [
        Paragraph(f"{f.code}: {f.descriptor.long or NA} ({kind})."),
        Paragraph(_medicare_sentence(f)),
        Paragraph(_payers_sentence(f)),
        Paragraph(hospital_sentence(f)),
        Bullets(
            [
                "Billing Code Overview: meaning, status and administrative indicators from the HCPCS file.",
                "Clinical & Coding Specifications: modifiers with their dated rules and the billing-unit rule.",
                "Related codes: ICD-10-CM, provider taxonomies, related HCPCS codes and NDC packages.",
                "Payer Landscape: Medicare payment and negotiated-rate benchmarks from payers' and hospitals' files.",
                "Policy & Coding Updates: what changed between the loaded file versions.",
                "Sources & Methodology: every file used, with its SHA-256, and how each figure is computed.",
            ]
        ),
    ]
    return Section("summary", "Summary & Overview", list(blocks))
