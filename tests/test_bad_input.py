"""The bad-input corpus: every way a user or a hostile file can feed hcpcs-atlas something wrong.

Each case runs one command against a copy of a real store (the real CMS files plus a small payer file)
and asserts the contract of errors.py: exit code 2, exactly one line on stderr that starts ``error:`` and
names the file (or option) and the place (row, byte, column, option), no traceback, and the store
unchanged: the ``files`` listing and the facts record of J9032 are the same before and after.
"""

from __future__ import annotations

import gzip
import http.server
import io
import json
import re
import shutil
import socket
import threading
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from hcpcs_atlas.cli import main

from .helpers import ASP, CROSSWALK, HCPCS_2020_TXT, HCPCS_2020_XLS, HCPCS_2025_XLSX, OPPS_2023, OPPS_2026

V2 = "tic/cms_guide_v2.2.0/examples/in-network-rates"
SAMPLE = f"{V2}/in-network-rates-fee-for-service-single-plan-sample.json"
HCPCS_TXT = "hcpcs/2020/HCPC2020_ANWEB_w_disclaimer.txt"
HISTORY_BAD = "tic/cms_guide_history/examples/in-network-rates/in-network-rates-fee-for-service-provider-reference-sample.json"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False, prog_name="hcpcs-atlas")
    return result.exit_code, result.stdout, result.stderr


# -- small payer documents --------------------------------------------------------------------------------


def in_network(items: object, **top: object) -> bytes:
    doc = {"reporting_entity_name": "Corpus Health", "reporting_entity_type": "health insurance issuer",
           "last_updated_on": "2025-10-01", "version": "1.3.1", **top, "in_network": items}  # fmt: skip
    return json.dumps(doc).encode()


def item(code: str = "J9032", rate: object = 61.5, **extra: object) -> dict[str, object]:
    price = {"negotiated_type": "negotiated", "negotiated_rate": rate, "expiration_date": "9999-12-31",
             "billing_class": "professional", "service_code": ["11"]}  # fmt: skip
    group = {"npi": [1234567890], "tin": {"type": "ein", "value": "11-1111111"}}
    return {"negotiation_arrangement": "ffs", "name": "belinostat", "billing_code_type": "HCPCS",
            "billing_code_type_version": "2025", "billing_code": code, "description": "Injection",
            "negotiated_rates": [{"provider_groups": [group], "negotiated_prices": [price]}], **extra}  # fmt: skip


GOOD_TIC = in_network([item()])


def nested(depth: int) -> bytes:
    deep = b'{"billing_code":"J9032","billing_code_type":"HCPCS","negotiated_rates":[],"x":'
    return deep + b"[" * depth + b"]" * depth + b"}"


def big_with(wanted: bytes, filler_bytes: int = 5 << 20) -> bytes:
    """A document over 4 MB (so it is not parsed whole), the wanted item last."""
    filler = json.dumps(item("99213")).encode()
    count = filler_bytes // len(filler) + 1
    head = in_network([])[:-2]  # up to "in_network": [
    return head + b",".join([filler] * count) + b"," + wanted + b"]}"


def zip_of(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def with_line(shared_name: str, marker: bytes, old: bytes, new: bytes) -> Callable[[Path], bytes]:
    """The file with its line holding ``marker`` written twice, the copy changed (a conflicting repeat)."""

    def make(shared: Path) -> bytes:
        data = (shared / shared_name).read_bytes()
        start = data.index(marker)
        end = data.index(b"\n", start) + 1
        line = data[start:end]
        assert old in line
        return data[:end] + line.replace(old, new, 1) + data[end:]

    return make


def changed(shared_name: str, marker: bytes, old: bytes, new: bytes) -> Callable[[Path], bytes]:
    def make(shared: Path) -> bytes:
        data = (shared / shared_name).read_bytes()
        start = data.index(marker)
        assert data.index(old, start) < data.index(b"\n", start)
        return data[:start] + data[start:].replace(old, new, 1)

    return make


def asp_with(shared: Path, old: bytes, new: bytes) -> bytes:
    data = (shared / ASP).read_bytes()
    assert old in data
    return data.replace(old, new, 1)


# -- a loopback server for hostile remote cases ------------------------------------------------------------


class _Handler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.startswith("/redirect-file"):
            self.send_response(302)
            self.send_header("Location", "file:///etc/hostname")
            self.end_headers()
            return
        if self.path.startswith("/redirect-loop"):
            self.send_response(302)
            self.send_header("Location", self.path)
            self.end_headers()
            return
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    root = tmp_path_factory.mktemp("www")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), lambda *a: _Handler(*a, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()


def toc(*locations: str) -> bytes:
    files = [{"description": "in-network file", "location": loc} for loc in locations]
    plans = [
        {
            "plan_name": "Corpus PPO",
            "plan_id_type": "EIN",
            "plan_id": "11-1111111",
            "plan_market_type": "group",
        }
    ]
    doc = {"reporting_entity_name": "Corpus Health", "reporting_entity_type": "health insurance issuer",
           "reporting_structure": [{"reporting_plans": plans, "in_network_files": files}]}  # fmt: skip
    return json.dumps(doc).encode()


# -- the corpus -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """``args`` may use {tmp}, {shared}, {web}; ``files`` are written to {tmp} (or {www} for the server)
    first; ``expect`` are fragments of the one error line (the file or option, the place, the reason)."""

    id: str
    args: tuple[str, ...]
    expect: tuple[str, ...]
    files: Callable[[Path], dict[str, bytes]] | None = None
    served: Callable[[Path], dict[str, bytes]] | None = None


def tic(name: str, data: bytes | Callable[[Path], bytes], *expect: str, codes: str = "J9032") -> Case:
    return Case(
        f"tic-{name}",
        ("ingest", "tic", "{tmp}/" + name, "--codes", codes),
        (name, *expect),
        files=lambda shared: {name: data(shared) if callable(data) else data},
    )


def load(source: str, name: str, data: bytes | Callable[[Path], bytes], *expect: str) -> Case:
    return Case(
        f"load-{source}-{name}",
        ("load", source, "{tmp}/" + name),
        (name, *expect),
        files=lambda shared: {name: data(shared) if callable(data) else data},
    )


def real(shared_name: str) -> Callable[[Path], bytes]:
    return lambda shared: (shared / shared_name).read_bytes()


def cut(shared_name: str, size: int) -> Callable[[Path], bytes]:
    return lambda shared: (shared / shared_name).read_bytes()[:size]


def utf16(shared_name: str) -> Callable[[Path], bytes]:
    return lambda shared: (shared / shared_name).read_text(encoding="cp1252").encode("utf-16")


CMS_CASES = [
    Case("load-hcpcs-given-asp", ("load", "hcpcs", "{shared}/" + ASP), ("2025_Oct_ASP_Pricing_File.csv",)),
    Case(
        "load-asp-given-hcpcs",
        ("load", "asp", "{shared}/" + HCPCS_2025_XLSX),
        ("HCPC2025_OCT_ANWEB_v4.xlsx",),
    ),
    Case(
        "load-crosswalk-given-asp",
        ("load", "crosswalk", "{shared}/" + ASP),
        ("2025_Oct_ASP_Pricing_File.csv",),
    ),
    Case("load-opps-given-asp", ("load", "opps", "{shared}/" + ASP), ("2025_Oct_ASP_Pricing_File.csv",)),
    Case("load-asp-given-crosswalk", ("load", "asp", "{shared}/" + CROSSWALK), ("Crosswalk.csv",)),
    Case("load-hcpcs-given-opps", ("load", "hcpcs", "{shared}/" + OPPS_2023), ("Addendum_B",)),
    Case("load-asp-missing", ("load", "asp", "{tmp}/missing.csv"), ("missing.csv", "no such file")),
    Case("load-asp-empty-folder", ("load", "asp", "{tmp}"), ("no asp file to load here",)),
    load("asp", "empty.csv", b""),
    load(
        "asp", "asp_cut.csv", lambda s: (s / ASP).read_bytes()[: (s / ASP).read_bytes().index(b"J9032") + 12]
    ),
    load("asp", "asp_header_only.csv", lambda s: b"\n".join((s / ASP).read_bytes().splitlines()[:9])),
    load("asp", "garbage.csv", bytes(range(256)) * 40),
    load("asp", "error_page.csv", b"<!DOCTYPE html><html><body>503 Service Unavailable</body></html>"),
    load("asp", "nul.csv", b"\0" * 4096),
    load("hcpcs", "hcpcs_cut.xlsx", cut(HCPCS_2025_XLSX, 50_000)),
    load("hcpcs", "renamed_csv.xlsx", real(ASP)),
    load("hcpcs", "zip_not_xlsx.xlsx", zip_of({"a.txt": b"hello"})),
    load("hcpcs", "hcpcs_cut.xls", cut(HCPCS_2020_XLS, 30_000)),
    load("hcpcs", "empty.txt", b""),
    load(
        "hcpcs",
        "bad_record.txt",
        lambda s: (s / HCPCS_2020_TXT).read_bytes().replace(b"\nJ9032001003", b"\nJ9032001009", 1),
    ),
    load("opps", "opps_cut.xlsx", cut(OPPS_2023, 40_000)),
    load("opps", "empty.csv", b""),
    load("opps", "opps_header_only.csv", lambda s: (s / OPPS_2026).read_bytes().splitlines()[0]),
    load("crosswalk", "empty.csv", b""),
    load("crosswalk", "crosswalk_cut.csv", cut(CROSSWALK, 300)),
    load("asp", "asp_not_a_number.csv", lambda s: asp_with(s, b"52.474", b"52,47x")),
    load(
        "asp",
        "asp_negative.csv",
        changed(ASP, b"J9032,", b"52.474", b"-52.474"),
        "row 656",
        "Payment Limit",
        "-52.474",
    ),
    load("asp", "asp_huge.csv", changed(ASP, b"J9032,", b"52.474", b"1" + b"0" * 308), "row 656", "1e+308"),
    load("asp", "asp_coinsurance.csv", changed(ASP, b"J9032,", b"19.738", b"190.5"), "row 656", "190.5"),
    load(
        "asp",
        "asp_conflict.csv",
        with_line(ASP, b"J9032,", b"52.474", b"99.999"),
        "rows 656 and 657",
        "J9032",
    ),
    load(
        "opps", "opps_negative.csv", changed(OPPS_2026, b'"J9032"', b"53.111", b"-53.111"), "row", "-53.111"
    ),
    load(
        "opps", "opps_conflict.csv", with_line(OPPS_2026, b'"J9032"', b"53.111", b"60"), "J9032 appears twice"
    ),
    load(
        "hcpcs",
        "HCPC2020_conflict.txt",
        with_line(HCPCS_TXT, b"J903200100", b"belinostat, 10 mg  ", b"belinostat, 99 mg  "),
        "J9032 appears twice",
        "rows 8291 and 8292",
    ),
    load(
        "crosswalk", "crosswalk_conflict.csv", with_line(CROSSWALK, b"J9032,", b",50,50,", b",50,5,"), "J9032"
    ),
    load(
        "crosswalk", "crosswalk_negative.csv", changed(CROSSWALK, b"J9032,", b",50,50,", b",-50,50,"), "row"
    ),
]

TIC_CASES = [
    tic("truncated.json.gz", gzip.compress(GOOD_TIC)[:-20], "truncated"),
    tic("bad_crc.json.gz", gzip.compress(GOOD_TIC)[:-8] + b"\0\0\0\0" + gzip.compress(GOOD_TIC)[-4:], "byte"),
    tic("broken.json", GOOD_TIC.replace(b'"negotiated_rate":', b'"negotiated_rate" 12', 1), "byte"),
    tic("html.json", b"<html><body>503 Service Unavailable</body></html>", "byte 0", "HTML page"),
    tic("html.json.gz", gzip.compress(b"<!DOCTYPE html><p>Forbidden</p>"), "byte 0", "HTML page"),
    tic("cut.json", GOOD_TIC[: len(GOOD_TIC) // 2], "byte"),
    tic("empty.json", b"", "byte 0", "empty file"),
    tic("blank.json", b" \n\t\n", "byte", "whitespace"),
    tic("nul.json", b"\0" * 100, "byte 0"),
    tic("array.json", b"[" + GOOD_TIC + b"]", "byte 0"),
    tic("not_in_network.json", b'{"a": 1}', "no in_network array"),
    tic("in_network_null.json", in_network(None), "byte", "in_network"),
    tic("in_network_object.json", in_network({"a": item()}), "byte", "in_network"),
    tic("trailing.json", GOOD_TIC + b" trailing", "byte"),
    tic("two_docs.json", GOOD_TIC + GOOD_TIC, "byte"),
    tic("bad_utf8.json", GOOD_TIC.replace(b"Injection", b"Inj\xff\xfeion", 1), "byte"),
    tic("deep_small.json", in_network([]).replace(b"[]", b"[" + nested(1100) + b"]"), "byte", "nested"),
    tic("deep_big.json", big_with(nested(1100)), "byte", "nested deeper than 1024"),
    tic("deep_big.json.gz", lambda s: gzip.compress(big_with(nested(1100)), 1), "byte", "nested"),
    tic("zip_empty.zip", zip_of({}), "byte 0", "no file"),
    tic("zip_corrupt.zip", zip_of({"a.json": GOOD_TIC})[:60] + b"\0" * 200, "byte"),
    tic("cms_history.json", real(HISTORY_BAD), "byte"),
    tic("cms_sample_cut.json", cut(SAMPLE, 3000), "byte"),
    tic("cms_sample_cut.json.gz", lambda s: gzip.compress((s / SAMPLE).read_bytes())[:-100], "byte"),
    Case(
        "tic-missing", ("ingest", "tic", "{tmp}/missing.json", "--codes", "J9032"), ("missing.json", "byte 0")
    ),
    Case("tic-directory", ("ingest", "tic", "{tmp}", "--codes", "J9032"), ("a directory, not a file",)),
    Case(
        "tic-item-over-cap",
        ("ingest", "tic", "{tmp}/huge.json", "--codes", "J9032", "--max-item-mb", "1"),
        ("huge.json", "byte", "1 MB item limit"),
        files=lambda s: {
            "huge.json": big_with(json.dumps(item(description="x" * (3 << 20))).encode(), 1 << 20)
        },
    ),
    Case(
        "tic-local-toc-without-permission",
        ("ingest", "tic", "{tmp}/toc.json", "--codes", "J9032"),
        ("toc.json", "in-network file 1", "--allow-local-refs"),
        files=lambda s: {"toc.json": toc("rates.json"), "rates.json": GOOD_TIC},
    ),
    Case(
        "codes-file-binary",
        ("ingest", "tic", "{tmp}/rates.json", "--codes-file", "{tmp}/codes.bin"),
        ("codes.bin", "byte", "UTF-8"),
        files=lambda s: {"rates.json": GOOD_TIC, "codes.bin": b"J9032\n\xff\xfe\x00\x81"},
    ),
    Case(
        "codes-empty",
        ("ingest", "tic", "{tmp}/rates.json", "--codes", ","),
        ("--codes", "no code given"),
        files=lambda s: {"rates.json": GOOD_TIC},
    ),
    Case(
        "codes-file-empty",
        ("ingest", "tic", "{tmp}/rates.json", "--codes-file", "{tmp}/codes.txt"),
        ("codes.txt", "byte 0", "no code"),
        files=lambda s: {"rates.json": GOOD_TIC, "codes.txt": b" \n,\n"},
    ),
    Case(
        "codes-file-nul",
        ("ingest", "tic", "{tmp}/rates.json", "--codes-file", "{tmp}/codes.txt"),
        ("codes.txt", "byte 5", "NUL"),
        files=lambda s: {"rates.json": GOOD_TIC, "codes.txt": b"J9032\0J9330"},
    ),
]

REMOTE_CASES = [
    Case(
        "url-404",
        ("ingest", "tic", "{web}/missing.json", "--codes", "J9032"),
        ("missing.json", "byte 0", "HTTP 404"),
    ),
    Case(
        "url-redirect-to-file",
        ("ingest", "tic", "{web}/redirect-file", "--codes", "J9032"),
        ("redirect-file", "byte 0", "refused: a redirect to a file location"),
    ),
    Case(
        "url-redirect-loop",
        ("ingest", "tic", "{web}/redirect-loop", "--codes", "J9032"),
        ("redirect-loop", "byte 0", "redirects"),
    ),
    Case(
        "url-connection-refused",
        (
            "ingest",
            "tic",
            "http://127.0.0.1:{closed}/rates.json",
            "--codes",
            "J9032",
            "--connect-timeout",
            "2",
        ),
        ("rates.json", "byte 0", "connection refused"),
    ),
    Case(
        "url-toc-lists-file-url",
        ("ingest", "tic", "{web}/toc_file.json", "--codes", "J9032"),
        ("toc_file.json", "in-network file 1", "refused: a file: location"),
        served=lambda s: {"toc_file.json": toc("file:///etc/hostname")},
    ),
    Case(
        "url-toc-lists-absolute-path",
        ("ingest", "tic", "{web}/toc_abs.json", "--codes", "J9032"),
        ("/etc/passwd", "byte 0", "HTTP 404"),
        served=lambda s: {"toc_abs.json": toc("/etc/passwd")},
    ),
    Case(
        "url-zip-two-members",
        ("ingest", "tic", "{web}/two.zip", "--codes", "J9032"),
        ("two.zip", "byte 0", "2 JSON files"),
        served=lambda s: {"two.zip": zip_of({"a.json": GOOD_TIC, "b.json": GOOD_TIC})},
    ),
    Case(
        "url-html-page",
        ("ingest", "tic", "{web}/page.json.gz", "--codes", "J9032"),
        ("page.json.gz", "byte 0", "HTML page"),
        served=lambda s: {"page.json.gz": b"<html>login required</html>"},
    ),
]

CLI_CASES = [
    Case("facts-unknown-code", ("facts", "ZZ999"), ("ZZ999", "not a code")),
    Case("build-unknown-code", ("build", "ZZ999", "--out", "{tmp}/o"), ("ZZ999",)),
    Case("build-out-proc", ("build", "J9032", "--out", "/proc/x"), ("/proc/x", "cannot write")),
    Case(
        "build-out-is-file",
        ("build", "J9032", "--out", "{tmp}/f.txt"),
        ("f.txt",),
        files=lambda s: {"f.txt": b"x"},
    ),
    Case(
        "build-bad-format", ("build", "J9032", "--format", "docx", "--out", "{tmp}/o"), ("--format", "docx")
    ),
    Case("build-no-codes", ("build", "--out", "{tmp}/o"), ("hcpcs-atlas build", "--all")),
    Case("serve-port-too-big", ("serve", "--port", "99999"), ("--port", "99999")),
    Case("serve-port-in-use", ("serve", "--port", "{busy}"), ("127.0.0.1:", "already in use")),
    Case("load-unknown-source", ("load", "bogus", "{tmp}/x.csv"), ("hcpcs-atlas load", "bogus")),
    Case(
        "load-bad-effective",
        ("load", "asp", "{shared}/" + ASP, "--effective", "2025-13-01"),
        ("--effective",),
    ),
    Case(
        "ingest-codes-and-file",
        ("ingest", "tic", "{tmp}/r.json", "--codes", "J9032", "--codes-file", "{tmp}/c.txt"),
        ("hcpcs-atlas ingest tic", "--codes-file"),
        files=lambda s: {"r.json": GOOD_TIC, "c.txt": b"J9032"},
    ),
    Case("ingest-no-source", ("ingest", "tic", "--codes", "J9032"), ("hcpcs-atlas ingest tic", "SOURCES")),
]

CASES = CMS_CASES + TIC_CASES + REMOTE_CASES + CLI_CASES
#: A place in the file, an option or address; or a verdict on the whole file (then the file is the place).
PLACE = re.compile(
    r"no such file|a directory, not a file|no asp file to load here|file is empty|not a (readable|valid) \.xlsx? workbook|\b(rows? \d+|first \d+ rows|byte \d+|column '|line \d+|in-network file \d+)|--[a-z-]+|\d+\.\d+\.\d+\.\d+:\d+|ZZ999|/proc/x|f\.txt"
)


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 60 and len({c.id for c in CASES}) == len(CASES)


# -- the base store and what must not change ----------------------------------------------------------------


@pytest.fixture(scope="module")
def base_store(real_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("corpus") / "atlas.duckdb"
    shutil.copy(real_store, path)
    rates = path.parent / "corpus-rates.json"
    rates.write_bytes(GOOD_TIC)
    code, _, err = run("--db", str(path), "ingest", "tic", str(rates), "--codes", "J9032", "--payer", "Aetna")
    assert code == 0, err
    return path


def snapshot(db: Path) -> tuple[str, str]:
    code, files, err = run("--db", str(db), "files")
    assert code == 0, err
    code, facts, err = run("--db", str(db), "facts", "J9032")
    assert code == 0, err
    return files, facts


@pytest.fixture(scope="module")
def base_snapshot(base_store: Path) -> tuple[str, str]:
    files, facts = snapshot(base_store)
    assert "corpus-rates.json" in files and json.loads(facts)["payers"], "the base store has payer data"
    return files, facts


@pytest.fixture()
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.fixture()
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_exit_2_and_the_store_is_unchanged(
    case: Case,
    base_store: Path,
    base_snapshot: tuple[str, str],
    shared_data: Path,
    web: tuple[str, Path],
    busy_port: int,
    closed_port: int,
    tmp_path: Path,
) -> None:
    db = tmp_path / "store" / "atlas.duckdb"
    db.parent.mkdir()
    shutil.copy(base_store, db)
    work = tmp_path / "in"
    work.mkdir()
    base, www = web
    for name, data in (case.files(shared_data) if case.files else {}).items():
        (work / name).write_bytes(data)
    for name, data in (case.served(shared_data) if case.served else {}).items():
        (www / name).write_bytes(data)
    fill = {"tmp": work, "shared": shared_data, "web": base, "busy": busy_port, "closed": closed_port}
    args = [a.format(**fill) for a in case.args]

    code, _out, err = run("--db", str(db), *args)

    assert code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for fragment in case.expect:
        assert fragment in err, (fragment, err)
    assert PLACE.search(err), f"no place named: {err}"
    assert snapshot(db) == base_snapshot
