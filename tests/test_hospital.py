"""Hospital price files end to end: ``ingest hospital`` on the real UNC, MD Anderson and UChicago files,
and every figure of ``hospital_rates`` for J9032 and J9330 against an independent computation (csv/json
parse of the files, the issue's payer rule re-implemented here, numpy percentiles); broken files, served
over loopback too, are refused with the store unchanged."""

from __future__ import annotations

import csv
import gzip
import http.server
import json
import re
import shutil
import threading
from collections import defaultdict
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from hcpcs_atlas.cli import main
from hcpcs_atlas.facts import CodeFacts, FactsBuilder
from hcpcs_atlas.facts.model import Benchmarks
from hcpcs_atlas.render import render_markdown
from hcpcs_atlas.store import Store
from hcpcs_atlas.writer import write_publication

from .helpers import table_counts
from .test_hospital_staging import csv_mode  # noqa: F401  # each test with the C scanner and without

REAL = "hospital_price_transparency/real"
FILES = {
    "University of North Carolina Hospitals at Chapel Hill": f"{REAL}/unc-hospitals_standardcharges.csv.gz",
    "University of Texas MD Anderson Cancer Center": f"{REAL}/md-anderson_standardcharges.csv.gz",
    "The University of Chicago Medical Center": f"{REAL}/uchicago_standardcharges.json.gz",
}
CODES = ("J9032", "J9330")
#: The issue's rule, written out again: letters only, lower case, substring.
PAYER_KEYS = {
    "Aetna": ("aetna",),
    "Cigna": ("cigna", "healthspring", "evernorth"),
    "UnitedHealthcare": ("unitedhealthcare", "unitedhealth", "uhc"),
    "Blue Cross Blue Shield": ("bcbs", "bluecross", "blueshield", "anthem", "healthyblue", "floridablue"),
}


def run(db: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--db", str(db), *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def hospital_db(real_store: Path, shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("hospital") / "atlas.duckdb"
    shutil.copy(real_store, db)
    paths = [str(shared_data / f) for f in FILES.values()]
    code, out, err = run(db, "ingest", "hospital", *paths, "--codes", ",".join(CODES))
    assert code == 0, err
    assert out.splitlines() == [
        "unc-hospitals_standardcharges.csv.gz: ingested 140 charges",
        "md-anderson_standardcharges.csv.gz: ingested 675 charges",
        "uchicago_standardcharges.json.gz: ingested 19 charges",
    ]
    return db


@pytest.fixture(scope="module")
def facts(hospital_db: Path) -> dict[str, CodeFacts]:
    with Store(hospital_db, read_only=True) as store:
        builder = FactsBuilder(store)
        return {code: builder.build(code) for code in CODES}


# -- the independent side -----------------------------------------------------------------------------


def _payer(name: str) -> str:
    letters = re.sub("[^a-z]", "", name.lower())
    return next(
        (p for p, keys in PAYER_KEYS.items() if any(k in letters for k in keys)), " ".join(name.split())
    )


def _csv(path: Path) -> list[list[str]]:
    with gzip.open(path, "rt", encoding="utf-8-sig", errors="replace", newline="") as fh:
        return list(csv.reader(fh))


def _num(text: str) -> float | None:
    return float(text) if text.strip() else None


def _observations(shared_data: Path, code: str) -> set[tuple[Any, ...]]:
    """(hospital, payer as written, plan, billing_class, setting, modifiers, dollar), distinct."""
    found: set[tuple[Any, ...]] = set()
    for hospital, name in FILES.items():
        path = shared_data / name
        if name.endswith(".json.gz"):
            with gzip.open(path) as fh:
                doc = json.load(fh)
            for item in doc["standard_charge_information"]:
                if code in {c["code"] for c in item["code_information"]}:
                    for sc in item["standard_charges"]:
                        for p in sc.get("payers_information") or []:
                            if p.get("standard_charge_dollar") is not None:
                                found.add((hospital, p["payer_name"], p["plan_name"], sc.get("billing_class"),
                                           sc.get("setting"), (), float(p["standard_charge_dollar"])))  # fmt: skip
            continue
        rows = _csv(path)
        header = [re.sub(r"\s*\|\s*", "|", h.strip()) for h in rows[2]]
        col = {h.lower(): i for i, h in enumerate(header)}
        codes = [i for i, h in enumerate(header) if re.fullmatch(r"code\|\d+", h)]
        for row in rows[3:]:
            if code not in {row[i] for i in codes}:
                continue
            base = (hospital,)
            rest = (row[col["billing_class"]] or None, row[col["setting"]] or None,
                    tuple(sorted(m for m in row[col["modifiers"]].split("|") if m)))  # fmt: skip
            if "payer_name" in col:
                dollar = _num(row[col["standard_charge|negotiated_dollar"]])
                if dollar is not None:
                    found.add((*base, row[col["payer_name"]], row[col["plan_name"]] or None, *rest, dollar))
                continue
            for i, h in enumerate(header):
                parts = h.split("|")
                if len(parts) == 4 and parts[3] == "negotiated_dollar" and row[i]:
                    found.add((*base, parts[1], parts[2], *rest, float(row[i])))
    return found


def _numpy_benchmarks(values: list[float]) -> dict[str, float]:
    v = np.array(sorted(values))
    p10, p25, p50, p75, p90 = np.percentile(v, [10, 25, 50, 75, 90])
    return {"n_rates": len(v), "min": v.min(), "p10": p10, "p25": p25, "median": p50, "p75": p75, "p90": p90,
            "max": v.max()}  # fmt: skip


def _same(b: Benchmarks | None, expected: dict[str, float]) -> None:
    assert b is not None
    assert b.n_rates == expected["n_rates"]
    for key in ("min", "p10", "p25", "median", "p75", "p90", "max"):
        assert getattr(b, key) == pytest.approx(expected[key], abs=1e-9, rel=0), key


# -- figures ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", CODES)
def test_hospital_rates_match_an_independent_computation(
    facts: dict[str, CodeFacts], shared_data: Path, code: str
) -> None:
    f = facts[code]
    asp = f.medicare.asp
    assert asp is not None and asp.payment_limit is not None
    limit = asp.payment_limit
    by_payer: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for obs in _observations(shared_data, code):
        by_payer[_payer(obs[1])].append(obs)
    got = {p.payer: p for p in f.hospital_rates}
    assert set(got) == set(by_payer)
    for payer, observations in by_payer.items():
        counted = [o for o in observations if 0.05 <= o[-1] / limit <= 20]
        p = got[payer]
        assert p.n_suspect == len(observations) - len(counted) == len(p.suspects), payer
        assert p.n_hospitals == len({o[0] for o in counted}), payer
        if not counted:
            assert p.benchmarks is None and p.pct_of_medicare_median is None
            continue
        expected = _numpy_benchmarks([o[-1] for o in counted])
        _same(p.benchmarks, expected)
        assert p.pct_of_medicare_median == pytest.approx(expected["median"] / limit * 100, abs=1e-9, rel=0)
        by_hospital = {b.group: b for b in p.by_hospital}
        assert set(by_hospital) == {o[0] for o in counted}
        for hospital, b in by_hospital.items():
            _same(b.benchmarks, _numpy_benchmarks([o[-1] for o in counted if o[0] == hospital]))
        assert sum(b.benchmarks.n_rates for b in p.by_segment) == len(counted)
        plans = {f"{o[1]}: {o[2]}" for o in counted}
        assert {b.group for b in p.by_plan} == plans


def test_j9032_figures(facts: dict[str, CodeFacts]) -> None:
    """What the record says for J9032 (ASP limit 52.474 per 10 mg), pinned."""
    rates = {p.payer: p for p in facts["J9032"].hospital_rates}
    assert list(rates)[:4] == ["Aetna", "Blue Cross Blue Shield", "Cigna", "UnitedHealthcare"]
    aetna = rates["Aetna"]
    assert aetna.benchmarks is not None
    assert (aetna.benchmarks.n_rates, aetna.benchmarks.min, aetna.benchmarks.median, aetna.benchmarks.max) == (
        3, 52.47, 55.62, 96.27)  # fmt: skip
    assert aetna.n_hospitals == 2 and aetna.n_suspect == 6
    per_package = [s for s in aetna.suspects if s.reason.startswith("per package?")]
    assert per_package and per_package[0].ndc == "72893-0002-01"
    assert "holds 50 billing units" in per_package[0].reason
    segments = {b.group: b.benchmarks.n_rates for b in rates["UnitedHealthcare"].by_segment}
    assert segments == {"Commercial": 2, "Exchange": 1, "Medicare Advantage": 1}
    charges = facts["J9032"].hospital_charges
    assert charges is not None and charges.gross is not None
    assert (charges.gross.n_rates, charges.gross.median, charges.n_hospitals) == (1, 325.92, 1)


def test_provenance_and_publication(facts: dict[str, CodeFacts]) -> None:
    f = facts["J9330"]
    files = sorted(p.file_name for p in f.provenance if p.source == "hospital")
    assert files == sorted(Path(n).name for n in FILES.values())
    md = render_markdown(write_publication(f))
    assert "### Hospital-reported negotiated rates" in md
    assert "Hospital price files (3) report" in md
    assert "(hospital files)" in md and "Medicare ASP limit" in md
    for name in files:
        assert name in md
    assert "Hospital price file (45 CFR 180.50)" in md


#: Where each file says its hospital is (address, then ZIP) and its type 2 NPIs, as the files write them.
PLACES = {
    "University of North Carolina Hospitals at Chapel Hill": ("NC", {1932208576, 1427142355}),
    "University of Texas MD Anderson Cancer Center": ("TX", {1174582050, 1073574810}),
    "The University of Chicago Medical Center": (
        "IL",
        {1033218128, 1508956509, 1891954418, 1093894990, 1780736850},
    ),
}


@pytest.mark.parametrize("code", CODES)
def test_hospitals_feed_provider_states(facts: dict[str, CodeFacts], shared_data: Path, code: str) -> None:
    """Every payer's counted hospital rate is placed at its hospital's state (from the address), once."""
    asp = facts[code].medicare.asp
    assert asp is not None and asp.payment_limit is not None
    counted = [o for o in _observations(shared_data, code) if 0.05 <= o[-1] / asp.payment_limit <= 20]
    states = {s.state: s for s in facts[code].providers.states}
    expected = {PLACES[h][0] for h in {o[0] for o in counted}}
    assert set(states) == expected
    for state in expected:
        values = [o[-1] for o in counted if PLACES[o[0]][0] == state]
        assert (states[state].n_hospitals, states[state].n_npis) == (1, 0)
        _same(states[state].benchmarks, _numpy_benchmarks(values))


def test_hospital_npis_feed_taxonomies(hospital_db: Path, tmp_path: Path) -> None:
    """Type 2 NPIs of the hospitals with counted rates are the code's billing NPIs; NPPES names their
    taxonomy; an NPI missing from NPPES is counted, not guessed."""
    from hcpcs_atlas.store.nppes import load_nppes
    from hcpcs_atlas.synth.nppes import NppesProvider, NppesSynthOptions, write_nppes

    db = tmp_path / "copy.duckdb"
    shutil.copy(hospital_db, db)
    unc = NppesProvider(1932208576, "2", ("282N00000X",), 0, "NC", "275140000", "CHAPEL HILL")
    nppes = write_nppes(tmp_path / "npidata.csv", NppesSynthOptions(rows=5, providers=(unc,)))
    with Store(db) as store:
        load_nppes(store, nppes.path)
        p = FactsBuilder(store).build("J9032").providers
    hospitals = {s.state for s in p.states if s.n_hospitals}
    npis = set().union(*(PLACES[h][1] for h in PLACES if PLACES[h][0] in hospitals))
    assert (p.n_npis, p.n_npis_not_in_nppes) == (len(npis), len(npis) - 1)
    assert [(t.taxonomy, t.n_npis, t.share) for t in p.taxonomies] == [("282N00000X", 1, 1.0)]
    nc = next(s for s in p.states if s.state == "NC")
    assert nc.n_npis == 0 and nc.n_hospitals == 1  # the hospital counts once, by its address


def test_reingest_changes_nothing(hospital_db: Path, shared_data: Path, tmp_path: Path) -> None:
    db = tmp_path / "copy.duckdb"
    shutil.copy(hospital_db, db)
    before = table_counts(db)
    code, out, _ = run(db, "ingest", "hospital", str(shared_data / FILES["The University of Chicago Medical Center"]),
                       "--codes", ",".join(CODES))  # fmt: skip
    assert code == 0 and out == "uchicago_standardcharges.json.gz: already ingested; nothing changed\n"
    assert table_counts(db) == before


# -- broken inputs: refused, store unchanged ------------------------------------------------------------


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # the test reads stderr
        pass


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that stops reading a refused file resets the connection: expected


@pytest.fixture()
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "www"
    root.mkdir()
    handler = partial(_Quiet, directory=str(root))
    server = _Server(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()


TALL = ("hospital_name,last_updated_on,version\nTest Hospital,2026-01-01,3.0.0\n"
        "description,code|1,code|1|type,payer_name,plan_name,standard_charge|negotiated_dollar\n")  # fmt: skip


def _broken(shared_data: Path, folder: Path) -> dict[str, bytes]:
    unc = (shared_data / FILES["University of North Carolina Hospitals at Chapel Hill"]).read_bytes()
    with gzip.open(shared_data / FILES["The University of Chicago Medical Center"]) as fh:
        body = fh.read()
    return {
        "truncated.csv.gz": unc[:3_000_000],
        "wrong-width.csv": (TALL + "Drug,J9032,HCPCS,Aetna,PPO,55.09\nDrug,J9032,HCPCS,Aetna\n").encode(),
        "cut-mid-item.json": body[: body.index(b'"J9032"') + 40],
        "page.json": b"<!DOCTYPE html>\n<html><head><title>Price Transparency</title></head></html>\n",
    }


def test_broken_files_are_refused_and_the_store_is_unchanged(
    store_copy: Path, shared_data: Path, tmp_path: Path, served: tuple[str, Path], json_path: str
) -> None:
    base, root = served
    before = table_counts(store_copy)
    for name, body in _broken(shared_data, tmp_path).items():
        (root / name).write_bytes(body)
        (tmp_path / name).write_bytes(body)
        for source in (str(tmp_path / name), f"{base}/{name}"):
            code, out, err = run(store_copy, "ingest", "hospital", source, "--codes", "J9032")
            assert code == 2, (name, out, err)
            first = err.splitlines()[0]
            assert first.startswith(f"error: {source}") and ("row" in first or "byte" in first), first
            assert len(err.splitlines()) == 1  # one file: its own line is the whole story
    assert table_counts(store_copy) == before


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_one_bad_file_does_not_stop_the_others(
    store_copy: Path, shared_data: Path, tmp_path: Path, jobs: str
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(TALL + "Drug,J9032,HCPCS,Aetna\n", encoding="utf-8")
    good = shared_data / "hospital_price_transparency/examples/CSV/Tall/V3.0.0_Tall_CSV_Format_Example.csv"
    code, out, err = run(
        store_copy, "ingest", "hospital", str(bad), str(good), "--codes", "J1450,C1785", "--jobs", jobs
    )
    assert code == 2
    assert f"error: {bad}, row 4: 4 fields, the header has 6" in err
    assert out == "V3.0.0_Tall_CSV_Format_Example.csv: ingested 4 charges\n"
    assert "error: 1 of 2 file(s) failed" in err


def test_a_store_error_fails_its_file_alone_in_one_line(
    store_copy: Path, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store error while a file is committed (disk full, a limit): that file is rolled back and named in
    one line, the others are stored, exit 2; not a traceback that leaves the rest unread."""
    import duckdb

    from hcpcs_atlas.store import hospital

    examples = shared_data / "hospital_price_transparency/examples/CSV"
    tall, wide = (
        examples / "Tall/V3.0.0_Tall_CSV_Format_Example.csv",
        examples / "Wide/V3.0.0_Wide_CSV_Format_Example.csv",
    )
    stored = hospital.store_hospital_file

    def full_for_tall(store: Store, hf: Any, staged: Any) -> int:
        if hf.file_name == tall.name:
            raise duckdb.IOException("Could not write file: No space left on device\nmore detail")
        return stored(store, hf, staged)

    monkeypatch.setattr(hospital, "store_hospital_file", full_for_tall)
    before = table_counts(store_copy)
    code, out, err = run(store_copy, "ingest", "hospital", str(tall), str(wide), "--codes", "J1450,C1785")
    assert code == 2
    assert f"error: {tall}: not stored: Could not write file: No space left on device\n" in err
    assert out.startswith(f"{wide.name}: ingested ")
    after = table_counts(store_copy)
    assert after["core_hospital_files"] == before["core_hospital_files"] + 1


def test_cms_hpt_txt_over_loopback_and_jobs(
    store_copy: Path, shared_data: Path, served: tuple[str, Path]
) -> None:
    base, root = served
    examples = shared_data / "hospital_price_transparency/examples"
    shutil.copy(examples / "CSV/Wide/V3.0.0_Wide_CSV_Format_Example.csv", root / "wide.csv")
    (root / "items.json.gz").write_bytes(
        gzip.compress((examples / "JSON/v3_json_format_example.json").read_bytes())
    )
    (root / "cms-hpt.txt").write_text(
        f"location-name: West Mercy Hospital\nsource-page-url: {base}/\nmrf-url: {base}/wide.csv\n"
        "contact-name: A\ncontact-email: a@example.org\n\n"
        "location-name: West Mercy Surgical Center\nmrf-url: items.json.gz\n",
        encoding="utf-8",
    )  # fmt: skip
    code, out, err = run(
        store_copy, "ingest", "hospital", f"{base}/cms-hpt.txt", "--codes", "J1450,C1785", "--jobs", "2"
    )
    assert code == 0, err
    assert out.splitlines() == ["wide.csv: ingested 4 charges", "items.json.gz: ingested 4 charges"]
    with Store(store_copy, read_only=True) as store:
        assert [f["file_name"] for f in store.files("hospital")] == ["wide.csv", "items.json.gz"]
        facts = FactsBuilder(store).build("J1450")
    rates = {p.payer: p for p in facts.hospital_rates}
    assert set(rates) == {"Platform Health Insurance", "Region Health Insurance"}
