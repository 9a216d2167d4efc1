"""Writer: turn a CodeFacts record into the sections of a publication (the template writer)."""

from __future__ import annotations

from dataclasses import fields, is_dataclass, replace
from typing import Any, TypeVar

from ..facts.model import CodeFacts
from ..text import clean_text
from .clinical import clinical
from .model import NA, Publication, Section
from .overview import overview
from .payers import payers
from .related import related
from .sources import sources
from .summary import summary
from .updates import updates

__all__ = ["NA", "Publication", "Section", "write_publication"]

T = TypeVar("T")


def write_publication(facts: CodeFacts) -> Publication:
    """Every section of the outline, in order, from the facts record alone."""
    status = "terminated" if facts.status.terminated else "active"
    return _cleaned(
        Publication(
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
    )


def _cleaned(value: T) -> T:
    """Every string of the publication without NUL or bidi controls (payer files carry both)."""
    result: Any = value
    if isinstance(value, str):
        result = clean_text(value)
    elif isinstance(value, list):
        result = [_cleaned(v) for v in value]
    elif is_dataclass(value) and not isinstance(value, type):
        result = replace(value, **{f.name: _cleaned(getattr(value, f.name)) for f in fields(value) if f.init})
    return result  # type: ignore[no-any-return]
