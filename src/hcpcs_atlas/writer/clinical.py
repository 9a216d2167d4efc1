"""Section 3: Clinical & Coding Specifications."""

from __future__ import annotations

from ..facts.model import CodeFacts, ModifierFacts
from .fmt import iso_date, num, or_na
from .label import label_blocks, terminated_notice
from .model import NA, Block, Bullets, Paragraph, Section, Table


def _context(f: CodeFacts) -> list[Block]:
    if not f.is_drug and not f.clinical.labels:
        return [Paragraph(NA)]
    indication = "as the FDA label(s) below word them" if f.clinical.labels else NA
    items = [
        "Typical patient and indication: " + indication,
        "Document the administered amount and the amount discarded from each single-dose container "
        "(JW line), or that none was discarded (JZ), per the modifier rules below.",
    ]
    if f.ndcs:
        items.append(
            f"Report the NDC of the package used ({len(f.ndcs)} NDC(s) crosswalk to {f.code}, see Related codes)."
        )
    if f.units:
        items.append(
            f"Report units in billing units of {num(f.units.descriptor_amount)} {f.units.descriptor_unit}."
        )
    notice = terminated_notice(f)
    return [*([notice] if notice else []), Bullets(items), *label_blocks(f)]


def _when(m: ModifierFacts) -> str:
    text = m.when_to_use
    if m.effective_from:
        text += f" (from {iso_date(m.effective_from)})"
    if m.terminated:
        text += f" Terminated in the HCPCS file on {iso_date(m.terminated)}."
    return text


def _modifier_table(f: CodeFacts) -> Block:
    if not f.modifiers:
        return Paragraph(NA)
    rows = [[m.modifier, or_na(m.description), _when(m)] for m in f.modifiers]
    return Table(["Modifier", "Description", "When to Use"], rows, caption='"00" is not a modifier.')


def _units(f: CodeFacts) -> list[Block]:
    u = f.units
    if u is None:
        return [Paragraph(NA)]
    unit = f"{num(u.descriptor_amount)} {u.descriptor_unit}"
    blocks: list[Block] = [
        Paragraph(
            f"Billing units = ceil(administered amount / {unit}); the billing unit is {unit} ({u.source}). "
            "A partial unit rounds up to one whole unit."
        )
    ]
    examples = [n for n in f.ndcs if n.billing_units_per_item and n.billing_units_per_package]
    if examples:
        n = examples[0]
        blocks.append(
            Paragraph(
                f"Worked example from the ASP crosswalk: one item of NDC {n.ndc} ({or_na(n.drug_name)}) holds "
                f"{num(n.billing_units_per_item)} billing units of {unit}, so administering all of it bills "
                f"{num(n.billing_units_per_item)} units; the NDC package of {num(n.package_quantity)} item(s) "
                f"holds {num(n.billing_units_per_package)} billing units."
            )
        )
    else:
        blocks.append(Paragraph(f"Worked example: {NA}"))
    return blocks


def clinical(f: CodeFacts) -> Section:
    return Section(
        "clinical",
        "Clinical & Coding Specifications",
        subsections=[
            Section("clinical-context", "Clinical context", _context(f)),
            Section("coding-specifications", "Coding specifications", [_modifier_table(f)]),
            Section("billing-units", "Billing units", _units(f)),
        ],
    )
