"""hcpcs-atlas: one traceable publication per HCPCS Level II code, from public CMS and payer data.

Data flows one way: sources -> store -> facts -> writer -> render -> site / CLI.

The public names below are imported on first use, so that ``hcpcs-atlas --help`` (which imports this
package first) does not load the store, the facts builder and the renderers.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

# Not lazy: importing the subpackage hcpcs_atlas.render would otherwise shadow the function of that name.
from .render import render

__version__ = "0.1.0"

_HOME = {
    "AtlasError": "errors",
    "InputError": "errors",
    "SchemaDriftError": "errors",
    "StoreError": "errors",
    "UnknownCodeError": "errors",
    "CodeFacts": "facts",
    "FactsBuilder": "facts",
    "build_facts": "facts",
    "facts_json": "facts",
    "facts_schema": "facts",
    "Store": "store",
    "Publication": "writer",
    "write_publication": "writer",
}

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

if TYPE_CHECKING:
    from .errors import AtlasError, InputError, SchemaDriftError, StoreError, UnknownCodeError
    from .facts import CodeFacts, FactsBuilder, build_facts, facts_json, facts_schema
    from .store import Store
    from .writer import Publication, write_publication


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{_HOME[name]}", __name__), name)
    globals()[name] = value
    return value
