"""Journeys in a real browser: Playwright for Python driving the system Chromium (Debian ``chromium``).

Locally these tests skip, saying why, when no Chromium is found; with CI=true they fail instead (.ci/run
installs the package). Screenshots of the main pages go to a temporary folder (printed; set
HCPCS_ATLAS_SCREENSHOTS to keep them somewhere else).
"""

from __future__ import annotations

import functools
import http.server
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import HOSTILE_PAYER, LiveServer

CHROMIUM = Path(os.environ.get("HCPCS_ATLAS_CHROMIUM", "/usr/bin/chromium"))
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"browser tests cannot run in CI: {reason}")
    pytest.skip(f"browser tests skipped: {reason}")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.is_file():
        _unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set HCPCS_ATLAS_CHROMIUM)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -e '.[test]')")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = os.environ.get("HCPCS_ATLAS_SCREENSHOTS")
    folder = Path(where) if where else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    print(f"screenshots: {folder}")
    return folder


class Tab:
    """A page that records console errors, uncaught exceptions and dialogs (an executed script would open one)."""

    def __init__(self, browser: Any, shots: Path) -> None:
        self.page = browser.new_page(viewport={"width": 1100, "height": 900})
        self.shots = shots
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", self._dialog)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(self.shots / f"{name}.png"), full_page=True)

    def close(self) -> None:
        self.page.close()
        assert self.errors == [], self.errors
        assert self.dialogs == [], self.dialogs


@pytest.fixture(scope="module")
def live(site_store: Path) -> Iterator[LiveServer]:
    server = LiveServer(site_store)
    yield server
    server.stop()


@pytest.fixture()
def tab(browser: Any, shots: Path) -> Iterator[Tab]:
    t = Tab(browser, shots)
    yield t
    t.close()


def test_search_to_publication(live: LiveServer, tab: Tab) -> None:
    from playwright.sync_api import expect

    page = tab.page
    page.goto(live.base + "/")
    tab.shot("home")
    page.fill("#q", "belinostat")
    page.press("#q", "Enter")
    page.wait_for_url("**/search?q=belinostat")
    expect(page.locator("ol.results mark").first).to_have_text("belinostat", ignore_case=True)
    tab.shot("search-belinostat")
    page.get_by_role("link", name="J9032", exact=True).click()
    page.wait_for_url("**/J9032")
    payers = page.locator("table", has_text="Aetna").first
    expect(payers).to_be_visible()
    expect(page.locator("svg.chart").first).to_be_visible()
    tab.shot("J9032")


def test_compare(live: LiveServer, tab: Tab) -> None:
    from playwright.sync_api import expect

    page = tab.page
    page.goto(live.base + "/compare")
    page.fill("input[name=codes]", "J9032,J9330")
    page.press("input[name=codes]", "Enter")
    page.wait_for_url("**/compare?codes=J9032*")
    expect(page.locator("table.compare")).to_contain_text("J9330")
    expect(page.locator("#compare-chart svg")).to_be_visible()
    assert page.locator("#compare-chart svg rect").count() >= 4
    tab.shot("compare")


def test_hostile_payer_name_is_text(live: LiveServer, tab: Tab) -> None:
    from playwright.sync_api import expect

    page = tab.page
    page.goto(live.base + "/payers")
    page.get_by_role("link", name=HOSTILE_PAYER).click()
    expect(page.locator("h1")).to_have_text(HOSTILE_PAYER)
    assert page.locator("script").count() == 0
    tab.shot("payer-hostile")
    page.goto(live.base + "/payer/Cigna")
    expect(page.locator("table").first).to_contain_text("O1D")
    tab.shot("payer-cigna")
    for path in ("/sources", "/changes", "/search?q=72893-002-01"):
        page.goto(live.base + path)
        tab.shot(path.strip("/").split("?")[0])


@pytest.fixture(scope="module")
def static_site(site_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A static site (the build --all code path, on a few codes) served from a sub-folder of a loopback server."""
    from hcpcs_atlas.site import build_publications
    from hcpcs_atlas.store import Store

    root = tmp_path_factory.mktemp("static")
    with Store(site_store, read_only=True) as store:
        build_publications(
            store, ["J9032", "J9330", "J9035", "J0131", "A0021"], ["html", "json"], root / "deep" / "site"
        )
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/deep/site/"
    finally:
        server.shutdown()
        server.server_close()


def test_static_site_search(static_site: str, tab: Tab) -> None:
    from playwright.sync_api import expect

    page = tab.page
    page.goto(static_site + "index.html")
    expect(page.locator("#search-form")).to_have_attribute("data-ready", "true")
    page.fill("#q", "temsirolimus")
    expect(page.locator("#results li").first).to_contain_text("J9330")
    tab.shot("static-search")
    page.locator("#results a", has_text="J9330").first.click()
    page.wait_for_url("**/deep/site/J9330.html")
    expect(page.locator("header.site")).to_be_visible()
    color = page.evaluate("getComputedStyle(document.querySelector('header.site')).borderBottomStyle")
    assert color == "solid"  # the shared stylesheet loaded through a relative link
    page.get_by_role("link", name="Payers").click()
    expect(page.locator("h1")).to_have_text("Payers")
    tab.shot("static-payers")
