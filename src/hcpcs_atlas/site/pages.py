"""HTML for the site's pages, from the same dicts the ``.json`` twins serve. Every string is escaped.

The same functions write the web application's pages and the static site's: :class:`Links` says where
things are (absolute routes on the server, relative files in the static folder).
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from html import escape
from typing import Any
from urllib.parse import quote, urlencode

from ..render.chart import bars_svg
from ..render.html import page
from ..writer.fmt import pct, signed_pct, signed_usd, usd
from ..writer.model import NA

__all__ = [
    "Links",
    "changes_page",
    "compare_page",
    "error_page",
    "home_page",
    "payer_page",
    "payers_page",
    "search_page",
    "site_header",
    "sources_page",
]


@dataclass(frozen=True)
class Links:
    """Where pages live: ``static`` = files relative to the page (``root`` is "" or "../")."""

    static: bool = False
    root: str = "/"

    def at(self, depth: int) -> Links:
        return Links(self.static, "../" * depth) if self.static else self

    @property
    def home(self) -> str:
        return f"{self.root}index.html" if self.static else "/"

    @property
    def css(self) -> str:
        return f"{self.root}atlas.css" if self.static else "/static/atlas.css"

    def code(self, code: str) -> str:
        return f"{self.root}{quote(code, safe='')}" + (".html" if self.static else "")

    def payer(self, name: str) -> str:
        if self.static:  # a file name: letters, digits and dashes, plus a hash so names stay distinct
            slug = "-".join(re.findall(r"[A-Za-z0-9]+", name))[:60] or "payer"
            return f"{self.root}payer/{slug}-{zlib.crc32(name.encode()):08x}.html"
        return f"/payer/{quote(name, safe='')}"

    def named(self, name: str) -> str:
        return f"{self.root}{name}" + (".html" if self.static else "")

    def search(self, q: str = "", offset: int = 0) -> str:
        query = urlencode({"q": q, **({"offset": offset} if offset else {})})
        return f"/search?{query}" if q else "/search"


def site_header(links: Links) -> str:
    items = [("Search", links.home)]
    if not links.static:
        items.append(("Compare", "/compare"))
    if links.static:
        items.append(("All codes", links.named("codes")))
    items += [("Payers", links.named("payers")), ("Changes", links.named("changes"))]
    items.append(("Sources", links.named("sources")))
    nav = "".join(f'<a href="{escape(href)}">{escape(label)}</a>' for label, href in items)
    return (
        f'<header class="site"><a class="brand" href="{escape(links.home)}">hcpcs-atlas</a>'
        f'<nav aria-label="Site">{nav}</nav></header>'
    )


def document(title: str, body: str, links: Links, twin: str | None = None, head: str = "") -> str:
    foot = (
        f'<footer>Machine-readable twin: <a href="{escape(twin)}">{escape(twin)}</a>.</footer>'
        if twin
        else ""
    )
    return page(title, site_header(links) + f"<main>{body}</main>" + foot, stylesheet=links.css, head=head)


def _search_form(q: str, links: Links) -> str:
    action = "" if links.static else ' action="/search"'
    return (
        f'<form class="search" role="search" method="get"{action} id="search-form">'
        '<label class="muted" for="q" hidden>Search</label>'
        f'<input type="search" id="q" name="q" value="{escape(q)}" autocomplete="off" '
        'placeholder="code, words, drug or brand name, NDC" aria-label="Search codes">'
        "<button>Search</button></form>"
    )


def home_page(data: dict[str, Any], links: Links) -> str:
    payers = ", ".join(f'<a href="{escape(links.payer(p))}">{escape(p)}</a>' for p in data["payers"])
    body = (
        "<h1>HCPCS Level II codes</h1>"
        f'<p class="subtitle">{data["codes"]:,} codes from {data["files"]:,} loaded public files. '
        "Search by code, descriptor words, drug or brand name, or NDC (any hyphenation).</p>"
        + _search_form("", links)
        + (
            '<p id="search-status" class="muted" aria-live="polite">Search runs in your browser.</p>'
            '<ol class="results" id="results"></ol>'
            if links.static
            else ""
        )
        + (f"<p>Payers with negotiated rates: {payers}.</p>" if payers else "")
    )
    twin = "index.json" if links.static else "/index.json"
    head = f'<script src="{escape(links.root)}search.js" defer></script>' if links.static else ""
    return document("hcpcs-atlas", body, links, twin, head)


def _marked(segments: list[list[Any]]) -> str:
    return "".join(f"<mark>{escape(t)}</mark>" if hit else escape(t) for t, hit in segments)


_FIELD_NAMES = {
    "code": "code",
    "ndc": "NDC",
    "drug": "drug name",
    "short": "short descriptor",
    "long": "descriptor",
}


def search_page(data: dict[str, Any], links: Links) -> str:
    q = data["query"]
    items = []
    for r in data["items"]:
        status = (
            f' <span class="terminated">terminated {escape(r["terminated"])}</span>'
            if r["terminated"]
            else ""
        )
        matched = "" if r["matched_field"] in ("long", "code") else f"<br>{_marked(r['highlight'])}"
        descriptor = (
            _marked(r["highlight"]) if r["matched_field"] == "long" else escape(r["descriptor"] or "")
        )
        code = _marked(r["highlight"]) if r["matched_field"] == "code" else escape(r["code"])
        items.append(
            f'<li><a href="{escape(links.code(r["code"]))}"><strong>{code}</strong></a> {descriptor}{status}'
            f'{matched} <span class="field">matched: {escape(_FIELD_NAMES[r["matched_field"]])}</span></li>'
        )
    pager = ""
    if data["next_offset"] is not None:
        pager = (
            f'<p class="pager"><a href="{escape(links.search(q, data["next_offset"]))}">Next results</a></p>'
        )
    count = "1 code matches" if data["total"] == 1 else f"{data['total']:,} codes match"
    summary = count if q else "Type a code, words, a drug name or an NDC."
    body = (
        f"<h1>Search</h1>{_search_form(q, links)}<p>{escape(summary)}</p>"
        f'<ol class="results" start="{data["offset"] + 1}">{"".join(items)}</ol>{pager}'
    )
    twin = "/search.json?" + urlencode({"q": q})
    return document(f"Search: {q}" if q else "Search", body, links, twin)


def _money(value: float | None) -> str:
    return usd(value) if value is not None else "n/a"


def compare_page(data: dict[str, Any], codes: str, links: Links) -> str:
    entries, payers = data["codes"], data["payers"]
    head = "".join(
        f'<th scope="col"><a href="{escape(links.code(e["code"]))}">{escape(e["code"])}</a></th>'
        for e in entries
    )
    rows = [
        ("Descriptor", [escape(e["descriptor"] or NA) for e in entries]),
        ("Medicare ASP limit per unit", [_money(e["medicare"]["asp_payment_limit"]) for e in entries]),
        ("Billing unit", [escape(e["medicare"]["asp_dosage"] or "n/a") for e in entries]),
        ("ASP quarter", [escape(e["medicare"]["asp_effective_start"] or "n/a") for e in entries]),
        ("Medicare ASP by quarter", [_trend(e) for e in entries]),
        ("OPPS rate", [_money(e["medicare"]["opps_payment_rate"]) for e in entries]),
    ]
    for p in payers:
        rows.append((f"{p} median", [_money(e["payers"].get(p, {}).get("median")) for e in entries]))
        rows.append(
            (
                f"{p} % of Medicare",
                [_pct(e["payers"].get(p, {}).get("pct_of_medicare_median")) for e in entries],
            )
        )
    table = (
        f'<table class="compare"><thead><tr><th scope="col">Figure</th>{head}</tr></thead><tbody>'
        + "".join(
            f'<tr><th scope="row">{escape(label)}</th>' + "".join(f"<td>{v}</td>" for v in values) + "</tr>"
            for label, values in rows
        )
        + "</tbody></table>"
    )
    series = ["Medicare ASP limit", *(f"{p} median" for p in payers)]
    values = [
        [e["medicare"]["asp_payment_limit"], *(e["payers"].get(p, {}).get("median") for p in payers)]
        for e in entries
    ]
    chart = bars_svg(
        "Medicare limit and payer medians per billing unit (USD)",
        [e["code"] for e in entries],
        series,
        values,
    )
    form = (
        '<form class="search" method="get" action="/compare">'
        f'<input type="search" name="codes" value="{escape(codes)}" aria-label="Codes to compare" '
        'placeholder="J9032,J9330,J9035"><button>Compare</button></form>'
    )
    body = (
        f"<h1>Compare codes</h1>{form}{table}"
        f'<figure id="compare-chart">{chart}<figcaption>Each code\'s Medicare ASP payment limit and each '
        "payer's median negotiated rate, in USD per billing unit of that code's descriptor (units differ "
        "between codes). The table above holds the same figures.</figcaption></figure>"
    )
    return document(
        "Compare " + ", ".join(e["code"] for e in entries),
        body,
        links,
        "/compare.json?" + urlencode({"codes": codes}),
    )


def compare_form(links: Links) -> str:
    form = (
        '<form class="search" method="get" action="/compare"><input type="search" name="codes" '
        'aria-label="Codes to compare" placeholder="J9032,J9330,J9035"><button>Compare</button></form>'
    )
    return document(
        "Compare codes", f"<h1>Compare codes</h1>{form}<p>Up to 6 codes, comma-separated.</p>", links
    )


def _trend(entry: dict[str, Any]) -> str:
    """The ASP limit over the loaded quarters (newest first), then the change over 1 and 4 quarters."""
    history = [h for h in entry["asp_history"] if h["payment_limit"] is not None]
    if not history:
        return "n/a"
    points = [
        escape(f"{h['effective_start'] or '?'}: {usd(h['payment_limit'])}") for h in reversed(history[-4:])
    ]
    moves = [
        escape(f"over {t['quarters']} quarter(s): {signed_usd(t['change_usd'])}")
        + (escape(f" ({signed_pct(t['change_pct'])})") if t["change_pct"] is not None else "")
        for t in entry["trend"]
    ]
    return "<br>".join(points + moves)


def _pct(value: float | None) -> str:
    return pct(value) if value is not None else "n/a"


def payers_page(data: dict[str, Any], links: Links) -> str:
    rows = "".join(
        f'<tr><td><a href="{escape(links.payer(p["payer"]))}">{escape(p["payer"])}</a></td><td class="num">{p["codes"]:,}</td></tr>'
        for p in data["payers"]
    )
    table = (
        f'<table><thead><tr><th>Payer</th><th class="num">Codes with rates</th></tr></thead><tbody>{rows}</tbody></table>'
        if rows
        else f"<p>{escape(NA)}</p>"
    )
    return document(
        "Payers", f"<h1>Payers</h1>{table}", links, links.named("payers").replace(".html", "") + ".json"
    )


def payer_page(data: dict[str, Any], links: Links) -> str:
    name = data["payer"]
    code_rows = "".join(
        f'<tr><td><a href="{escape(links.code(r["code"]))}">{escape(r["code"])}</a></td>'
        f"<td>{escape(r['descriptor'] or '')}</td><td>{escape(r['betos'] or '')}</td>"
        f'<td class="num">{r["n_rates"]:,}</td><td class="num">{_money(r["median"])}</td>'
        f'<td class="num">{_money(r["medicare"])}</td><td class="num">{_pct(r["pct_of_medicare_median"])}</td></tr>'
        for r in data["codes"]
    )
    betos_rows = "".join(
        f"<tr><td>{escape(b['betos'])}</td><td>{escape(b['betos_meaning'] or '')}</td>"
        f'<td class="num">{b["codes"]:,}</td><td class="num">{_pct(b["median_pct_of_medicare"])}</td></tr>'
        for b in data["by_betos"]
    )
    body = (
        f'<h1>{escape(name)}</h1><p class="subtitle">Negotiated rates from this payer\'s Transparency-in-Coverage '
        "files, per billing unit.</p>"
        "<h2>Median % of Medicare by BETOS category</h2>"
        '<table><thead><tr><th>BETOS</th><th>Category</th><th class="num">Codes</th>'
        f'<th class="num">Median % of Medicare</th></tr></thead><tbody>{betos_rows}</tbody></table>'
        "<h2>Codes with rates</h2>"
        '<table><thead><tr><th>Code</th><th>Descriptor</th><th>BETOS</th><th class="num">Rates</th>'
        '<th class="num">Median</th><th class="num">Medicare limit</th><th class="num">% of Medicare</th></tr></thead>'
        f"<tbody>{code_rows}</tbody></table>"
    )
    twin = links.payer(name).removesuffix(".html") + ".json"
    return document(name, body, links, twin)


def sources_page(data: dict[str, Any], links: Links) -> str:
    rows = "".join(
        f"<tr><td>{escape(f['source'])}</td><td>{escape(f['file_name'])}</td>"
        f"<td>{escape(f['effective_start'] or '?')} to {escape(f['effective_end'] or '')}</td>"
        f'<td class="num">{f["rows"]:,}</td><td><code>{escape(f["sha256"])}</code></td>'
        f"<td>{escape(f['loaded_at'])}</td></tr>"
        for f in data["files"]
    )
    body = (
        "<h1>Sources</h1><p>Every loaded public file, with the period it covers and its SHA-256.</p>"
        '<table><thead><tr><th>Source</th><th>File</th><th>Period</th><th class="num">Rows</th>'
        f"<th>SHA-256</th><th>Loaded at</th></tr></thead><tbody>{rows}</tbody></table>"
    )
    return document("Sources", body, links, links.named("sources").removesuffix(".html") + ".json")


def changes_page(data: dict[str, Any], links: Links) -> str:
    rows = "".join(
        f'<tr><td>{escape(r["effective"] or "")}</td><td><a href="{escape(links.code(r["code"]))}">{escape(r["code"])}</a></td>'
        f"<td>{escape(r['source'])}</td><td>{escape(r['field'])}</td><td>{escape(r['before'] or '')}</td>"
        f"<td>{escape(r['after'] or '')}</td><td>{escape(r['from_file'])} → {escape(r['to_file'])}</td></tr>"
        for r in data["items"]
    )
    shown = f"{len(data['items']):,} of {data['total']:,} changes, newest first."
    pager = ""
    if data["next_offset"] is not None and not links.static:
        query = urlencode({k: v for k, v in (("source", data["source"]), ("since", data["since"])) if v})
        pager = f'<p class="pager"><a href="/changes?{escape(query)}&amp;offset={data["next_offset"]}">More changes</a></p>'
    table = (
        "<table><thead><tr><th>Effective</th><th>Code</th><th>Source</th><th>Field</th><th>Before</th>"
        f"<th>After</th><th>Files</th></tr></thead><tbody>{rows}</tbody></table>"
        if rows
        else f"<p>{escape(NA)}</p>"
    )
    body = (
        "<h1>Changes</h1><p>What changed between consecutive loaded versions of each source file "
        f"(the effective date is the later file's period start).</p><p>{escape(shown)}</p>{table}{pager}"
    )
    return document("Changes", body, links, links.named("changes").removesuffix(".html") + ".json")


def error_page(status: int, message: str, links: Links) -> str:
    body = f"<h1>{status}</h1><p>{escape(message)}</p>" + _search_form("", links)
    return document(f"{status}", body, links)
