"""hcpcs-atlas: one traceable publication per HCPCS Level II code, from public CMS and payer data.

Data flows one way: sources -> store -> facts -> writer -> render -> site / CLI.
"""

from __future__ import annotations

from .errors import AtlasError, InputError, SchemaDriftError, StoreError, UnknownCodeError
from .facts import CodeFacts, FactsBuilder, build_facts, facts_json, facts_schema
from .render import render
from .store import Store
from .writer import Publication, write_publication

__version__ = "0.1.0"

__all__ = [
    "AtlasError",
    "CodeFacts",
    "FactsBuilder",
    "InputError",
    "Publication",
    "SchemaDriftError",
    "Store",
    "StoreError",
    "UnknownCodeError",
    "__version__",
    "build_facts",
    "facts_json",
    "facts_schema",
    "render",
    "write_publication",
]
