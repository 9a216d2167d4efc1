"""Write publications for many codes and, around them, the static site: a home page with client-side search
over every built code, the code list, payer pages, changes and sources, each with its ``.json`` twin.

The folder is self-contained and uses relative links only, so it can be served from any path or opened
from disk (the search index loads as a script, which file:// allows). Same stylesheet as the web app.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape
from importlib import resources
from pathlib import Path
from typing import Any

import orjson

from ..facts import CodeFacts, FactsBuilder
from ..facts.changes import store_changes
from ..progress import Progress
from ..render import FORMATS, render
from ..render.html import CSS, render_html
from ..store import Store
from ..store.tic import payer_codes
from ..writer import write_publication
from ..writer.changes import changes_json, changes_publication, changes_scope
from . import pages, views

__all__ = ["BuildResult", "build_publications", "parse_formats", "search_index"]

_LINKS = pages.Links(static=True, root="")


@dataclass
class BuildResult:
    out: Path
    codes: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


def parse_formats(text: str) -> list[str]:
    formats = [f.strip().lower() for f in text.split(",") if f.strip()]
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise ValueError(
            f"unknown format(s) {', '.join(unknown) or text!r}; choose from {', '.join(FORMATS)}"
        )
    return formats


def _write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def _json(data: Any) -> bytes:
    return orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n"


def _entry(f: CodeFacts) -> dict[str, object]:
    return {
        "code": f.code,
        "descriptor": f.descriptor.long,
        "terminated": f.status.terminated.isoformat() if f.status.terminated else None,
        "asp_payment_limit": f.medicare.asp.payment_limit if f.medicare.asp else None,
        "payers": [p.payer for p in f.payers],
    }


def _codes_html(entries: list[dict[str, Any]], formats: Sequence[str]) -> str:
    rows = []
    for e in entries:
        code = escape(str(e["code"]))
        links = " ".join(f'<a href="{code}.{fmt}">{fmt}</a>' for fmt in formats)
        status = f"terminated {e['terminated']}" if e["terminated"] else "active"
        rows.append(
            f"<tr><td>{code}</td><td>{escape(str(e['descriptor'] or ''))}</td><td>{status}</td><td>{links}</td></tr>"
        )
    body = (
        f"<h1>All codes</h1><p>{len(entries):,} codes.</p>"
        "<table><thead><tr><th>Code</th><th>Descriptor</th><th>Status</th><th>Formats</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )
    return pages.document("All codes", body, _LINKS, "index.json")


def search_index(store: Store, codes: set[str]) -> dict[str, Any]:
    """The static site's search index: one compact row per code (code, long, short if different, drug
    names, NDCs without hyphens, termination date)."""
    drugs: dict[str, dict[str, None]] = defaultdict(dict)
    ndcs: dict[str, dict[str, None]] = defaultdict(dict)
    for code, ndc, name in store.ndc_names():
        ndcs[code][ndc] = None
        if name:
            drugs[code][name] = None
    docs = []
    for code, long, short, term in store.latest_descriptors():
        if code not in codes:
            continue
        short_kept = "" if (short or "").lower() == (long or "").lower() else short or ""
        row: list[str] = [code, long or short or "", short_kept, ", ".join(drugs[code]), " ".join(ndcs[code])]
        docs.append([*row, term.isoformat()] if term else row)
    return {"version": 1, "docs": docs}


class _Collector:
    """What the site pages need from each code's facts, gathered while the publications are written."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []
        self.payer_rows: dict[str, list[dict[str, Any]]] = defaultdict(list)

    def add(self, f: CodeFacts) -> None:
        self.entries.append(_entry(f))
        for p in f.payers:
            row = views.payer_row(f, p.payer)
            if row:
                self.payer_rows[p.payer].append(row)


def build_publications(
    store: Store,
    codes: Sequence[str] | None,
    formats: Sequence[str],
    out: Path,
    progress: Progress | None = None,
) -> BuildResult:
    """Write ``out/CODE.<fmt>`` for each code (all loaded codes when ``codes`` is None) and the site."""
    builder = FactsBuilder(store)
    todo = list(codes) if codes is not None else builder.codes()
    out.mkdir(parents=True, exist_ok=True)
    result = BuildResult(out)
    seen = _Collector()
    header = pages.site_header(_LINKS)
    for i, facts in enumerate(builder.build_many(todo), 1):
        pub = write_publication(facts)
        for fmt in formats:
            content = (
                render_html(pub, stylesheet="atlas.css", header=header) if fmt == "html" else render(pub, fmt)
            )
            result.files.append(_write(out / f"{facts.code}.{fmt}", content))
        result.codes.append(facts.code)
        seen.add(facts)
        if progress:
            progress.update(items=i, kept=i)
    result.files += _write_site(store, builder, out, seen, formats, set(result.codes))
    return result


def _write_site(
    store: Store, builder: FactsBuilder, out: Path, seen: _Collector, formats: Sequence[str], codes: set[str]
) -> list[Path]:
    static = resources.files("hcpcs_atlas.site").joinpath("static")
    index = search_index(store, codes)
    payers = {p: c for p, c in payer_codes(store).items() if p in seen.payer_rows}
    home = {"codes": len(codes), "payers": sorted(payers), "files": len(store.files())}
    files = [
        _write(out / "atlas.css", CSS),
        _write(out / "search.js", static.joinpath("search.js").read_text(encoding="utf-8")),
        _write(out / "search-index.js", b"window.HCPCS_ATLAS_INDEX = " + orjson.dumps(index) + b";\n"),
        _write(out / "index.html", pages.home_page(home, _LINKS)),
        _write(out / "index.json", _json(seen.entries)),
        _write(out / "codes.html", _codes_html(seen.entries, formats)),
    ]
    files += _payer_pages(out, seen, payers)
    sources = views.sources_view(store.files())
    files += [
        _write(out / "sources.html", pages.sources_page(sources, _LINKS)),
        _write(out / "sources.json", _json(sources)),
    ]
    return files + _changes_page(builder, out)


def _changes_page(builder: FactsBuilder, out: Path) -> list[Path]:
    """changes.html and its changes.json twin: every change over all codes, newest first."""
    found = store_changes(builder)
    pub = changes_publication(found, changes_scope(None, (), 0.0))
    html = render_html(pub, stylesheet="atlas.css", header=pages.site_header(_LINKS))
    return [_write(out / "changes.json", changes_json(found)), _write(out / "changes.html", html)]


def _payer_pages(out: Path, seen: _Collector, payers: dict[str, list[str]]) -> list[Path]:
    listing = {"payers": [{"payer": p, "codes": len(c)} for p, c in sorted(payers.items())]}
    files = [
        _write(out / "payers.html", pages.payers_page(listing, _LINKS)),
        _write(out / "payers.json", _json(listing)),
    ]
    links = _LINKS.at(1)
    for payer in sorted(payers):
        rows = seen.payer_rows[payer]
        data = {"payer": payer, "codes": rows, "by_betos": views.by_betos(rows)}
        stem = out / _LINKS.payer(payer).removesuffix(".html")
        files.append(_write(stem.with_suffix(".html"), pages.payer_page(data, links)))
        files.append(_write(stem.with_suffix(".json"), _json(data)))
    return files
