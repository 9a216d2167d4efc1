"""The real payer files (MANIFEST §12) through the default ingest path, checked against plain ``json``."""

from __future__ import annotations

import gzip
import json
import re
import urllib.error
import urllib.request
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from hcpcs_atlas.cli import main
from hcpcs_atlas.store import Store

#: every test twice: with the C accelerator and in pure Python (conftest.tic_path)
pytestmark = pytest.mark.usefixtures("tic_path")

HEALTHSCOPE = "tic/real/healthscope-benefits_in-network-rates_2023-02-01.json.gz"
CAREFIRST = "tic/real/carefirst-bcbs_in-network-rates_2020-08-27.json.gz"


def run(db: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--db", str(db), *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def offline(*args: object, **kwargs: object) -> None:
    """urlopen in tests: the references' remote locations are unreachable (and tests stay offline)."""
    raise urllib.error.URLError("offline")


def test_healthscope_default_codes_equal_an_independent_count(shared_data: Path, store_copy: Path) -> None:
    """Every Level II code of the store: rows, rates summed and TINs per code equal a json + numpy pass."""
    with Store(store_copy, read_only=True) as store:
        level2 = store.distinct_codes("hcpcs")
    with gzip.open(shared_data / HEALTHSCOPE, "rt", encoding="utf-8") as fh:
        doc = json.load(fh)
    groups = {ref["provider_group_id"]: ref["provider_groups"] for ref in doc["provider_references"]}
    rates: dict[str, list[float]] = defaultdict(list)
    tins: dict[str, set[str]] = defaultdict(set)
    for item in doc["in_network"]:
        code = item["billing_code"].strip().upper()
        if item["billing_code_type"] not in ("HCPCS", "CPT") or code not in level2:
            continue
        for rate in item["negotiated_rates"]:
            providers = [g for ref in rate["provider_references"] for g in groups[ref]]
            for price in rate["negotiated_prices"]:
                rates[code].extend([price["negotiated_rate"]] * len(providers))
                tins[code].update(g["tin"]["value"] for g in providers)
    code, out, err = run(store_copy, "ingest", "tic", str(shared_data / HEALTHSCOPE))
    assert code == 0, err
    expected_rows = sum(len(v) for v in rates.values())
    assert out == f"{Path(HEALTHSCOPE).name}: ingested {expected_rows:,} rate rows\n"
    with Store(store_copy, read_only=True) as store:
        stored = store.con.execute(
            "SELECT billing_code, list(negotiated_rate), list(DISTINCT tin_value) FROM core_tic_rates GROUP BY 1"
        ).fetchall()
    assert {c for c, _, _ in stored} == set(rates)
    for c, values, tin_values in stored:
        assert len(values) == len(rates[c])
        assert np.sum(np.sort(np.array(values))) == np.sum(np.sort(np.array(rates[c])))
        assert set(tin_values) == tins[c]
    assert expected_rows == 62_176 and len(rates) > 600


def test_carefirst_unreachable_references_keep_rates_with_tin_unknown(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """99213 is not in the file (nothing kept, nothing fetched); 30560's 71 rates each use one remote
    reference: offline, all 71 rows are kept with their group id, TIN and NPIs unknown, and counted."""

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    db = tmp_path / "atlas.duckdb"
    code, out, err = run(db, "ingest", "tic", str(shared_data / CAREFIRST), "--codes", "99213,30560")
    assert code == 0, err
    assert out == f"{Path(CAREFIRST).name}: ingested 71 rate rows\n"
    assert err == (
        "warning: 71 remote provider reference(s) could not be fetched; 71 rate row(s) kept with their "
        "provider_group_id, TIN and NPIs unknown (counted in benchmarks, not in provider or TIN counts)\n"
    )
    with Store(db, read_only=True) as store:
        rows = store.con.execute(
            "SELECT billing_code, count(*), count(tin_value), count(DISTINCT provider_group_id) "
            "FROM core_tic_rates GROUP BY 1"
        ).fetchall()
    assert rows == [("30560", 71, 0, 71)]


def test_carefirst_codes_added_later_count_only_their_own_unknown_providers(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file again for one more code adds that code's rows: the warning counts the rows it adds
    without a provider (43235: 72 prices, each of one unreachable reference), not those stored before."""

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    db = tmp_path / "atlas.duckdb"
    assert run(db, "ingest", "tic", str(shared_data / CAREFIRST), "--codes", "30560")[0] == 0
    code, out, err = run(db, "ingest", "tic", str(shared_data / CAREFIRST), "--codes", "30560,43235")
    assert code == 0, err
    assert out == f"{Path(CAREFIRST).name} (codes not kept before): ingested 72 rate rows\n"
    assert "; 72 rate row(s) kept with their provider_group_id, TIN and NPIs unknown" in err
    with Store(db, read_only=True) as store:
        rows = store.con.execute(
            "SELECT billing_code, count(*), count(tin_value) FROM core_tic_rates GROUP BY 1 ORDER BY 1"
        ).fetchall()
    assert rows == [("30560", 71, 0), ("43235", 72, 0)]


def test_carefirst_group_ids_stored_as_written(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ids like 690.64462 stay text as written: never rounded, never merged with a neighbour."""
    monkeypatch.setattr(urllib.request, "urlopen", offline)
    raw = gzip.decompress((shared_data / CAREFIRST).read_bytes())
    items = raw[raw.index(b'"in_network"') :]
    written = {t.decode() for m in re.finditer(rb'"provider_references":\s*\[([^\]]*)\]', items)
               for t in re.findall(rb"[^\s,]+", m.group(1))}  # fmt: skip
    codes = sorted({c.decode() for c in re.findall(rb'"billing_code":\s*"([^"]+)"', items)})
    db = tmp_path / "atlas.duckdb"
    code, _, err = run(db, "ingest", "tic", str(shared_data / CAREFIRST), "--codes", ",".join(codes))
    assert code == 0, err
    with Store(db, read_only=True) as store:
        stored = {
            r[0]
            for r in store.con.execute("SELECT DISTINCT provider_group_id FROM core_tic_rates").fetchall()
        }
    assert stored == written and len(written) == 74 and "690.65570" in stored  # a trailing zero kept
    assert "690.64462" in re.findall(r"690\.6446\d+", raw.decode()) and "690.64466" in raw.decode()
