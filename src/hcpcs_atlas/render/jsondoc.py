"""JSON renderer: the written publication (sections, blocks, tables) as data."""

from __future__ import annotations

import orjson

from ..writer.model import Publication

__all__ = ["render_json"]


def render_json(pub: Publication) -> str:
    return orjson.dumps(pub, option=orjson.OPT_INDENT_2).decode() + "\n"
