"""Hostile and careless payer files that must not be refused but must not be trusted either.

Locations written inside files (provider references, table-of-contents entries) never open local files
unless the user allowed it for a local file; unresponsive servers cost a bounded time; a zip of several
in-network files ingests each; strings from files reach publications without markup or controls.
"""

from __future__ import annotations

import http.server
import json
import re
import socket
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from hcpcs_atlas.cli import main
from hcpcs_atlas.render import render_html, render_markdown
from hcpcs_atlas.store import Store
from hcpcs_atlas.writer.model import Bullets, Paragraph, Publication, Section, Table

from .test_bad_input import GOOD_TIC, in_network, item

SECRET = "SECRET-TIN"


def run(db: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--db", str(db), *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def referencing(location: str, count: int = 1) -> bytes:
    """An in-network file whose one J9032 rate uses ``count`` remote provider references."""
    refs = [
        {"provider_group_id": i, "location": f"{location}{i if count > 1 else ''}"}
        for i in range(1, count + 1)
    ]
    rated = item()
    rate = rated["negotiated_rates"][0]  # type: ignore[index]
    del rate["provider_groups"]
    rate["provider_references"] = list(range(1, count + 1))
    return in_network([rated], provider_references=refs)


def reference_file(tin: str) -> bytes:
    return json.dumps(
        {"provider_groups": [{"npi": [1999999999], "tin": {"type": "ein", "value": tin}}]}
    ).encode()


def tins(db: Path) -> set[str | None]:
    with Store(db, read_only=True) as store:
        return {r[0] for r in store.con.execute("SELECT DISTINCT tin_value FROM core_tic_rates").fetchall()}


@pytest.fixture()
def web(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "www"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), lambda *a: Quiet(*a, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("location", ["file://{secret}", "{secret}", "/etc/hostname", "secret.json"])
def test_a_downloaded_file_never_opens_local_files(
    web: tuple[str, Path], tmp_path: Path, location: str
) -> None:
    base, root = web
    secret = tmp_path / "secret.json"
    secret.write_bytes(reference_file(SECRET))
    (root / "rates.json").write_bytes(referencing(location.format(secret=secret)))
    db = tmp_path / "atlas.duckdb"
    code, out, err = run(db, "ingest", "tic", f"{base}/rates.json", "--codes", "J9032", "--allow-local-refs")
    assert code == 0 and "ingested 1 rate rows" in out, err
    assert "1 remote provider reference(s) could not be fetched" in err
    assert SECRET not in err and SECRET not in out
    assert tins(db) == {None}  # the rate is kept, without the providers it could not get


def test_a_local_file_reads_local_references_only_when_allowed(tmp_path: Path) -> None:
    (tmp_path / "refs").mkdir()
    (tmp_path / "refs" / "group.json").write_bytes(reference_file("22-2222222"))
    rates = tmp_path / "rates.json"
    rates.write_bytes(referencing("refs/group.json"))
    refused, allowed = tmp_path / "refused.duckdb", tmp_path / "allowed.duckdb"
    code, _, err = run(refused, "ingest", "tic", str(rates), "--codes", "J9032")
    assert code == 0 and "could not be fetched" in err
    assert tins(refused) == {None}
    code, _, err = run(allowed, "ingest", "tic", str(rates), "--codes", "J9032", "--allow-local-refs")
    assert code == 0 and "could not be fetched" not in err, err
    assert tins(allowed) == {"22-2222222"}


def test_unresponsive_servers_cost_one_deadline_not_one_timeout_each(tmp_path: Path) -> None:
    """Three references to a server that accepts and never answers: fetched together, all given up at
    the deadline (the subprocess timeout only keeps a broken build from hanging the suite)."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # connections complete in the backlog; nothing is ever sent
        rates = tmp_path / "rates.json"
        rates.write_bytes(referencing(f"http://127.0.0.1:{silent.getsockname()[1]}/group", count=3))
        args = ["--db", str(tmp_path / "a.duckdb"), "ingest", "tic", str(rates), "--codes", "J9032"]
        args += ["--read-timeout", "600", "--refs-deadline", "2", "--ref-workers", "3"]
        done = subprocess.run(
            [sys.executable, "-m", "hcpcs_atlas", *args], capture_output=True, text=True, timeout=120
        )
    assert done.returncode == 0, done.stderr
    assert "3 remote provider reference(s) could not be fetched" in done.stderr
    assert "ingested 3 rate rows" in done.stdout


def test_every_json_file_of_a_zip_is_its_own_unit(tmp_path: Path) -> None:
    other = in_network([item("J9330", 12.25)])
    archive = tmp_path / "two.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("a.json", GOOD_TIC)
        zf.writestr("sub/b.json", other)
        zf.writestr("readme.txt", "not a rate file")
    db = tmp_path / "atlas.duckdb"
    code, out, err = run(db, "ingest", "tic", str(archive), "--codes", "J9032,J9330")
    assert code == 0, err
    assert "two.zip:a.json: ingested 1 rate rows" in out and "two.zip:sub/b.json: ingested 1 rate rows" in out
    code, out, _ = run(db, "ingest", "tic", str(archive), "--codes", "J9032,J9330")
    assert code == 0 and out.count("already ingested") == 2
    with Store(db, read_only=True) as store:
        rows = store.con.execute(
            "SELECT billing_code, negotiated_rate FROM core_tic_rates ORDER BY 1"
        ).fetchall()
    assert rows == [("J9032", 61.5), ("J9330", 12.25)]


HOSTILE = "<script>alert(1)</script> <img src=x onerror=alert(2)> [x](javascript:alert(3)) a\u202eb\0c\n# h"


def _hostile_publication() -> Publication:
    from hcpcs_atlas.writer import _cleaned  # the writer's last step, applied to every string

    section = Section(
        "s", HOSTILE, [Paragraph(HOSTILE), Bullets([HOSTILE]), Table(["Plan"], [[HOSTILE]], HOSTILE)]
    )
    return _cleaned(Publication("J9032", HOSTILE, HOSTILE, [section]))


def test_markdown_carries_no_markup_or_controls_from_files() -> None:
    md = render_markdown(_hostile_publication())
    assert not re.search(r"(?<!\\)<", md), "an unescaped < could open a tag"
    assert not re.search(r"(?<!\\)\]\(", md), "an unescaped ]( could make a link"
    assert "\u202e" not in md and "\0" not in md
    assert "\n# h" not in md  # a line break in a string cannot start a heading
    assert "\\<script>alert(1)\\</script>" in md  # shown as text, exactly


def test_html_escapes_and_strips_controls() -> None:
    html = render_html(_hostile_publication())
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "\u202e" not in html and "\0" not in html


def test_a_wider_selection_later_adds_what_was_not_kept(tmp_path: Path) -> None:
    """A file is known by its sha256 and the codes it was ingested for (issue: J9330 was lost)."""
    rates = tmp_path / "rates.json"
    rates.write_bytes(in_network([item("J9032", 61.5), item("J9330", 12.25), item("J9999", 1.0)]))
    db = tmp_path / "atlas.duckdb"

    def ingest(*codes: str) -> str:
        code, out, err = run(db, "ingest", "tic", str(rates), *codes)
        assert code == 0, err
        return out

    def stored() -> list[tuple[str, float]]:
        with Store(db, read_only=True) as store:
            query = "SELECT billing_code, negotiated_rate FROM core_tic_rates ORDER BY 1"
            return [(str(code), float(rate)) for code, rate in store.con.execute(query).fetchall()]

    assert "rates.json: ingested 1 rate rows" in ingest("--codes", "J9032")
    assert "already ingested" in ingest("--codes", "J9032")
    assert "rates.json (codes not kept before): ingested 1 rate rows" in ingest("--codes", "J9032,J9330")
    assert stored() == [("J9032", 61.5), ("J9330", 12.25)]
    assert "already ingested" in ingest("--codes", "J9330")
    assert "(codes not kept before): ingested 1 rate rows" in ingest()  # default: every Level II code
    assert stored() == [("J9032", 61.5), ("J9330", 12.25), ("J9999", 1.0)]
    assert "already ingested" in ingest("--codes", "J9999")
    code, out, _ = run(db, "files")
    assert code == 0 and out.count("rates.json") == 1


def test_skipped_prices_are_counted_by_reason(tmp_path: Path) -> None:
    """A price with a null rate used to vanish: "ingested 0 rate rows" and nothing else."""
    rates = tmp_path / "rates.json"
    rates.write_bytes(in_network([item("J9032", None), item("J9032", "n/a"), item("J9032", 5.0)]))
    code, out, err = run(tmp_path / "atlas.duckdb", "ingest", "tic", str(rates), "--codes", "J9032")
    assert code == 0, err
    assert "rates.json: ingested 1 rate rows; skipped prices: 2 with no numeric negotiated_rate" in out
