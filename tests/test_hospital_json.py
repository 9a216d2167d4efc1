"""A JSON hospital file's kept items parsed by DuckDB (store/hospital_json.py) against the orjson path.

What is stored must be exactly what ``read_hospital_file`` builds, record for record (amounts to the bit);
anything the bulk path cannot match gives way to the orjson path, which reads or refuses the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from hcpcs_atlas.sources import is_level2
from hcpcs_atlas.sources.hospital.jsonfile import pipe_json
from hcpcs_atlas.store import Store
from hcpcs_atlas.store.hospital import ingest_hospital
from hcpcs_atlas.store.hospital_json import JsonLoader

from .helpers import table_counts
from .test_hospital_staging import HPT, JSON_EXAMPLE, _same_as_the_reader

UCHICAGO = f"{HPT}/real/uchicago_standardcharges.json.gz"


def _bulk(path: Path, keep: Any, folder: Path) -> int | None:
    """The charges the bulk path kept, or None when it gave way."""
    folder.mkdir(exist_ok=True)
    with JsonLoader(folder) as loader:
        hf = pipe_json(path, keep, loader, folder)
    return None if hf is None else hf.n_charges


def _item(codes: list[Any], charges: list[Any], **more: Any) -> dict[str, Any]:
    return {"description": "x", "code_information": codes, "standard_charges": charges, **more}


def _file(tmp_path: Path, items: list[Any], pretty: bool = False) -> Path:
    doc = {"hospital_name": "Quirk Hospital", "last_updated_on": "2026-01-01", "version": "3.0.0",
           "standard_charge_information": items}  # fmt: skip
    path = tmp_path / "quirks.json"
    path.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2 if pretty else 0))
    return path


J9032 = {"code": "J9032", "type": "HCPCS"}
QUIRKS = [
    _item(
        [J9032, {"code": " 00069-0123-01 ", "type": "NDC"}],
        [
            {
                "setting": " outpatient\u00a0",
                "billing_class": "facility",
                "gross_charge": "$1,055.50",
                "discounted_cash": " 7.5 ",
                "modifier_code": [" JZ", "JW\t", ""],
                "payers_information": [
                    {
                        "payer_name": "  Blue  Cross ",
                        "plan_name": " HMO ",
                        "standard_charge_dollar": 55.09,
                        "methodology": "fee schedule",
                    },
                    {
                        "payer_name": "Aetna",
                        "plan_name": "PPO",
                        "standard_charge_percentage": 80,
                        "standard_charge_algorithm": "  ",
                        "methodology": "other",
                    },
                    {"payer_name": "UHC", "standard_charge_dollar": "1e2", "methodology": "case rate"},
                ],
            }
        ],
        drug_information={"unit": "2", "type": "ML"},
    ),
    _item(
        [{"code": "j9330 ", "type": None}, {"code": "", "type": "CDM"}, {"code": 636, "type": "RC"}],
        [{"setting": "both", "gross_charge": 0.1, "minimum": 1, "maximum": 12345.678901234567}],
    ),
    _item([{"code": "99213", "type": "CPT"}], [{"setting": "both", "gross_charge": 42}]),
    _item([J9032], []),
    _item(
        [J9032, {"code": "J9330", "type": "HCPCS"}],
        [
            {
                "setting": "inpatient",
                "payers_information": [
                    {
                        "payer_name": "Cigna",
                        "plan_name": "Open Access",
                        "standard_charge_dollar": 0.30000000000000004,
                        "methodology": "fee schedule",
                    }
                ],
            },
            {"setting": "outpatient", "payers_information": []},
        ],
    ),
    _item([J9032], [{"setting": "both", "gross_charge": 100}]),  # the same item again: stored once
]


@pytest.mark.parametrize("pretty", [False, True])
def test_quirks_stored_as_read(tmp_path: Path, pretty: bool) -> None:
    path = _file(tmp_path, QUIRKS + QUIRKS, pretty)
    assert _bulk(path, is_level2, tmp_path / "bulk") == _same_as_the_reader(path, is_level2, tmp_path) == 18


def test_uchicago_every_level2_code_stored_as_read(shared_data: Path, tmp_path: Path) -> None:
    path = shared_data / UCHICAGO
    assert (
        _bulk(path, is_level2, tmp_path / "bulk") == _same_as_the_reader(path, is_level2, tmp_path) == 26_634
    )


def test_cms_example_stored_as_read(shared_data: Path, tmp_path: Path) -> None:
    path = shared_data / JSON_EXAMPLE
    keep = lambda code: True  # noqa: E731
    assert _bulk(path, keep, tmp_path / "bulk") == _same_as_the_reader(path, keep, tmp_path) > 0


_LAST = b'"setting":"both","gross_charge":100'


@pytest.mark.parametrize(
    "new",
    [
        b'"setting":"both","setting":"inpatient","gross_charge":100',  # duplicate keys: orjson keeps the last
        b'"setting":"both","modifier_code":"JZ","gross_charge":100',  # a string where a list is due
    ],
)
def test_what_duckdb_reads_otherwise_gives_way(tmp_path: Path, new: bytes) -> None:
    path = _file(tmp_path, QUIRKS)
    path.write_bytes(path.read_bytes().replace(_LAST, new))
    assert _bulk(path, is_level2, tmp_path / "bulk") is None
    assert _same_as_the_reader(path, is_level2, tmp_path) == 9


def test_key_order_where_the_hint_misses(tmp_path: Path) -> None:
    """``drug_information`` before ``code_information``: the last ``{`` before the next item's key is
    not the item's start; such items are parsed by orjson, the file stored as read."""
    items = [{"drug_information": {"unit": 1, "type": "ML"}, **item} for item in QUIRKS]
    path = _file(tmp_path, items)
    assert _bulk(path, is_level2, tmp_path / "bulk") == _same_as_the_reader(path, is_level2, tmp_path) == 9


def test_amount_not_a_number_is_refused_with_the_items_byte(tmp_path: Path) -> None:
    bad = _item([J9032], [{"setting": "both", "gross_charge": "about 5"}])
    path = _file(tmp_path, [*QUIRKS, bad])
    db = tmp_path / "atlas.duckdb"
    Store(db).close()
    before = table_counts(db)
    with Store(db) as store:
        summary = ingest_hospital(store, [str(path)], is_level2)
    at = path.read_bytes().rindex(b'{"description"')
    assert summary.failed == [f"{path}, byte {at}: an item: gross_charge is not a number: 'about 5'"]
    assert table_counts(db) == before
    assert not list((tmp_path).glob("**/items-*.ndjson"))
