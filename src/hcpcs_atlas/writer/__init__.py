"""Writer: turn a CodeFacts record into the sections of a publication (the template writer)."""

from __future__ import annotations

from ..facts.model import CodeFacts
from .clinical import clinical
from .model import NA, Publication, Section
from .overview import overview
from .payers import payers
from .related import related
from .sources import sources
from .summary import summary
from .updates import updates

__all__ = ["NA", "Publication", "Section", "write_publication"]


def write_publication(facts: CodeFacts) -> Publication:
    """Every section of the outline, in order, from the facts record alone."""
    status = "terminated" if facts.status.terminated else "active"
    return Publication(
        code=facts.code,
        title=f"{facts.code}: {facts.descriptor.long or NA}",
        subtitle=f"HCPCS Level II code, {status}. Billing, Medicare payment and commercial payer benchmarks.",
        sections=[
            summary(facts),
            overview(facts),
            clinical(facts),
            related(facts),
            payers(facts),
            updates(facts),
            sources(facts),
        ],
    )
