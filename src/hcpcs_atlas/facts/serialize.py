"""The facts record as JSON, and its JSON Schema derived from the dataclasses (one source of truth)."""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import date
from typing import Any

import orjson

from .model import CodeFacts

__all__ = ["facts_json", "facts_schema", "to_data"]


def to_data(facts: CodeFacts) -> dict[str, Any]:
    """Plain JSON-ready data (dates as ISO strings)."""
    data: dict[str, Any] = orjson.loads(orjson.dumps(facts))
    return data


def facts_json(facts: CodeFacts) -> str:
    return orjson.dumps(facts, option=orjson.OPT_INDENT_2).decode() + "\n"


def facts_schema() -> dict[str, Any]:
    schema = _schema(CodeFacts)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "hcpcs-atlas CodeFacts",
        "description": "The input record of one publication. A missing fact is null or [], never a placeholder.",
        **schema,
    }


def _schema(tp: Any) -> dict[str, Any]:
    origin = typing.get_origin(tp)
    if origin in (types.UnionType, typing.Union):
        options = [_schema(a) for a in typing.get_args(tp) if a is not type(None)]
        return {"anyOf": [*options, {"type": "null"}]}
    if origin is list:
        return {"type": "array", "items": _schema(typing.get_args(tp)[0])}
    if origin is dict:
        return {"type": "object", "additionalProperties": _schema(typing.get_args(tp)[1])}
    if dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp)
        fields = [f.name for f in dataclasses.fields(tp)]
        doc = (tp.__doc__ or "").strip()
        out: dict[str, Any] = {
            "type": "object",
            "properties": {name: _schema(hints[name]) for name in fields},
            "required": fields,
            "additionalProperties": False,
        }
        if doc and not doc.startswith(getattr(tp, "__name__", "") + "("):
            out["description"] = doc
        return out
    return _SCALARS[tp]


_SCALARS: dict[Any, dict[str, Any]] = {
    str: {"type": "string"},
    int: {"type": "integer"},
    float: {"type": "number"},
    bool: {"type": "boolean"},
    date: {"type": "string", "format": "date"},
}
