"""The store's bulk path for hospital charges against the reader's own records.

Kept charges are staged as CSV rows (items once, charges per payer) and read back by DuckDB. What is
stored must be exactly what ``read_hospital_file`` builds, record for record: checked on real files and on a file of quirks (odd whitespace, stray quotes,
``$1,055.50``, ``N/A``, a description over two lines, modifiers with spaces, no final line end).
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hcpcs_atlas import accel
from hcpcs_atlas.progress import Progress
from hcpcs_atlas.sources import is_level2
from hcpcs_atlas.sources.hospital import HospitalCharge, read_hospital_file
from hcpcs_atlas.store import Store
from hcpcs_atlas.store.hospital import ingest_hospital

from .helpers import table_counts

HPT = "hospital_price_transparency"
TALL_EXAMPLE = f"{HPT}/examples/CSV/Tall/V3.0.0_Tall_CSV_Format_Example.csv"
WIDE_EXAMPLE = f"{HPT}/examples/CSV/Wide/V3.0.0_Wide_CSV_Format_Example.csv"
JSON_EXAMPLE = f"{HPT}/examples/JSON/v3_json_format_example.json"

_STORED = """
SELECT i.code, i.codes, i.code_types, i.description, i.billing_class, i.setting, i.drug_unit, i.drug_type,
       i.modifiers, i.gross_usd, i.discounted_cash_usd, i.minimum_usd, i.maximum_usd, c.payer_name,
       c.plan_name, c.negotiated_usd, c.negotiated_pct, c.negotiated_algorithm, c.methodology, c.source_row
FROM core_hospital_charges c JOIN core_hospital_items i USING (file_id, item_id)
"""
_ITEMS = """
SELECT code, codes, code_types, description, billing_class, setting, drug_unit, drug_type, modifiers,
       gross_usd, discounted_cash_usd, minimum_usd, maximum_usd FROM core_hospital_items
"""


SCANNER = "hcpcs_atlas.sources.hospital._csvscan"


@pytest.fixture(scope="module", params=["c", "pure"], autouse=True)
def csv_mode(request: pytest.FixtureRequest) -> Iterator[str]:
    """Every test of a module that has this fixture runs with the tall CSV's C scanner (when it is
    built) and with HCPCS_ATLAS_PURE_PYTHON=1: the same results, refusals and messages."""
    with pytest.MonkeyPatch.context() as patch:
        if request.param == "pure":
            patch.setenv(accel.PURE_ENV, "1")
        else:
            patch.delenv(accel.PURE_ENV, raising=False)
        yield str(request.param)


def scanning() -> bool:
    """Whether the C scanner is in use (built, and not switched off)."""
    return accel.load(SCANNER) is not None


def _item(c: HospitalCharge) -> tuple[Any, ...]:
    return (c.code, tuple(code for code, _ in c.codes), tuple(kind for _, kind in c.codes), c.description,
            c.billing_class, c.setting, c.drug_unit, c.drug_type, c.modifiers, c.gross, c.discounted_cash,
            c.minimum, c.maximum)  # fmt: skip


def _charge(c: HospitalCharge) -> tuple[Any, ...]:
    return (*_item(c), c.payer_name, c.plan_name, c.dollar, c.percentage, c.algorithm, c.methodology, c.row)


def _tuples(rows: list[tuple[Any, ...]]) -> Counter[tuple[Any, ...]]:
    return Counter(tuple(tuple(v) if isinstance(v, list) else v for v in row) for row in rows)


def _same_as_the_reader(path: Path, keep: Any, tmp_path: Path) -> int:
    charges = read_hospital_file(path, keep).charges
    with Store(tmp_path / "atlas.duckdb") as store:
        summary = ingest_hospital(store, [str(path)], keep)
        assert not summary.failed, summary.failed
        stored = store.con.execute(_STORED).fetchall()
        items = store.con.execute(_ITEMS).fetchall()
    priced = [
        c for c in charges if c.payer_name or c.dollar is not None or c.percentage is not None or c.algorithm
    ]
    assert _tuples(stored) == Counter(_charge(c) for c in priced)
    assert set(_tuples(items)) == {_item(c) for c in charges}
    return len(charges)


@pytest.mark.parametrize("name", [TALL_EXAMPLE, WIDE_EXAMPLE, JSON_EXAMPLE])
def test_examples_stored_as_read(shared_data: Path, tmp_path: Path, name: str) -> None:
    assert _same_as_the_reader(shared_data / name, lambda code: True, tmp_path) > 0


def test_unc_every_level2_code_stored_as_read(shared_data: Path, tmp_path: Path) -> None:
    path = shared_data / f"{HPT}/real/unc-hospitals_standardcharges.csv.gz"
    assert _same_as_the_reader(path, is_level2, tmp_path) == 125_967


def test_cp1252_file_stored_as_read(shared_data: Path, tmp_path: Path) -> None:
    path = shared_data / f"{HPT}/real/marthas-vineyard_standardcharges.csv"
    assert _same_as_the_reader(path, is_level2, tmp_path) > 0


QUIRKS = (
    "hospital_name,last_updated_on,version\r\nQuirk Hospital,2026-01-01,3.0.0\r\n"
    "description,code|1,code|1|type,code|2,code|2|type,modifiers,standard_charge|gross,payer_name,"
    "plan_name,standard_charge|negotiated_dollar,standard_charge|negotiated_percentage\r\n"
    "Plain,J9032,HCPCS,,,,100,Aetna,PPO,55.09,\r\n"
    '"Comma, quoted",J9032,HCPCS,12345,NDC, JW | JZ ,"$1,055.50",Cigna, HMO ,N/A,\r\n'
    "\tTabbed\u00a0,J9032 ,HCPCS,,,JZ\t|\u2003JW,\u00a0100\u00a0,  Blue  Cross ,\u00a0,1e2,80\r\n"
    'Stray 5" vial,j9330,HCPCS,,,,,UHC,,-,\r\n'
    '"Two\r\nlines",J9330,HCPCS,J9032,HCPCS,,,Optum,Choice, 7.5 ,\r\n'
    "No payer,J9330,HCPCS,,,,42,,,,\r\n"
    "Not kept,99213,CPT,,,,42,Aetna,PPO,1,\r\n"
    "Last,J9330,HCPCS,,,,,Aetna,PPO,0.1,"
)


def test_quirks_stored_as_read(tmp_path: Path) -> None:
    path = tmp_path / "quirks.csv"
    path.write_bytes(QUIRKS.encode())
    assert _same_as_the_reader(path, is_level2, tmp_path) == 8


@pytest.mark.parametrize("keep", ["level2", "all"])
def test_empty_fields_past_the_header_refused_with_the_row(tmp_path: Path, keep: str) -> None:
    """A record with a field more than the header, the extra one empty (DuckDB's reader takes it, fields
    shifted): refused naming the row, with the scanner and without it, keeping Level II codes or all."""
    path = tmp_path / "wider.csv"
    text = QUIRKS.replace(
        "Plain,J9032,HCPCS,,,,100,Aetna,PPO,55.09,", "Plain,,J9032,HCPCS,,,,100,Aetna,PPO,55.09,"
    )
    path.write_bytes(text.encode())
    with Store(tmp_path / "atlas.duckdb") as store:
        summary = ingest_hospital(store, [str(path)], is_level2 if keep == "level2" else lambda code: True)
        assert summary.failed == [f"{path}, row 4: 12 fields, the header has 11"]
        assert store.con.execute("SELECT count(*) FROM core_hospital_charges").fetchone() == (0,)


def test_amount_not_a_number_is_refused_with_row_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(QUIRKS.replace("0.1,", "0.1,about 5").encode())
    db = tmp_path / "atlas.duckdb"
    Store(db).close()
    before = table_counts(db)
    with Store(db) as store:
        summary = ingest_hospital(store, [str(path)], is_level2)
    assert summary.failed == [f"{path}, row 12, column 'percentage': not a number: 'about 5'"]
    assert table_counts(db) == before


def test_progress_over_all_workers(shared_data: Path, tmp_path: Path) -> None:
    """``--jobs 2``: one bar, files done of all, bytes of every worker added up."""
    paths = [shared_data / name for name in (TALL_EXAMPLE, WIDE_EXAMPLE, JSON_EXAMPLE)]
    bars: list[Progress] = []

    def progress(label: str, total: int | None) -> Progress:
        bars.append(Progress(label, total, stream=io.StringIO()))
        return bars[-1]

    with Store(tmp_path / "atlas.duckdb") as store:
        summary = ingest_hospital(store, [str(p) for p in paths], is_level2, progress, jobs=2)
    assert not summary.failed and len(summary.ingested) == 3
    (bar,) = bars
    total = sum(p.stat().st_size for p in paths)
    assert (bar.label, bar.total_bytes, bar.bytes) == ("3/3 files", total, total)
    assert bar.kept == sum(n for _, n in summary.ingested)


def test_jobs_with_a_keep_that_cannot_pickle_is_refused_not_hung(shared_data: Path, tmp_path: Path) -> None:
    """Worker processes get ``keep`` by pickling: a lambda is refused at once, before any file is read."""
    from hcpcs_atlas.store.hospital import ingest_hospital
    from hcpcs_atlas.store.tic import ingest_tic

    paths = [str(shared_data / JSON_EXAMPLE)] * 2
    with Store(tmp_path / "atlas.duckdb") as store:
        with pytest.raises(ValueError, match="cannot be sent to worker processes"):
            ingest_hospital(store, paths, lambda code: True, jobs=2)
        with pytest.raises(ValueError, match="cannot be sent to worker processes"):
            ingest_tic(store, paths, lambda code: True, jobs=2)
