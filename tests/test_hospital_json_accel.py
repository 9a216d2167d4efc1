"""The C item search of JSON hospital files (``sources/hospital/_jsonitems.c``) against the pure-Python
path: the same charges, items counted, hospital fields, and the same refusals (message, file and byte),
on the real UChicago file, on hostile inputs read whole and in small chunks, and on random mutations."""

from __future__ import annotations

import gzip
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from hcpcs_atlas import accel
from hcpcs_atlas.sources import is_level2
from hcpcs_atlas.sources.hospital import HospitalFile, read_hospital_file
from hcpcs_atlas.sources.hospital.jsonfile import JsonScan
from hcpcs_atlas.sources.tic.scan import HEADROOM

MODULE = "hcpcs_atlas.sources.hospital._jsonitems"
HPT = "hospital_price_transparency"
UCHICAGO = f"{HPT}/real/uchicago_standardcharges.json.gz"
EXAMPLE = f"{HPT}/examples/JSON/v3_json_format_example.json"

pytestmark = pytest.mark.skipif(accel.load(MODULE) is None, reason="the C item search is not built")

Keep = Callable[[str], bool]
KEEPS: dict[str, Keep] = {
    "level2": is_level2,  # the Level II-shaped search
    "codes": frozenset({"J9032", "J9330", "J1450"}).__contains__,  # the --codes search
    "callable": lambda code: code.startswith(("J", "7")),  # every item's codes through Python
}


def _outcome(run: Callable[[], HospitalFile]) -> tuple[Any, ...]:
    try:
        hf = run()
    except Exception as exc:  # any outcome must be the same on both paths
        return ("refused", type(exc).__name__, str(exc))
    fields = (hf.hospital_name, hf.last_updated_on, hf.version, hf.location_names, hf.type_2_npis)
    return ("read", hf.rows_seen, hf.n_charges, hf.charges, fields)


def _both(monkeypatch: pytest.MonkeyPatch, run: Callable[[], HospitalFile]) -> tuple[Any, Any]:
    monkeypatch.delenv(accel.PURE_ENV, raising=False)
    fast = _outcome(run)
    monkeypatch.setenv(accel.PURE_ENV, "1")
    pure = _outcome(run)
    monkeypatch.delenv(accel.PURE_ENV)
    return fast, pure


def _chunked(data: bytes, keep: Keep, size: int) -> Callable[[], HospitalFile]:
    """The reader fed ``size`` bytes at a time (chunk ends fall inside items, keys and strings)."""

    def run() -> HospitalFile:
        into = HospitalFile("doc.json", "doc.json", "", 0, "json", None, None, None)
        scan = JsonScan("doc.json", keep, into)
        for at in range(0, len(data), size):
            scan.feed(bytearray(HEADROOM) + data[at : at + size])
        scan.finish()
        return into

    return run


def _whole(path: Path, data: bytes, keep: Keep) -> Callable[[], HospitalFile]:
    def run() -> HospitalFile:
        path.write_bytes(data)
        return read_hospital_file(path, keep)

    return run


@pytest.fixture(scope="module")
def uchicago(shared_data: Path) -> bytes:
    with gzip.open(shared_data / UCHICAGO) as fh:
        return fh.read()


@pytest.fixture(scope="module")
def items(uchicago: bytes) -> list[bytes]:
    """A few real UChicago items: J9032's and J9330's, and the two before each (other codes)."""
    doc = orjson.loads(uchicago)
    all_items = doc["standard_charge_information"]
    wanted = [i for i, item in enumerate(all_items)
              if {c["code"] for c in item["code_information"]} & {"J9032", "J9330"}]  # fmt: skip
    picked = sorted({j for i in wanted[:4] for j in (i - 2, i - 1, i)})
    return [orjson.dumps(all_items[i]) for i in picked]


def _doc(items: list[bytes], head: bytes = b'{"hospital_name": "H", "version": "3.0.0", ') -> bytes:
    return head + b'"standard_charge_information": [' + b",".join(items) + b'], "modifier_information": []}'


@pytest.mark.parametrize("keep", sorted(KEEPS))
def test_real_file_same_with_and_without_c(
    shared_data: Path, monkeypatch: pytest.MonkeyPatch, keep: str
) -> None:
    fast, pure = _both(monkeypatch, lambda: read_hospital_file(shared_data / UCHICAGO, KEEPS[keep]))
    assert fast[0] == "read" and fast[2] > 10, fast[:3]
    assert fast == pure


def test_cms_example_same_with_and_without_c(shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = (shared_data / EXAMPLE).read_bytes()
    for size in (len(data), 97, 4096):
        fast, pure = _both(monkeypatch, _chunked(data, lambda code: True, size))
        assert fast[0] == "read" and fast == pure


def _hostile(items: list[bytes]) -> dict[str, bytes]:
    kept = next(i for i in items if b'"J9032"' in i)
    other = items[0]
    code = b'"code":"J9032"'
    assert code in kept
    body = kept[kept.index(b'"description"') :]  # the item after its code_information
    pretty = orjson.dumps(orjson.loads(kept), option=orjson.OPT_INDENT_2)
    return {
        "plain": _doc(items),
        "escaped quote in a code": _doc([kept.replace(code, b'"code":"J9032\\""'), other]),
        "escaped backslash": _doc([kept.replace(code, b'"code":"J9032\\\\"'), other]),
        "unicode escape in a code": _doc([kept.replace(code, b'"code":"\\u004a9032"'), other]),
        "unicode escape before the key": _doc([b'{"x":"\\u007b\\"",' + kept[1:], other]),
        "brace in a string before the key": _doc([b'{"x":"{{",' + kept[1:], other]),
        "bracket in the code array": _doc([kept.replace(code, b'"code":"J9032","note":"a]b"'), other]),
        "non-ASCII description": _doc(
            [kept.replace(b'"description":"', b'"description":"\xc3\xa9\xe2\x82\xac'), other]
        ),
        "bad UTF-8 in a kept item": _doc([kept.replace(b'"description":"', b'"description":"\xff'), other]),
        "bad UTF-8 after a kept item": _doc([kept, b'{"x":"\xff\xfe",' + other[1:]]),
        "lone surrogate escape": _doc([kept.replace(b'"description":"', b'"description":"\\ud800'), other]),
        "deep nesting": _doc([kept[:-1] + b',"deep":' + b"[" * 2000 + b"]" * 2000 + b"}", other]),
        "too deep": _doc([kept[:-1] + b',"deep":' + b"[" * 1100 + b"]" * 1100 + b"}", other]),
        "huge numbers": _doc(
            [kept.replace(b'"standard_charge_dollar":', b'"standard_charge_dollar":1e999,"x":'), other]
        ),
        "big integer": _doc(
            [kept.replace(b'"minimum":', b'"minimum":123456789012345678901234567890,"x":'), other]
        ),
        "empty arrays": _doc([b'{"code_information":[],"standard_charges":[]}', kept, b"{}"]),
        "code_information last": _doc(
            [b"{" + body[:-1] + b"," + kept[1 : kept.index(b"]") + 1] + b"}", other]
        ),
        "two code_information keys": _doc(
            [kept[:-1] + b',"code_information":[{"code":"J9330","type":"HCPCS"}]}']
        ),
        "lower-case and padded codes": _doc([kept.replace(code, b'"code":" j9032 "'), other]),
        "pretty-printed": _doc([pretty, other]).replace(b", ", b",\n    "),
        "key as a string value": _doc(
            [kept.replace(b'"description":"', b'"description":"code_information'), other]
        ),
        "not an object in the array": _doc([b'["code_information", 1]', kept]),
        "a key outside any object": b'"code_information": [{"code":"J9032"}]',
        "truncated mid-item": _doc([kept, kept])[: len(_doc([kept])) + 40],
        "cut mid-string": _doc([kept])[: _doc([kept]).index(b'"J9032') + 3],
        "cut before the end": _doc([kept, other])[:-3],
        "trailing garbage": _doc([kept, other]) + b"xx",
        "item is a number": _doc([b"1", kept]),
        "missing comma": _doc([kept + other]),
        "extra comma": _doc([kept, b"", other]),
        "key in capitals": _doc([kept.replace(b'"code_information"', b'"CODE_Information"'), other]),
        "whitespace around the colon": _doc(
            [kept.replace(b'"code_information":', b'"code_information" \n: \t'), other]
        ),
        "not a number": _doc(
            [kept.replace(b'"standard_charge_dollar":', b'"standard_charge_dollar":"abc","x":'), other]
        ),
    }


@pytest.mark.parametrize("keep", sorted(KEEPS))
def test_hostile_inputs_same_with_and_without_c(
    items: list[bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keep: str
) -> None:
    refused = 0
    for name, data in _hostile(items).items():
        runs = [_whole(tmp_path / "doc.json", data, KEEPS[keep])]
        runs += [_chunked(data, KEEPS[keep], size) for size in (len(data), 1000, 4500)]
        for run in runs:
            fast, pure = _both(monkeypatch, run)
            assert fast == pure, name
        refused += fast[0] == "refused"
    assert refused >= 5  # the hostile cases do reach refusals


def test_big_document_with_a_bad_item_far_in(
    items: list[bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over 4 MB with the damage near the end: many chunks of the stream before it."""
    kept = next(i for i in items if b'"J9032"' in i)
    filler = items * (5_000_000 // sum(len(i) for i in items) + 1)
    for tail in (kept, kept.replace(b'"description":"', b'"description":"\xff'), kept[:-1]):
        data = _doc([*filler, tail, items[0]])
        fast, pure = _both(monkeypatch, _whole(tmp_path / "big.json", data, is_level2))
        assert fast == pure


def test_random_mutations_same_with_and_without_c(
    items: list[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A few hundred random edits of a real document (fixed seed): deleted, inserted, repeated bytes."""
    rng = random.Random(8)
    base = _doc(items[:4])
    alphabet = b'"{}[]\\,: \n0123456789JjeE.-+u\xc3\xa9\xff'
    outcomes = set()
    for case in range(300):
        data = bytearray(base)
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(data))
            edit = rng.randrange(3)
            if edit == 0:
                del data[at : at + rng.randint(1, 3)]
            elif edit == 1:
                data[at:at] = bytes(rng.choice(alphabet) for _ in range(rng.randint(1, 2)))
            else:
                data[at:at] = data[at : at + rng.randint(1, 40)]
        keep = KEEPS[sorted(KEEPS)[case % 3]]
        size = rng.choice((len(data), 700, 3000))
        fast, pure = _both(monkeypatch, _chunked(bytes(data), keep, size))
        assert fast == pure, (case, bytes(data))
        outcomes.add(fast[0])
    assert outcomes == {"read", "refused"}


def _c_parts() -> Callable[[Any], Any]:
    module = accel.load(MODULE)
    assert module is not None
    parts: Callable[[Any], Any] = module.item_parts
    return parts


def _typed(parts: Any) -> Any:
    """Parts with each value's type beside it: 5 and 5.0 are equal, the staging's columns are not."""
    if isinstance(parts, (list, tuple)):
        return type(parts).__name__, [_typed(p) for p in parts]
    return type(parts).__name__, parts


def test_item_parts_in_c_are_python_s_on_every_real_item(uchicago: bytes) -> None:
    from hcpcs_atlas.sources.hospital.jsonfile import item_parts

    c_parts, declined = _c_parts(), 0
    for item in orjson.loads(uchicago)["standard_charge_information"]:
        fast = c_parts(item)
        if fast is None:
            declined += 1  # not C's common case (modifiers): Python's rules run
            continue
        assert _typed(fast) == _typed(item_parts(item))
    assert declined < 10


@pytest.mark.parametrize(
    "edit",
    [
        {"description": "  padded\u00a0"},
        {"description": " "},
        {"description": None},
        {"description": 5},
        {"description": ["a"]},
        {"code_information": []},
        {"code_information": None},
        {"code_information": {"code": "J9032"}},
        {"code_information": "J9032"},
        {
            "code_information": [
                {"code": " J9032 ", "type": "HCPCS "},
                {"code": ""},
                {"code": None},
                {"type": "x"},
            ]
        },
        {"code_information": [{"code": "J9032"}]},
        {"code_information": [{"code": "J9032", "type": None}]},
        {"code_information": [{"code": 9032, "type": "HCPCS"}]},
        {"code_information": [{"code": 0, "type": "HCPCS"}]},
        {"code_information": [{"code": False}]},
        {"code_information": ["J9032"]},
        {"drug_information": {"unit": 2, "type": " ML "}},
        {"drug_information": {"unit": "2", "type": "ML"}},
        {"drug_information": {"unit": "", "type": ""}},
        {"drug_information": {"unit": True}},
        {"drug_information": {"unit": 10**400}},
        {"drug_information": []},
        {"drug_information": [1]},
        {"drug_information": "x"},
        {"drug_information": None},
        {"standard_charges": []},
        {"standard_charges": None},
        {"standard_charges": {"a": 1}},
        {"standard_charges": [1]},
        {"standard_charges": [{}]},
        {"standard_charges": [{"payers_information": []}]},
        {"standard_charges": [{"payers_information": [{}]}]},
        {"standard_charges": [{"payers_information": [1]}]},
        {"standard_charges": [{"payers_information": "Aetna"}]},
        {
            "standard_charges": [
                {"gross_charge": 5, "discounted_cash": "$1,200.50", "minimum": None, "maximum": ""}
            ]
        },
        {"standard_charges": [{"gross_charge": "abc"}]},
        {"standard_charges": [{"gross_charge": False}]},
        {"standard_charges": [{"gross_charge": 12345678901234567890123}]},
        {"standard_charges": [{"billing_class": " facility ", "setting": "", "modifier_code": []}]},
        {"standard_charges": [{"billing_class": 1, "setting": None}]},
        {"standard_charges": [{"modifier_code": ["JZ", " 59"]}]},
        {"standard_charges": [{"modifier_code": "JZ|59"}]},
        {"standard_charges": [{"modifier_code": 0}]},
        {
            "standard_charges": [
                {"payers_information": [{"payer_name": " Aetna\t", "plan_name": "", "methodology": 3}]}
            ]
        },
        {"standard_charges": [{"payers_information": [{"payer_name": None, "standard_charge_dollar": 7}]}]},
        {
            "standard_charges": [
                {"payers_information": [{"standard_charge_dollar": "7.5", "standard_charge_percentage": 80}]}
            ]
        },
        {"standard_charges": [{"payers_information": [{"standard_charge_algorithm": " see notes "}]}]},
        {"standard_charges": [{"payers_information": [{"standard_charge_algorithm": ""}]}]},
        {"standard_charges": [{"payers_information": [{"standard_charge_algorithm": {"a": 1}}]}]},
        {"standard_charges": [{"payers_information": [{"payer_name": "\u2003Cigna\u2003"}]}]},
    ],
)
def test_item_parts_in_c_are_python_s_or_declined(edit: dict[str, Any]) -> None:
    """Each field's odd values: C gives exactly Python's parts or declines (None), never other parts;
    where Python refuses, C declines and Python's error is what the reader reports."""
    from hcpcs_atlas.sources.hospital.jsonfile import item_parts

    item: dict[str, Any] = {"code_information": [{"code": "J9032", "type": "HCPCS"}], "description": "Drug",
                            "standard_charges": [{"gross_charge": 1.5, "payers_information": [
                                {"payer_name": "Aetna", "plan_name": "PPO", "standard_charge_dollar": 2.5}]}]}  # fmt: skip
    item.update(edit)
    try:
        expected: Any = _typed(item_parts(item))
    except (TypeError, ValueError, AttributeError, OverflowError) as exc:
        expected = exc
    fast = _c_parts()(item)
    if isinstance(expected, Exception):
        assert fast is None, expected
    elif fast is not None:
        assert _typed(fast) == expected
