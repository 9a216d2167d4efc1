"""The data behind every page: plain dicts, served as the ``.json`` twin and rendered as HTML by pages.py.

Everything comes from CodeFacts (via :class:`Atlas`) and named store queries read into the generation;
figures stay exact here, only the HTML rounds.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict
from datetime import date
from typing import Any
from urllib.parse import quote

from ..errors import AtlasError, UnknownCodeError
from ..facts import CodeFacts
from ..facts.benchmarks import percentile
from ..facts.changes import store_changes
from .state import Atlas, Generation

__all__ = [
    "ViewError",
    "changes_view",
    "code_list",
    "compare_view",
    "home_view",
    "payer_view",
    "payers_view",
    "search_view",
    "sources_view",
]

MAX_COMPARE = 6
MAX_LIMIT = 500


class ViewError(AtlasError):
    """A request the app cannot answer: ``status`` and a stable ``code`` for the error body."""

    def __init__(self, status: int, code: str, message: str) -> None:
        self.status, self.code, self.message = status, code, message
        super().__init__(message)


def page_args(limit: str | None, offset: str | None, default: int = 50) -> tuple[int, int]:
    try:
        lim = default if limit in (None, "") else int(str(limit))
        off = 0 if offset in (None, "") else int(str(offset))
    except ValueError as exc:
        raise ViewError(400, "bad_parameter", "limit and offset must be whole numbers") from exc
    if not (1 <= lim <= MAX_LIMIT) or off < 0:
        raise ViewError(400, "bad_parameter", f"limit must be 1..{MAX_LIMIT} and offset >= 0")
    return lim, off


def paged(items: list[Any], total: int, limit: int, offset: int) -> dict[str, Any]:
    return {
        "total": total,
        "limit": limit,
        "offset": offset,
        "next_offset": offset + limit if offset + limit < total else None,
        "items": items,
    }


def home_view(gen: Generation) -> dict[str, Any]:
    return {
        "codes": len(gen.index.docs),
        "payers": sorted(gen.payers),
        "files": len(gen.files),
        "store_version": gen.version,
    }


def code_list(gen: Generation, limit: int, offset: int) -> dict[str, Any]:
    docs = gen.index.docs
    items = [
        {"code": d.code, "descriptor": d.long or d.short, "terminated": _iso(d.terminated)}
        for d in docs[offset : offset + limit]
    ]
    return paged(items, len(docs), limit, offset)


def search_view(gen: Generation, q: str, limit: int, offset: int) -> dict[str, Any]:
    if len(q) > 200:
        raise ViewError(400, "bad_parameter", "the query is longer than 200 characters")
    total, hits = gen.index.search(q, limit, offset)
    items = [
        {
            "code": h.doc.code,
            "descriptor": h.doc.long or h.doc.short,
            "terminated": _iso(h.doc.terminated),
            "drug_names": list(h.doc.drugs),
            "matched_field": h.field,
            "highlight": [[text, hit] for text, hit in h.segments],
            "score": h.score,
        }
        for h in hits
    ]
    return {"query": q, **paged(items, total, limit, offset)}


def _codes_arg(codes: str) -> list[str]:
    wanted = list(dict.fromkeys(c.strip().upper() for c in codes.split(",") if c.strip()))
    if not wanted:
        raise ViewError(400, "bad_parameter", "give codes=CODE,CODE,... (up to 6)")
    if len(wanted) > MAX_COMPARE:
        raise ViewError(400, "bad_parameter", f"compare at most {MAX_COMPARE} codes at once")
    return wanted


def _facts(atlas: Atlas, gen: Generation, code: str) -> CodeFacts:
    try:
        return atlas.facts(gen, code)
    except UnknownCodeError as exc:
        raise ViewError(404, "unknown_code", str(exc)) from exc


def compare_view(atlas: Atlas, gen: Generation, codes: str) -> dict[str, Any]:
    facts = [_facts(atlas, gen, c) for c in _codes_arg(codes)]
    payers = list(dict.fromkeys(p.payer for f in facts for p in f.payers))
    return {"payers": payers, "codes": [_compare_entry(f) for f in facts]}


def _compare_entry(f: CodeFacts) -> dict[str, Any]:
    asp, opps = f.medicare.asp, f.medicare.opps
    return {
        "code": f.code,
        "descriptor": f.descriptor.long,
        "terminated": _iso(f.status.terminated),
        "medicare": {
            "asp_payment_limit": asp.payment_limit if asp else None,
            "asp_dosage": asp.dosage if asp else None,
            "asp_effective_start": _iso(asp.effective_start) if asp else None,
            "opps_payment_rate": opps.payment_rate if opps else None,
            "opps_status_indicator": opps.status_indicator if opps else None,
        },
        "asp_history": [
            {
                "effective_start": _iso(h.effective_start),
                "payment_limit": h.payment_limit,
                "revised": h.revised,
            }
            for h in f.medicare.asp_history
        ],
        "trend": [
            {
                "quarters": t.quarters,
                "from_quarter": _iso(t.from_quarter),
                "to_quarter": _iso(t.to_quarter),
                "change_usd": t.change_usd,
                "change_pct": t.change_pct,
            }
            for t in f.medicare.asp_trend
        ],
        "payers": {
            p.payer: {
                "median": p.benchmarks.median if p.benchmarks else None,
                "n_rates": p.benchmarks.n_rates if p.benchmarks else 0,
                "pct_of_medicare_median": p.pct_of_medicare_median,
            }
            for p in f.payers
        },
    }


def payers_view(gen: Generation) -> dict[str, Any]:
    return {"payers": [{"payer": p, "codes": len(c)} for p, c in sorted(gen.payers.items())]}


def payer_view(atlas: Atlas, gen: Generation, name: str) -> dict[str, Any]:
    codes = gen.payers.get(name)
    if codes is None:
        raise ViewError(404, "unknown_payer", f"{name}: no rates from this payer are loaded")
    rows = [row for code in codes if (row := payer_row(_facts(atlas, gen, code), name))]
    return {"payer": name, "codes": rows, "by_betos": by_betos(rows)}


def payer_row(f: CodeFacts, payer: str) -> dict[str, Any] | None:
    p = next((p for p in f.payers if p.payer == payer), None)
    if p is None:
        return None
    betos = f.hcpcs.betos
    return {
        "code": f.code,
        "descriptor": f.descriptor.long,
        "betos": betos,
        "betos_meaning": f.hcpcs.code_meanings.get("betos", {}).get(betos or "", None),
        "n_rates": p.benchmarks.n_rates if p.benchmarks else 0,
        "median": p.benchmarks.median if p.benchmarks else None,
        "medicare": f.medicare.asp.payment_limit if f.medicare.asp else None,
        "pct_of_medicare_median": p.pct_of_medicare_median,
    }


def by_betos(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[row["betos"] or "not specified"].append(row)
    out = []
    for betos, members in sorted(groups.items()):
        pcts = sorted(r["pct_of_medicare_median"] for r in members if r["pct_of_medicare_median"] is not None)
        out.append(
            {
                "betos": betos,
                "betos_meaning": members[0]["betos_meaning"],
                "codes": len(members),
                "median_pct_of_medicare": percentile(pcts, 50) if pcts else None,
            }
        )
    return out


def sources_view(loaded: list[dict[str, Any]]) -> dict[str, Any]:
    """Every loaded file (``Store.files()``) with period, rows and sha256; never its local path."""
    keys = ("file_id", "source", "file_name", "format", "effective_start", "effective_end", "sha256")
    files = [
        {**{k: _iso(f[k]) if isinstance(f[k], date) else f[k] for k in keys}, "rows": f["row_count"]}
        | {"loaded_at": f["loaded_at"].isoformat(timespec="seconds") + "Z"}
        for f in loaded
    ]
    return {"files": files}


def all_changes(gen: Generation) -> list[dict[str, Any]]:
    """Every change between consecutive loaded versions over all codes, newest first (issue 10's
    ``store_changes``, the same rows as ``hcpcs-atlas changes --format json``), once per store version."""

    def gather() -> list[dict[str, Any]]:
        return [{**asdict(c), "effective": _iso(c.effective)} for c in store_changes(gen.builder)]

    result: list[dict[str, Any]] = gen.once("changes", gather)
    return result


def changes_view(
    atlas: Atlas, gen: Generation, source: str | None, since: str | None, limit: int, offset: int
) -> dict[str, Any]:
    if since:
        try:
            date.fromisoformat(since)
        except ValueError as exc:
            raise ViewError(400, "bad_parameter", "since must be a date, YYYY-MM-DD") from exc
    rows = [
        r
        for r in all_changes(gen)
        if (not source or r["source"] == source) and (not since or (r["effective"] or "") >= since)
    ]
    return {
        "source": source,
        "since": since,
        **paged(rows[offset : offset + limit], len(rows), limit, offset),
    }


def payer_href(name: str) -> str:
    return "payer/" + quote(name, safe="")


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None
