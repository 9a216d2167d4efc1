"""The OpenAPI 3.1 document of the JSON API under ``/api/v1`` (written by hand: the API is small)."""

from __future__ import annotations

from typing import Any

from .. import __version__

__all__ = ["openapi_document"]


def _param(
    name: str, where: str, description: str, schema: dict[str, Any], required: bool = False
) -> dict[str, Any]:
    return {"name": name, "in": where, "required": required, "description": description, "schema": schema}


_PAGING = [
    _param("limit", "query", "Items per page (1-500).", {"type": "integer", "minimum": 1, "maximum": 500}),
    _param("offset", "query", "Items to skip.", {"type": "integer", "minimum": 0}),
]
_ERROR = {
    "description": "Error",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}


def _get(summary: str, params: list[dict[str, Any]], schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "get": {
            "summary": summary,
            "parameters": params,
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema": schema}}},
                "400": _ERROR,
                "404": _ERROR,
                "503": _ERROR,
            },
        }
    }


def _page_of(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["total", "limit", "offset", "next_offset", "items"],
        "properties": {
            "total": {"type": "integer"},
            "limit": {"type": "integer"},
            "offset": {"type": "integer"},
            "next_offset": {
                "type": ["integer", "null"],
                "description": "offset of the next page, null at the end",
            },
            "items": {"type": "array", "items": item},
        },
    }


_OBJECT: dict[str, Any] = {"type": "object"}


def openapi_document() -> dict[str, Any]:
    code = _param("code", "path", "HCPCS Level II code, e.g. J9032.", {"type": "string"}, True)
    q = _param("q", "query", "Code, descriptor words, drug or brand name, or NDC.", {"type": "string"})
    codes = _param("codes", "query", "Comma list of up to 6 codes.", {"type": "string"}, True)
    source = _param(
        "source",
        "query",
        "Only changes of this source.",
        {"type": "string", "enum": ["hcpcs", "asp", "opps", "crosswalk"]},
    )
    since = _param(
        "since",
        "query",
        "Only changes effective on or after this date.",
        {"type": "string", "format": "date"},
    )
    name = _param("name", "path", "Payer name, e.g. Cigna.", {"type": "string"}, True)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "hcpcs-atlas",
            "version": __version__,
            "description": "Read-only JSON API over the loaded public CMS and payer files. Errors have the "
            'body {"error": {"status", "code", "message"}}.',
        },
        "paths": {
            "/api/v1/codes": _get("Every loaded code", _PAGING, _page_of(_OBJECT)),
            "/api/v1/codes/{code}": _get("The facts record of a code (hcpcs-atlas schema)", [code], _OBJECT),
            "/api/v1/search": _get(
                "Ranked search with the matched field highlighted", [q, *_PAGING], _page_of(_OBJECT)
            ),
            "/api/v1/compare": _get(
                "Codes side by side: Medicare limit, trend, payer medians", [codes], _OBJECT
            ),
            "/api/v1/changes": _get(
                "Changes between loaded versions, newest first", [source, since, *_PAGING], _page_of(_OBJECT)
            ),
            "/api/v1/payers": _get("Payers with negotiated rates", [], _OBJECT),
            "/api/v1/payers/{name}": _get(
                "One payer: codes with rates, % of Medicare by BETOS", [name], _OBJECT
            ),
            "/api/v1/sources": _get("Every loaded file with period and sha256", [], _OBJECT),
        },
        "components": {
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["status", "code", "message"],
                            "properties": {
                                "status": {"type": "integer"},
                                "code": {"type": "string"},
                                "message": {"type": "string"},
                            },
                        }
                    },
                }
            }
        },
    }
