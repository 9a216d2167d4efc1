"""Write publications for many codes, plus a browsable index (index.html with an index.json twin)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

import orjson

from ..facts import CodeFacts, FactsBuilder
from ..facts.changes import store_changes
from ..progress import Progress
from ..render import FORMATS, render
from ..render.html import page, render_html
from ..store import Store
from ..writer import write_publication
from ..writer.changes import changes_json, changes_publication, changes_scope

__all__ = ["BuildResult", "build_publications", "parse_formats"]


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
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def _entry(f: CodeFacts) -> dict[str, object]:
    return {
        "code": f.code,
        "descriptor": f.descriptor.long,
        "terminated": f.status.terminated.isoformat() if f.status.terminated else None,
        "asp_payment_limit": f.medicare.asp.payment_limit if f.medicare.asp else None,
        "payers": [p.payer for p in f.payers],
    }


def _index_html(entries: list[dict[str, object]], formats: Sequence[str], changes: bool = False) -> str:
    rows = []
    for e in entries:
        code = escape(str(e["code"]))
        links = " ".join(f'<a href="{code}.{fmt}">{fmt}</a>' for fmt in formats)
        status = f"terminated {e['terminated']}" if e["terminated"] else "active"
        rows.append(
            f"<tr><td>{code}</td><td>{escape(str(e['descriptor'] or ''))}</td><td>{status}</td><td>{links}</td></tr>"
        )
    body = (
        "<h1>hcpcs-atlas publications</h1>"
        f'<p>{len(entries)} codes. Machine-readable twin: <a href="index.json">index.json</a>.'
        + (' What changed across all codes: <a href="changes.html">changes.html</a>.' if changes else "")
        + "</p>"
        "<table><thead><tr><th>Code</th><th>Descriptor</th><th>Status</th><th>Formats</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )
    return page("hcpcs-atlas publications", body)


def build_publications(
    store: Store,
    codes: Sequence[str] | None,
    formats: Sequence[str],
    out: Path,
    progress: Progress | None = None,
) -> BuildResult:
    """Write ``out/CODE.<fmt>`` for each code (all loaded codes when ``codes`` is None) and the index."""
    builder = FactsBuilder(store)
    todo = list(codes) if codes is not None else builder.codes()
    out.mkdir(parents=True, exist_ok=True)
    result = BuildResult(out)
    entries = []
    for i, facts in enumerate(builder.build_many(todo), 1):
        pub = write_publication(facts)
        result.files += [_write(out / f"{facts.code}.{fmt}", render(pub, fmt)) for fmt in formats]
        result.codes.append(facts.code)
        entries.append(_entry(facts))
        if progress:
            progress.update(items=i, kept=i)
    if codes is None:
        result.files += _changes_page(builder, out)
    _write(out / "index.json", orjson.dumps(entries, option=orjson.OPT_INDENT_2))
    _write(out / "index.html", _index_html(entries, formats, changes=codes is None))
    return result


def _changes_page(builder: FactsBuilder, out: Path) -> list[Path]:
    """changes.html and its changes.json twin: every change over all codes, newest first."""
    found = store_changes(builder)
    html = render_html(changes_publication(found, changes_scope(None, (), 0.0)))
    return [_write(out / "changes.json", changes_json(found)), _write(out / "changes.html", html)]
