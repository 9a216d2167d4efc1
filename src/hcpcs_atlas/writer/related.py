"""Section 4: ICD-10-CM, provider taxonomies, related HCPCS codes and NDCs."""

from __future__ import annotations

from ..facts.model import CodeFacts, RelatedCode
from .fmt import iso_date, num, or_na
from .model import NA, Block, Bullets, Paragraph, Section, Table
from .nppes import taxonomy_blocks


def _list_or_na(items: list[str]) -> Block:
    return Bullets(items) if items else Paragraph(NA)


def _related_hcpcs(f: CodeFacts) -> Block:
    if not f.related.hcpcs:
        return Paragraph(NA)
    rows = [[r.code, or_na(r.descriptor), r.relation, _status(r)] for r in f.related.hcpcs]
    return Table(["Code", "Descriptor", "Relation", "Status"], rows)


def _status(r: RelatedCode) -> str:
    """A terminated code must not read as a current alternative: its date, replacement and the rule."""
    if r.status is None:
        return f"Not in the loaded HCPCS file(s): {NA}"
    if r.status != "terminated":
        return "Active"
    date = iso_date(r.terminated)
    replaced = ", ".join(r.replacement_codes) or NA
    return f"TERMINATED {date}: do not bill for dates of service after {date}. Replacement: {replaced}"


def _ndcs(f: CodeFacts) -> Block:
    if not f.ndcs:
        return Paragraph(NA)
    rows = [
        [
            n.ndc,
            or_na(n.labeler),
            or_na(n.drug_name),
            num(n.package_size),
            num(n.package_quantity),
            num(n.billing_units_per_item),
            num(n.billing_units_per_package),
        ]
        for n in f.ndcs
    ]
    columns = [
        "NDC",
        "Labeler",
        "Drug name",
        "Package size",
        "Items per package",
        "Billing units per item",
        "Billing units per package",
    ]
    return Table(columns, rows, caption=f"From {f.ndcs[0].source_file}.")


def related(f: CodeFacts) -> Section:
    return Section(
        "related",
        "Related Codes",
        subsections=[
            Section("icd10", "ICD-10-CM codes", [_list_or_na(f.related.icd10)]),
            Section("taxonomies", "Provider taxonomies", taxonomy_blocks(f)),
            Section("related-hcpcs", "Related procedure and supply codes", [_related_hcpcs(f)]),
            Section("ndcs", "NDCs and billing units per package", [_ndcs(f)]),
        ],
    )
