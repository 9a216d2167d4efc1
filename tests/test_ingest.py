"""``hcpcs-atlas ingest tic`` end to end: real CMS examples, loopback URLs, failures leave the store as it was."""

from __future__ import annotations

import gzip
import http.server
import json
import shutil
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from click.testing import CliRunner

from hcpcs_atlas.cli import main
from hcpcs_atlas.store import Store

from .helpers import table_counts

V2 = "tic/cms_guide_v2.2.0/examples/in-network-rates"
V1 = "tic/cms_guide_v1.6.2/examples/in-network-rates"
TOC = "tic/cms_guide_v2.2.0/examples/table-of-contents/table-of-contents-sample.json"


def run(db: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--db", str(db), *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def rate_count(db: Path) -> int:
    with Store(db, read_only=True) as store:
        row = store.con.execute("SELECT count(*) FROM core_tic_rates").fetchone()
        assert row is not None
        return int(row[0])


@pytest.fixture()
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A loopback HTTP server over a temporary folder: (base URL, folder)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a, **k: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()


def test_cms_examples_ingest_and_reingest_changes_nothing(shared_data: Path, tmp_path: Path) -> None:
    db = tmp_path / "atlas.duckdb"
    files = [str(shared_data / V2 / "in-network-rates-fee-for-service-single-plan-sample.json")]
    files.append(str(shared_data / V1 / "in-network-rates-multiple-plans-sample.json"))
    code, out, err = run(db, "ingest", "tic", *files, "--codes", "27447,27448", "--payer", "Aetna")
    assert code == 0, err
    assert out.count(": ingested") == 2
    with Store(db, read_only=True) as store:
        payers = store.con.execute("SELECT DISTINCT payer FROM core_tic_rates").fetchall()
        codes = store.con.execute("SELECT DISTINCT billing_code FROM core_tic_rates ORDER BY 1").fetchall()
        tic_files = store.con.execute("SELECT count(*) FROM source_files WHERE source = 'tic'").fetchone()
    assert payers == [("Aetna",)] and codes == [("27447",), ("27448",)] and tic_files == (2,)
    before = table_counts(db)
    code, out, _ = run(db, "ingest", "tic", *files, "--codes", "27447,27448", "--payer", "Aetna")
    assert code == 0 and out.count("already ingested") == 2
    assert table_counts(db) == before


def test_gzip_from_a_loopback_url(shared_data: Path, tmp_path: Path, served: tuple[str, Path]) -> None:
    base, root = served
    sample = (shared_data / V2 / "in-network-rates-all-negotiated-types-sample.json").read_bytes()
    (root / "rates.json.gz").write_bytes(gzip.compress(sample))
    db = tmp_path / "atlas.duckdb"
    code, _out, err = run(
        db, "ingest", "tic", f"{base}/rates.json.gz", "--codes", "99214,97110,80053,27447,99285"
    )
    assert code == 0, err
    assert rate_count(db) > 0
    with Store(db, read_only=True) as store:
        kinds = {
            r[0] for r in store.con.execute("SELECT DISTINCT negotiated_type FROM core_tic_rates").fetchall()
        }
    # The per diem rate is on revenue code 0200 (billing_code_type RC), which is never matched.
    assert kinds == {"negotiated", "derived", "fee schedule", "percentage"}


def test_failures_are_per_file_and_leave_nothing(shared_data: Path, tmp_path: Path) -> None:
    db = tmp_path / "atlas.duckdb"
    good = shared_data / V2 / "in-network-rates-fee-for-service-single-plan-sample.json"
    data = good.read_bytes()
    bad = {
        "truncated.json.gz": gzip.compress(data)[:-20],
        "broken.json": data.replace(b'"negotiated_rate"', b'"negotiated_rate" 12', 1),
        "error-page.json": b"<html><body>503 Service Unavailable</body></html>",
        "cut.json": data[: len(data) // 2],
        "empty.json": b"",
    }
    for name, content in bad.items():
        (tmp_path / name).write_bytes(content)
    run(db, "ingest", "tic", str(good), "--codes", "27447")
    before = table_counts(db)
    paths = [str(tmp_path / name) for name in bad]
    code, _out, err = run(db, "ingest", "tic", *paths, "--codes", "27447,27448")
    assert code != 0
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    for name in bad:
        assert any(name in line for line in lines), name
    assert "5 of 5 file(s) failed" in err
    assert table_counts(db) == before


def test_good_files_still_load_when_one_fails(shared_data: Path, tmp_path: Path) -> None:
    db = tmp_path / "atlas.duckdb"
    (tmp_path / "bad.json").write_bytes(b"<!DOCTYPE html>")
    good = str(shared_data / V2 / "in-network-rates-fee-for-service-single-plan-sample.json")
    code, out, err = run(db, "ingest", "tic", str(tmp_path / "bad.json"), good, "--codes", "27447")
    assert code != 0 and "1 of 2 file(s) failed" in err and "ingested" in out
    assert rate_count(db) > 0


def test_invalid_cms_history_sample_is_refused_with_a_byte_offset(shared_data: Path, tmp_path: Path) -> None:
    # The early provider-reference sample in the CMS repository is not valid JSON (a missing comma).
    sample = (
        shared_data
        / "tic/cms_guide_history/examples/in-network-rates/in-network-rates-fee-for-service-provider-reference-sample.json"
    )
    db = tmp_path / "atlas.duckdb"
    code, _, err = run(db, "ingest", "tic", str(sample), "--codes", "27447,27448")
    assert code != 0 and "byte" in err and sample.name in err


def test_table_of_contents_expands_to_its_files(
    shared_data: Path, tmp_path: Path, served: tuple[str, Path]
) -> None:
    base, root = served
    doc = json.loads((shared_data / TOC).read_text(encoding="utf-8"))
    sample = shared_data / V2 / "in-network-rates-fee-for-service-single-plan-sample.json"
    count = 0
    for structure in doc["reporting_structure"]:
        for entry in structure.get("in_network_files", []):
            count += 1
            name = f"in-network-{count}.json"
            shutil.copy(sample, root / name)
            entry["location"] = f"{base}/{name}"
    (root / "toc.json").write_text(json.dumps(doc), encoding="utf-8")
    db = tmp_path / "atlas.duckdb"
    code, out, err = run(db, "ingest", "tic", f"{base}/toc.json", "--codes", "27447")
    assert code == 0, err
    # Byte-identical in-network files are one file: the first is ingested, the rest change nothing.
    assert out.count(": ingested") == 1 and out.count("already ingested") == count - 1
    with Store(db, read_only=True) as store:
        plans = store.con.execute("SELECT reporting_plans FROM core_tic_files").fetchone()
    assert plans is not None and plans[0] and "plan_name" in plans[0]


def test_progress_bar_shows_bytes_items_and_rate(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HCPCS_ATLAS_PROGRESS", "1")
    sample = shared_data / V2 / "in-network-rates-all-negotiated-types-sample.json"
    code, _, err = run(tmp_path / "atlas.duckdb", "ingest", "tic", str(sample), "--codes", "99214")
    assert code == 0
    bar = err.strip().splitlines()[-1]
    assert sample.name in bar and "100.0%" in bar and "6 items seen, 1 kept" in bar and "MB/s" in bar


def test_codes_file_and_default_codes_from_the_store(shared_data: Path, tmp_path: Path) -> None:
    sample = str(shared_data / V2 / "in-network-rates-fee-for-service-single-plan-sample.json")
    (tmp_path / "codes.txt").write_text("27448\n", encoding="utf-8")
    db = tmp_path / "atlas.duckdb"
    code, _, err = run(db, "ingest", "tic", sample, "--codes-file", str(tmp_path / "codes.txt"))
    assert code == 0, err
    with Store(db, read_only=True) as store:
        assert store.con.execute("SELECT DISTINCT billing_code FROM core_tic_rates").fetchall() == [
            ("27448",)
        ]
    # Without --codes, only HCPCS Level II codes are kept: the CMS sample's CPT codes are not.
    other = tmp_path / "other.duckdb"
    code, out, _ = run(other, "ingest", "tic", sample)
    assert code == 0 and "ingested 0 rate rows" in out
