"""The TiC C accelerator (sources/tic/_flatten.c) gives what msgspec's typed decoder gives, item by item.

Two collectors, one with the accelerator and one without, are fed the same item bytes: real items, hostile
variants and random mutations of a real item. Each item's outcome (kept, not kept, dict path) and, at
the end, the staged files and the collectors' provider sets and lists must be identical.
"""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from hcpcs_atlas.errors import InputError
from hcpcs_atlas.sources import is_level2
from hcpcs_atlas.sources.tic import columns
from hcpcs_atlas.sources.tic.columns import ColumnCollector
from hcpcs_atlas.sources.tic.model import StagedRates
from hcpcs_atlas.sources.tic.scan import HEADROOM, ObjectFinder, hinted_end

FLATTEN = columns._FLATTEN
pytestmark = pytest.mark.skipif(FLATTEN is None, reason="the TiC accelerator is not built")
HEALTHSCOPE = Path("tic/real/healthscope-benefits_in-network-rates_2023-02-01.json.gz")


def items_of(data: bytes, limit: int = 10**9) -> list[bytes]:
    """The in_network items' bytes as the scanner hands them over (to the end hint)."""
    found: list[bytes] = []

    def divert(buf: bytearray, start: int, hint: int) -> int:
        end = hinted_end(buf, start, hint)
        found.append(bytes(buf[start:end]))
        return end

    finder = ObjectFinder("t", b'"billing_code"', None, lambda obj, start, raw: found.append(bytes(raw)))
    finder.divert = divert
    at = data.find(b'"in_network"')
    finder.feed(bytearray(HEADROOM) + data[at:limit], HEADROOM)
    return [item for item in found if b'"negotiated_rates"' in item]


class Pair:
    """An accelerated and a pure collector fed alike."""

    def __init__(self, folder: Path, keep: Any = is_level2) -> None:
        self.accel = self._collector(folder / "accel", keep)
        saved = columns._FLATTEN
        columns._FLATTEN = None
        try:
            self.pure = self._collector(folder / "pure", keep)
        finally:
            columns._FLATTEN = saved
        assert self.accel._batch is not None and self.pure._batch is None

    @staticmethod
    def _collector(folder: Path, keep: Any) -> ColumnCollector:
        folder.mkdir(parents=True)
        return ColumnCollector(keep, StagedRates(folder))

    def feed(self, data: bytes) -> bool | str:
        outcome = self._outcome(self.accel, data)
        assert outcome == self._outcome(self.pure, data), data[:300]
        return outcome

    @staticmethod
    def _outcome(collector: ColumnCollector, data: bytes) -> bool | str:
        try:
            return collector.decoded(data)
        except RecursionError as exc:  # msgspec's own limit (2,000 levels), with or without the accelerator
            return repr(exc)

    def check(self) -> None:
        for collector in (self.accel, self.pure):
            collector.finish({})
        a, p = self.accel, self.pure
        assert (a.kept, a.prices_skipped, dict(a.skipped_by)) == (
            p.kept,
            p.prices_skipped,
            dict(p.skipped_by),
        )
        assert (a._psets, a._inline, a._pset_prices, a._lists) == (
            p._psets,
            p._inline,
            p._pset_prices,
            p._lists,
        )
        assert a.wanted_ids == p.wanted_ids
        assert a.staged.rows == p.staged.rows
        for name in ("prices.parquet", "providers.parquet", "lists.parquet"):
            left = pq.read_table(a.staged.directory / name)
            assert left.equals(pq.read_table(p.staged.directory / name)), name


def test_real_items_agree_and_most_take_the_accelerator(shared_data: Path, tmp_path: Path) -> None:
    data = gzip.decompress((shared_data / HEALTHSCOPE).read_bytes())
    items = items_of(data, 12 << 20)
    assert len(items) > 1000
    pair = Pair(tmp_path, keep=lambda code: True)
    for item in items:
        assert pair.feed(item) is True
    pair.check()
    assert FLATTEN is not None
    (tmp_path / "probe").mkdir()
    probe = ColumnCollector(lambda code: True, StagedRates(tmp_path / "probe"))
    mine = sum(FLATTEN.keep(item, probe._state, probe) is not None for item in items)
    assert mine >= 0.99 * len(items)  # the plain shape is the real one


def test_synthetic_realistic_items_agree(tmp_path: Path) -> None:
    from hcpcs_atlas.synth import TicSynthOptions, write_in_network

    path = tmp_path / "r.json"
    write_in_network(path, TicSynthOptions(seed=3, size_bytes=3 << 20, profile="realistic"))
    pair = Pair(tmp_path)
    for item in items_of(path.read_bytes()):
        pair.feed(item)
    assert pair.accel.kept > 0
    pair.check()


def _item(**changes: Any) -> dict[str, Any]:
    price = {"negotiated_type": "negotiated", "negotiated_rate": 41.07, "expiration_date": "9999-12-31",
             "service_code": ["11", "22"], "billing_class": "professional", "billing_code_modifier": ["26"],
             "additional_information": "x"}  # fmt: skip
    rate = {
        "provider_references": [690.64462, 77],
        "negotiated_prices": [price, dict(price, service_code=["02"])],
    }
    item = {"negotiation_arrangement": "ffs", "name": "n", "billing_code_type": "HCPCS", "billing_code": "J9032",
            "description": "d", "negotiated_rates": [rate, {"provider_groups": [{"npi": [1], "tin": {"type": "ein",
            "value": "1"}}], "negotiated_prices": [price]}]}  # fmt: skip
    return item | changes


BASE = json.dumps(_item()).encode()
HOSTILE = [
    BASE,
    json.dumps(_item(), indent=2).encode(),  # pretty-printed: raw texts with blanks
    json.dumps(dict(reversed(list(_item().items())))).encode(),  # keys in another order
    BASE[:-1],  # truncated
    BASE[: len(BASE) // 2],  # cut mid-way
    BASE.replace(b'"d"', b'"d'),  # cut mid-string
    BASE.replace(b'"d"', b'"\\"d\\\\"'),  # escapes
    BASE.replace(b'"x"', b'"\\u0041"'),
    BASE.replace(b'"J9032"', b'"J\\u00390032"'),
    BASE.replace(b'"d"', '"é"'.encode()),  # non-ASCII
    BASE.replace(b'"d"', b'"\xff"'),  # bad UTF-8
    BASE.replace(b'"x"', b'"\xc3"'),
    BASE.replace(b'"d"', b"[" * 70 + b"]" * 70),  # deep nesting
    BASE.replace(b'"d"', b"[" * 2000 + b"]" * 2000),
    BASE.replace(b"41.07", b"1e400"),
    BASE.replace(b"41.07", b"123456789012345678901234567890"),
    BASE.replace(b"41.07", b"12345678901234567"),
    BASE.replace(b"41.07", b"0.1000000000000000055511151231257827"),
    *(
        BASE.replace(b"41.07", r)
        for r in (
            b"0.1",
            b"0.3",
            b"123456789012345",
            b"12345678901234.5",
            b"0.000000000000001",
            b"9007199254740993",
            b"999999999999999.9",
            b"0",
            b"0.0",
            b"1.7976931348623157",
            b"5e-324",
        )
    ),
    BASE.replace(b"41.07", b"-0"),
    BASE.replace(b"41.07", b"-0.0"),
    BASE.replace(b"41.07", b"4.107e1"),
    BASE.replace(b"41.07", b"041.07"),
    BASE.replace(b"41.07", b"41."),
    BASE.replace(b"41.07", b'"41.07"'),
    BASE.replace(b"41.07", b"true"),
    BASE.replace(b"41.07", b"null"),
    BASE.replace(b"41.07", b"0"),
    BASE.replace(b"690.64462", b"1e400"),
    BASE.replace(b'["11", "22"]', b"[1e400]"),
    BASE.replace(b'["11", "22"]', b'"11"'),
    BASE.replace(b'["11", "22"]', b"null"),
    BASE.replace(b'["11", "22"]', b"[]"),
    BASE.replace(b'"d"', b"1e400"),
    BASE.replace(b'"J9032"', b"9032"),
    BASE.replace(b'"J9032"', b"null"),
    BASE.replace(b'"HCPCS"', b'"CPT"'),
    BASE.replace(b'"HCPCS"', b'" hcpcs  "'),  # normalized as normalize_code does: strip, upper
    BASE.replace(b'"HCPCS"', b'"Cpt"').replace(b'"J9032"', b'"99213"'),
    BASE.replace(b'"HCPCS"', b'"RC"'),
    BASE.replace(b'"HCPCS"', b"null"),
    BASE.replace(b'"J9032"', b'"  j9032 "'),
    BASE.replace(b'"J9032"', b'"J 9032"'),
    BASE.replace(b'"J9032"', b'"W9032"'),  # not Level II
    BASE.replace(b'"J9032"', b'"J90321"'),
    BASE.replace(b'"J9032"', b'""'),
    BASE.replace(b'"J9032"', b'"A0001"'),
    BASE.replace(b'"negotiation_arrangement": "ffs", ', b""),
    BASE.replace(b'"ffs"', b"null"),
    BASE.replace(
        b'"negotiated_type": "negotiated"', b'"negotiated_type": "negotiated", "negotiated_type": "x"'
    ),
    BASE.replace(b'"name": "n"', b'"name": "n", "name": 1'),
    BASE.replace(b'"negotiated_prices": [{', b'"negotiated_prices": [], "x": [{'),
    BASE.replace(b'"negotiated_prices": [{', b'"negotiated_prices": null, "x": [{'),
    BASE.replace(b'"negotiated_rates": [', b'"negotiated_rates": [null, '),
    BASE.replace(b'"negotiated_rates": [', b'"negotiated_rates": [[], '),
    BASE.replace(b'"negotiated_rates": [', b'"negotiated_rates": [{}, '),
    json.dumps(_item(negotiated_rates=[])).encode(),
    json.dumps(_item(negotiated_rates=None)).encode(),
    BASE + b" ",
    BASE + b"x",
    BASE + b"{}",
    b" " + BASE,
    b"[" + BASE + b"]",
    b"{}",
    b"",
    BASE.replace(b", ", b",\t\r\n "),
    BASE.replace(b": ", b" :"),
    BASE.replace(b'"d"', b'"a\tb"'),  # a raw control character in a string
    BASE.replace(b'"d"', b"tru"),
    BASE.replace(b'"d"', b"nul"),
    BASE.replace(b'"d"', b"{,}"),
    BASE.replace(b'"d"', b"[1,]"),
    BASE.replace(b'"d"', b'{"a" 1}'),
]


KEEPS = [is_level2, {"J9032", "99213"}.__contains__, frozenset({"A0001"}).__contains__, lambda c: c < "K"]


@pytest.mark.parametrize("keep", KEEPS, ids=["level2", "set", "frozenset", "callable"])
def test_hostile_items_agree(tmp_path: Path, keep: Any) -> None:
    pair = Pair(tmp_path, keep)
    for case in HOSTILE:
        pair.feed(case)
    pair.check()


def test_random_mutations_of_a_real_item_agree(tmp_path: Path) -> None:
    """A few hundred mutations (fixed seed): bytes changed, removed or doubled at random places."""
    rng = random.Random(20261130)
    alphabet = b'{}[]",:\\ 0123456789.eE-+ntrufalsx\xc3\xa9\xff\t'
    pair = Pair(tmp_path)
    for _ in range(600):
        data = bytearray(BASE)
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(data))
            kind = rng.random()
            if kind < 0.4:
                data[at] = rng.choice(alphabet)
            elif kind < 0.7:
                del data[at]
            else:
                data[at:at] = data[at : at + rng.randint(1, 12)]
        pair.feed(bytes(data))
    pair.check()


def _finder_run(
    doc: bytes, chunk: int, accelerated: bool, keep: Any
) -> tuple[list[tuple[int, bytes]], int, int]:
    """What an ObjectFinder hands over from ``doc`` fed in chunks, with or without ``_hits``."""
    from hcpcs_atlas.sources.tic import scan
    from hcpcs_atlas.sources.tic.rows import ItemCollector

    got: list[tuple[int, bytes]] = []
    collector = ItemCollector(keep)
    assert collector.code_rule is not None
    finder = ObjectFinder(
        "t", b'"billing_code"', collector.want, lambda o, at, raw: got.append((at, bytes(raw)))
    )
    finder.code_rule = collector.code_rule
    saved = scan._HITS
    scan._HITS = saved if accelerated else None
    try:
        for at in range(0, len(doc), chunk):
            finder.feed(bytearray(HEADROOM) + doc[at : at + chunk], HEADROOM)
        finder.finish()
    except InputError as exc:  # the same error at the same byte
        got.append((-1, str(exc).encode()))
    finally:
        scan._HITS = saved
    return got, finder.last_hit, finder.pos


def _document(items: list[bytes]) -> bytes:
    return b'{"version": "1", "in_network": [' + b", ".join(items) + b"]}"


@pytest.mark.parametrize("keep", [is_level2, {"J9032", "A0001", "99213"}.__contains__], ids=["level2", "set"])
@pytest.mark.parametrize("chunk", [4500, 9000, 1 << 20])
def test_hits_in_c_agree_with_the_regex(tmp_path: Path, chunk: int, keep: Any) -> None:
    from hcpcs_atlas.synth import TicSynthOptions, write_in_network

    path = tmp_path / "r.json"
    write_in_network(path, TicSynthOptions(seed=5, size_bytes=1 << 20, profile="realistic"))
    odd = [
        BASE.replace(b'"J9032"', b'"J\\u00390032"'),  # an escape in the value: read by the regex
        BASE.replace(b'"J9032"', b'"J90\\"32"'),
        BASE.replace(b'"billing_code": "J9032"', b'"billing_code" :\n "J9032"'),
        BASE.replace(b'"billing_code": "J9032"', b'"billing_code": J9032'),
        BASE.replace(b'"billing_code": "J9032"', b'"billing_code":"A0001"'),
        BASE.replace(b'"billing_code": "J9032"', b'"billing_code": " j9032\\t"'),
        BASE.replace(b'"billing_code": "J9032"', b'"billing_code": "J9032\x1f "'),
        BASE.replace(b'"billing_code": "J9032"', '"billing_code": "J9032\u00a0"'.encode()),
        BASE.replace(b'"billing_code": "J9032"', b'"billing_code": 12345'),
        BASE.replace(b'"d"', b'"billing_code"'),  # the key's name as a value
        BASE.replace(b'"d"', b'"x\\"billing_code"'),
        BASE.replace(b'"description": "d"', b'"bundled_codes": [{"billing_code": "J9032"}]'),
        BASE.replace(b'"HCPCS"', b'"CPT"').replace(b'"J9032"', b'"99213"'),
        BASE.replace(b'"name": "n"', b'"name": "a{b"'),  # a brace in a string before the key
        BASE.replace(b'"name": "n"', b'"name": "a\\"{"'),
        BASE.replace(b'"name": "n"', b'"name": ["{"], "x": {"y": "}"}'),
    ]
    plain = [item for item in odd if b": J9032" not in item]  # one bad item stops a document
    for doc in (path.read_bytes(), _document(plain * 40), _document([BASE] * 30 + odd)):
        assert _finder_run(doc, chunk, True, keep) == _finder_run(doc, chunk, False, keep)


def test_rates_of_up_to_17_digits_read_as_msgspec_reads_them(tmp_path: Path) -> None:
    """The C pass converts a rate with CPython's correctly rounded conversion; msgspec must agree."""
    rng = random.Random(17)
    pair = Pair(tmp_path)
    for _ in range(40):
        rates = []
        for _ in range(50):
            digits = str(rng.randint(1, 9)) + "".join(
                rng.choice("0123456789") for _ in range(rng.randint(0, 16))
            )
            cut = rng.randint(1, len(digits))
            rates.append(digits if cut == len(digits) else f"{digits[:cut]}.{digits[cut:]}")
        prices = b", ".join(
            b'{"negotiated_type": "negotiated", "negotiated_rate": %s}' % r.encode() for r in rates
        )
        pair.feed(BASE.replace(b'"negotiated_prices": [{', b'"negotiated_prices": [' + prices + b", {", 1))
    pair.check()


def test_ctrl_c_while_an_item_is_kept_propagates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """C appends an item's values before Python looks up its provider sets: a KeyboardInterrupt there
    must reach the user as itself, not as a failed file ('Arrays were not all the same length')."""
    from hcpcs_atlas.sources.tic import stage_in_network
    from hcpcs_atlas.synth import TicSynthOptions, write_in_network

    source = tmp_path / "r.json"
    write_in_network(source, TicSynthOptions(seed=3, size_bytes=3 << 20, profile="realistic"))
    calls = 0
    real = columns.ColumnCollector._pset_of

    def interrupted(self: columns.ColumnCollector, texts: tuple[bytes, bytes]) -> int:
        nonlocal calls
        calls += 1
        if calls == 3:  # the third provider set first met (C calls back only for those)
            raise KeyboardInterrupt
        return real(self, texts)

    monkeypatch.setattr(columns.ColumnCollector, "_pset_of", interrupted)
    with pytest.raises(KeyboardInterrupt):
        stage_in_network(source, is_level2, tmp_path)
    assert calls == 3


def _batch(collector: ColumnCollector) -> Any:
    """Everything a kept item adds to, copied."""
    return (
        len(collector._batch or ()),
        [list(c) for c in collector._rates],
        list(collector._item_rows),
        list(collector._pset_prices),
        collector._kept,
    )


def _rates_item(refs: list[Any], code: str = "J9032", lists: str = '["11"]') -> bytes:
    rates = ", ".join(
        f'{{"provider_references": {json.dumps(r)}, "negotiated_prices": [{{"negotiated_type": "negotiated", '
        f'"negotiated_rate": {n}.5, "service_code": {lists}}}]}}'
        for n, r in enumerate(refs)
    )
    return (
        f'{{"billing_code_type": "HCPCS", "billing_code": "{code}", "negotiated_rates": [{rates}]}}'.encode()
    )


@pytest.mark.parametrize("fails", ["a set's count", "the kept count"])
def test_a_failure_after_the_price_counts_puts_them_back(tmp_path: Path, fails: str) -> None:
    """C adds each rate's prices to its set's count, then counts the item: a failure at either step puts
    every count back as it was, the second rate's too, and takes the item back."""
    pair = Pair(tmp_path)
    pair.feed(_rates_item([[1], [2]]))
    collector = pair.accel
    if fails == "the kept count":

        class Uncountable:  # C's _kept + 1 raises (not a TypeError: that is orjson's error, read again)
            def __add__(self, other: object) -> Any:
                raise ZeroDivisionError

        collector._kept = Uncountable()  # type: ignore[assignment]
    else:
        collector._pset_of = lambda texts: 1 << 20  # type: ignore[method-assign]  # no count of its own
    before = _batch(collector)
    with pytest.raises(ZeroDivisionError if fails == "the kept count" else IndexError):
        # two known sets counted, then the failure: the kept count, or a third set first met
        collector.decoded(_rates_item([[1], [2]] if fails == "the kept count" else [[1], [2], [5]]))
    assert _batch(collector) == before


@pytest.mark.parametrize("hook", ["_pset_of", "_intern_list"])
def test_an_interrupt_in_a_call_back_leaves_the_batch_as_it_was(tmp_path: Path, hook: str) -> None:
    """C appends an item's prices before it calls Python back for a provider set (or code list) first met
    in the middle of the item: an exception there takes all of the item back, and nothing is counted."""
    pair = Pair(tmp_path)
    pair.feed(_rates_item([[1], [2]]))
    collector = pair.accel
    before = _batch(collector)
    calls = 0

    def interrupted(*args: Any) -> None:
        nonlocal calls
        calls += 1
        raise KeyboardInterrupt

    setattr(collector, hook, interrupted)  # C looks the method up on the collector
    item = _rates_item([[1], [3], [2], [4]], lists='["99", "98"]')  # a known set, a new one, ...
    with pytest.raises(KeyboardInterrupt):
        collector.decoded(item)
    assert calls == 1
    after = _batch(collector)
    assert after[3][len(before[3]) :] == [0] * (len(after[3]) - len(before[3]))  # sets made, no prices
    assert (*after[:3], after[3][: len(before[3])], after[4]) == before
    delattr(collector, hook)
    # the sets made before the interrupt stay made, as in pure Python: feed both the same again
    if hook == "_intern_list":
        pair.pure._pset_of((b"null", b"[3]"))
        pair.pure._pset_of((b"null", b"[4]"))
    assert pair.feed(item) is True
    pair.check()


def _random_item(rng: random.Random) -> bytes:
    refs = [[1], [2], [690.64462], [690.644620], [1, 2], [], "x", None, [7, 690.64462]]
    lists = [["11"], ["11", "22"], ["22", "11"], [], None, ["02"], [1], "11"]
    price = {
        "negotiated_type": rng.choice(["negotiated", "fee schedule", None, 1]),
        "negotiated_rate": rng.choice([41.07, 0, 12, None, "1", 1e300]),
        "service_code": rng.choice(lists),
        "billing_code_modifier": rng.choice(lists),
        "billing_class": rng.choice(["professional", "institutional", None]),
        "expiration_date": rng.choice(["9999-12-31", None]),
    }
    rates: list[Any] = []
    for _ in range(rng.randint(0, 5)):
        prices = [
            dict(price, negotiated_rate=rng.choice([1.5, 2.25, None])) for _ in range(rng.randint(0, 3))
        ]
        rate: dict[str, Any] = {"negotiated_prices": prices or rng.choice([[], None])}
        if rng.random() < 0.8:
            rate["provider_references"] = rng.choice(refs)
        if rng.random() < 0.2:
            rate["provider_groups"] = [{"npi": [rng.randint(1, 3)], "tin": {"type": "ein", "value": "1"}}]
        rates.append(rate)
    item: dict[str, Any] = {
        "billing_code_type": rng.choice(["HCPCS", "CPT", " hcpcs", "RC", None]),
        "billing_code": rng.choice(["J9032", " j9032", "A0001", "99213", "W0000", "", None]),
        "negotiated_rates": rates if rng.random() < 0.95 else None,
    }
    text = json.dumps(dict(rng.sample(list(item.items()), 3)))
    if rng.random() < 0.05:
        text = text.replace('"11"', "1e400", 1)  # a code list msgspec skips: the dict path names it
    return text.encode()


@pytest.mark.parametrize("keep", KEEPS, ids=["level2", "set", "frozenset", "callable"])
def test_random_items_of_many_rates_agree(tmp_path: Path, keep: Any) -> None:
    """Seeded random items: provider sets met first in the middle of an item, float ids, rates without
    prices, types and codes kept or not after normalization, lists seen or not."""
    rng = random.Random(9)
    pair = Pair(tmp_path, keep)
    for _ in range(400):
        pair.feed(_random_item(rng))
    assert pair.accel.kept > 20
    pair.check()


def test_a_price_cut_short_by_an_error_leaves_the_batch_whole() -> None:
    """Batch.extend fails on the third field of a price: the fields already written are taken back."""
    assert FLATTEN is not None
    batch = FLATTEN.Batch()
    good = ("negotiated", 1.5, "9999-12-31", None, "é", "x")
    batch.extend([good], [1, 2])
    with pytest.raises(TypeError):
        batch.extend([good, ("negotiated", 2.5, 7, None, None, None)], [1, 2, 3, 4])
    with pytest.raises(TypeError):
        batch.extend([("negotiated", "2.5", None, None, None, None)], [1, 2])
    assert len(batch) == 1
    batch.extend([good], [5, 6])
    scalars, lists = columns._arrays(*batch.take())
    assert [a.to_pylist() for a in scalars] == [list(v) for v in zip(good, good, strict=True)]
    assert [a.to_pylist() for a in lists] == [[1, 5], [2, 6]]
    assert len(batch) == 0 and columns._arrays(*batch.take())[0][0].to_pylist() == []


def test_a_batch_of_long_strings_is_written_out_early(tmp_path: Path) -> None:
    """Memory stays flat whatever the strings: the C batch is written once its strings pass 64 MB (a few
    prices here, not BATCH), and its grown buffers are given back; the rows are the same."""
    pair = Pair(tmp_path)
    long = "a" * (8 << 20)
    for n in range(9):
        pair.feed(BASE.replace(b'"x"', json.dumps(f"{n}{long}").encode()))
    assert pair.accel._pending() < 9 * 3  # written out before the ninth item
    assert pair.pure._pending() == 9 * 3  # pure Python keeps its BATCH rule
    pair.check()


@pytest.mark.parametrize(
    "odd", [b'\\"', b"\\\\", b"\\u0041", b"\x1f", b"\x00", "é".encode(), b"\xff", b"\x7f", b'"']
)
def test_odd_bytes_at_every_place_of_a_string_agree(tmp_path: Path, odd: bytes) -> None:
    """C reads strings eight bytes at a time: an odd byte at each place of a block, in a skipped field and
    in a kept one, is seen as the byte-by-byte reading sees it."""
    pair = Pair(tmp_path)
    for at in range(20):
        text = b"a" * at + odd + b"b" * (19 - at)
        pair.feed(BASE.replace(b'"d"', b'"' + text + b'"'))
        pair.feed(BASE.replace(b'"x"', b'"' + text + b'"'))
        pair.feed(BASE.replace(b'"professional"', b'"' + text + b'"'))
    pair.check()
