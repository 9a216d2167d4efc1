"""Clinical context from FDA drug labels: quoted as the label words them, named, never paraphrased."""

from __future__ import annotations

import re

from ..facts.model import CodeFacts, LabelFacts
from .fmt import iso_date, num
from .model import Block, Bullets, Notice, Paragraph

__all__ = ["label_blocks", "quoted", "terminated_notice"]

#: Dosing by body weight or body surface area, as labels write it.
_BASIS = re.compile(r"[^.\n]*\b(?:mg|mcg|units?)\s*/\s*(kg|m2|m²)\b[^.\n]*\.?", re.IGNORECASE)
_LINKS = {
    "ndc": "a package NDC of the label is listed under {code} in the loaded ASP NDC-HCPCS crosswalk",
    "generic_name": "the label's generic name appears as whole words in the HCPCS long descriptor of {code}",
}


def terminated_notice(f: CodeFacts) -> Notice | None:
    """Said before any label text, so that it never reads as a current billing instruction."""
    if not (f.status.terminated and f.clinical.labels):
        return None
    return Notice(
        f"{f.code} is terminated (HCPCS TERM DT {iso_date(f.status.terminated)}). The FDA label text below "
        f"describes the drug; it is not an instruction to bill {f.code}."
    )


def label_blocks(f: CodeFacts) -> list[Block]:
    return [block for label in f.clinical.labels for block in _one(f, label)]


def _named(label: LabelFacts) -> str:
    title = " ".join((label.title or "untitled label").split())
    version = f", version {label.version}" if label.version is not None else ""
    return f'"{title}" (SPL set id {label.set_id}{version}, effective {iso_date(label.effective_date)}, file {label.source_file})'


def _one(f: CodeFacts, label: LabelFacts) -> list[Block]:
    link = _LINKS.get(label.link, label.link).format(code=f.code)
    blocks: list[Block] = [
        Paragraph(f"FDA label: {_named(label)}. Linked to {f.code} because {link}."),
        Paragraph(
            f"Route(s): {', '.join(label.routes) or 'not stated'}; dosage form(s): "
            f"{', '.join(label.dosage_forms) or 'not stated'} (the label's product data). "
            + (
                "The label carries a boxed warning."
                if label.boxed_warning
                else "The label has no boxed warning."
            )
        ),
    ]
    if label.indications:
        blocks.append(Paragraph("Indications and usage, as the label words them:"))
        blocks += quoted(label.indications)
    else:
        blocks.append(Paragraph("The label has no Indications and Usage section."))
    if basis := _dosing_basis(label):
        blocks.append(Paragraph(basis + _unit_rule(f)))
    return blocks


def quoted(text: str) -> list[Block]:
    """The label's paragraphs and list items, in order, each kept as written."""
    blocks: list[Block] = []
    for chunk in text.split("\n\n"):
        lines = chunk.splitlines()
        if lines and all(line.startswith("- ") for line in lines):
            blocks.append(Bullets([line[2:] for line in lines]))
        elif chunk.strip():
            blocks.append(Paragraph("“" + " ".join(lines) + "”"))
    return blocks


def _dosing_basis(label: LabelFacts) -> str | None:
    text = label.dosage_and_administration or ""
    match = _BASIS.search(text)
    if not match:
        return None
    unit = "body weight (per kg)" if match[1].lower() == "kg" else "body surface area (per m²)"
    return f"Dosing basis in the label: {unit}, e.g. “{match[0].strip()}”"


def _unit_rule(f: CodeFacts) -> str:
    if f.units is None:
        return ""
    unit = f"{num(f.units.descriptor_amount)} {f.units.descriptor_unit}"
    return f" Billing: units = ceil(administered amount / {unit}), from the dose actually given."
