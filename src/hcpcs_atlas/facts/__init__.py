"""Facts: one typed record per code (CodeFacts), built from the store, with provenance.

Names are imported on first use: the writer needs only ``facts.model``, and importing it should not load
the builder and the store (start-up of ``hcpcs-atlas --help``).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__all__ = ["CodeFacts", "FactsBuilder", "build_facts", "facts_json", "facts_schema", "to_data"]

_HOME = {
    "CodeFacts": "model",
    "FactsBuilder": "build",
    "build_facts": "build",
    "facts_json": "serialize",
    "facts_schema": "serialize",
    "to_data": "serialize",
}

if TYPE_CHECKING:
    from .build import FactsBuilder, build_facts
    from .model import CodeFacts
    from .serialize import facts_json, facts_schema, to_data


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{_HOME[name]}", __name__), name)
    globals()[name] = value
    return value
