"""Facts: one typed record per code (CodeFacts), built from the store, with provenance."""

from .build import FactsBuilder, build_facts
from .model import CodeFacts
from .serialize import facts_json, facts_schema, to_data

__all__ = ["CodeFacts", "FactsBuilder", "build_facts", "facts_json", "facts_schema", "to_data"]
