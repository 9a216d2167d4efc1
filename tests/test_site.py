"""The web application over loopback (uvicorn in a thread): pages and their .json twins, the API, errors,
escaping, security headers, and a load while it serves."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import HOSTILE_PAYER, LiveServer, add_payer


@pytest.fixture(scope="module")
def live(site_store: Path) -> Iterator[LiveServer]:
    server = LiveServer(site_store)
    yield server
    server.stop()


def _json(live: LiveServer, path: str) -> tuple[int, Any]:
    status, _, body = live.get(path)
    return status, json.loads(body)


def test_search_ranks_and_highlights(live: LiveServer) -> None:
    status, data = _json(live, "/search.json?q=belinostat")
    assert status == 200
    first = data["items"][0]
    assert first["code"] == "J9032" and first["matched_field"] in ("long", "short")
    assert ["belinostat", True] in [[t.lower(), hit] for t, hit in first["highlight"]]
    _, html = live.get("/search?q=belinostat")[0:3:2]
    assert b"<mark>belinostat</mark>" in html and b'href="/J9032"' in html


@pytest.mark.parametrize(
    ("query", "code", "field"),
    [
        ("J9330", "J9330", "code"),
        ("temsirolimus", "J9330", "drug"),
        ("Beleodaq", "J9032", "drug"),
        ("72893-0002-01", "J9032", "ndc"),
        ("72893000201", "J9032", "ndc"),
        ("72893-002-01", "J9032", "ndc"),  # 5-3-2 padded to 5-4-2
        ("00008-1179-01", "J9330", "ndc"),
    ],
)
def test_search_fields(live: LiveServer, query: str, code: str, field: str) -> None:
    _, data = _json(live, f"/api/v1/search?q={query}")
    first = data["items"][0]
    assert (first["code"], first["matched_field"]) == (code, field)


def test_search_pagination(live: LiveServer) -> None:
    _, page1 = _json(live, "/api/v1/search?q=injection&limit=10")
    _, page2 = _json(live, "/api/v1/search?q=injection&limit=10&offset=10")
    assert page1["total"] == page2["total"] and int(page1["total"]) > 500
    assert page1["next_offset"] == 10 and len(page1["items"]) == 10
    codes1 = {i["code"] for i in page1["items"]}
    assert codes1.isdisjoint(i["code"] for i in page2["items"])


def test_publication_and_twins(live: LiveServer) -> None:
    status, _, html = live.get("/J9032")
    assert status == 200 and b"Payer Landscape" in html and b'href="/static/atlas.css"' in html
    assert b"<style>" not in html and b"<script" not in html
    assert live.get("/%4A9032")[0] == 200  # percent-decoded
    _, facts = _json(live, "/J9032/facts.json")
    assert facts["medicare"]["asp"]["payment_limit"] == 52.474
    _, api = _json(live, "/api/v1/codes/J9032")
    assert api == facts
    assert json.loads(live.get("/J9032.json")[2])["code"] == "J9032"
    assert live.get("/J9032.md")[2].startswith(b"# ")
    assert live.get("/J9032.pdf")[2].startswith(b"%PDF")
    status, _, body = live.get("/J9032", method="HEAD")
    assert status == 200 and body == b""


def test_compare(live: LiveServer) -> None:
    _, data = _json(live, "/compare.json?codes=J9032,J9330,J9035")
    entries = {e["code"]: e for e in data["codes"]}
    assert entries["J9032"]["medicare"]["asp_payment_limit"] == 52.474
    assert entries["J9032"]["payers"]["Aetna"]["median"] == 70.0
    assert entries["J9330"]["payers"]["Cigna"]["median"] == 35.0
    assert data["payers"][:2] == ["Aetna", "Cigna"]
    _, _, html = live.get("/compare?codes=J9032,J9330")
    assert html.count(b"<svg") == 1 and b"<desc" in html and b"$" in html
    status, api = _json(live, "/api/v1/compare?codes=J9032,ZZ999")
    assert status == 404 and api["error"]["code"] == "unknown_code"


def test_payer_pages_escape_hostile_names(live: LiveServer) -> None:
    _, data = _json(live, "/payer/Cigna.json")
    assert [r["code"] for r in data["codes"]] == ["J9032", "J9330"]
    j9032 = data["codes"][0]
    assert j9032["median"] == 60.0 and j9032["pct_of_medicare_median"] == pytest.approx(
        60 / 52.474 * 100, abs=0.1
    )
    assert data["by_betos"][0]["betos"] == "O1D"
    _, _, payers = live.get("/payers")
    assert b"<script>" not in payers and b"&lt;script&gt;" in payers
    status, _, page = live.get("/payer/%3Cscript%3Ealert(%22payer%22)%3C%2Fscript%3E")
    assert status == 200 and b"<script>" not in page and b"&lt;script&gt;alert(&quot;payer&quot;)" in page
    _, _, pub = live.get("/J9032")
    assert HOSTILE_PAYER.encode() not in pub


def test_sources_and_changes(live: LiveServer) -> None:
    _, data = _json(live, "/sources.json")
    names = [f["file_name"] for f in data["files"]]
    assert "HCPC2025_OCT_ANWEB_v4.xlsx" in names and all(len(f["sha256"]) == 64 for f in data["files"])
    _, changes = _json(live, "/api/v1/changes?source=hcpcs&limit=5")
    assert changes["total"] > 0 and len(changes["items"]) == 5
    assert {"code", "source", "kind", "field", "before", "after", "from_file", "to_file", "effective"} <= set(
        changes["items"][0]
    )
    assert live.get("/changes")[0] == 200


def test_errors_are_stable_and_routes_closed(live: LiveServer) -> None:
    for path in ("/ZZ999.json", "/api/v1/codes/ZZ999", "/api/v1/nothing", "/nope/x.json"):
        status, body = _json(live, path)
        assert status == 404 and set(body["error"]) == {"status", "code", "message"}, path
    for path in ("/../../etc/passwd", "/static/../pyproject.toml", "/%2e%2e/%2e%2e/etc/passwd", "/J9032.exe"):
        assert live.get(path)[0] == 404, path
    status, body = _json(live, "/api/v1/search?q=a&limit=100000")
    assert status == 400 and body["error"]["code"] == "bad_parameter"
    status, headers, _ = live.get("/", method="POST")
    assert status == 405 and headers["allow"] == "GET, HEAD"
    assert live.get("/search?q=" + "x" * 3000)[0] == 414


def test_security_headers_and_openapi(live: LiveServer) -> None:
    _, headers, _ = live.get("/")
    csp = headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert "access-control-allow-origin" not in {k.lower() for k in headers}
    _, doc = _json(live, "/api/v1/openapi.json")
    assert doc["openapi"].startswith("3.") and "/api/v1/search" in doc["paths"]


def test_a_load_while_serving_is_picked_up(site_store: Path, tmp_path: Path) -> None:
    db = tmp_path / "atlas.duckdb"
    shutil.copy(site_store, db)
    server = LiveServer(db, idle=0.1)
    try:
        assert b"UnitedHealthcare" not in server.get("/payers")[2]
        time.sleep(0.5)  # the read window closes when idle, so a loader can write
        add_payer(db, "UnitedHealthcare", {"J9330": [45.0]})
        deadline = time.monotonic() + 30
        while b"UnitedHealthcare" not in server.get("/payers")[2]:
            assert time.monotonic() < deadline, "the new payer never appeared"
            time.sleep(0.2)
        _, _, page = server.get("/compare.json?codes=J9330")
        assert json.loads(page)["codes"][0]["payers"]["UnitedHealthcare"]["median"] == 45.0
    finally:
        server.stop()


def _serve(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hcpcs_atlas", "--db", str(db), "serve", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_serve_errors_are_one_line(site_store: Path) -> None:
    from hcpcs_atlas.site.serve import bind

    result = _serve(site_store, "--port", "99999")
    assert result.returncode == 2 and result.stderr.strip().splitlines() == [
        "error: --port 99999: out of range (0-65535)"
    ]
    taken = bind("127.0.0.1", 0)
    try:
        result = _serve(site_store, "--port", str(taken.getsockname()[1]))
    finally:
        taken.close()
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and "already in use" in lines[0], result.stderr


def test_static_site(site_store: Path, tmp_path: Path) -> None:
    import re

    from hcpcs_atlas.site import build_publications
    from hcpcs_atlas.store import Store

    out = tmp_path / "site"
    with Store(site_store, read_only=True) as store:
        build_publications(store, ["J9032", "J9330", "A0021"], ["html", "json"], out)
    for name in ("index.html", "index.json", "codes.html", "atlas.css", "search.js", "search-index.js"):
        assert (out / name).is_file(), name
    for name in ("payers", "sources", "changes"):
        assert (out / f"{name}.html").is_file() and json.loads((out / f"{name}.json").read_text()) is not None
    index = (out / "search-index.js").read_text()
    assert index.startswith("window.HCPCS_ATLAS_INDEX = ") and '"Temsirolimus"' in index
    pages = list(out.rglob("*.html"))
    assert len([p for p in pages if p.parent.name == "payer"]) == 3
    for page in pages:
        html = page.read_text()
        links = re.findall(r'(?:href|src)="([^"]+)"', html)
        assert not [u for u in links if u.startswith(("/", "http"))], page  # relative links only
        assert "<script>" not in html and "<style>" not in html, page
    hostile = next(p for p in out.glob("payer/script-alert-payer-script-*.html"))
    assert "&lt;script&gt;alert(&quot;payer&quot;)&lt;/script&gt;" in hostile.read_text()
    j9032 = (out / "J9032.html").read_text()
    assert 'href="atlas.css"' in j9032 and 'href="payers.html"' in j9032
