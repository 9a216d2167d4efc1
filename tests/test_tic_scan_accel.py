"""The scan's C accelerator (sources/tic/_hits.c) gives what the pure-Python scan gives.

``next_wanted`` (the hit search, its object's start and the next hit in one call), ``count`` (the items
seen) and ``whole_end`` (the helper's whole-object check) against ``bytes.find``/the regex,
``bytearray.count`` and two ``count`` calls: on a realistic synthetic file fed in chunks of many sizes
(hits cut by a chunk's edge), hostile items, and seeded random mutations. Whole scans compare what is
handed over, where, the items seen, and the error with its byte offset.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from hcpcs_atlas.errors import InputError
from hcpcs_atlas.sources import is_level2
from hcpcs_atlas.sources.tic import scan, split
from hcpcs_atlas.sources.tic.doc import InNetworkScan
from hcpcs_atlas.sources.tic.refs import ReferenceSections, Resolver
from hcpcs_atlas.sources.tic.rows import ItemCollector
from hcpcs_atlas.sources.tic.scan import HEADROOM, NeedLookback, hinted_end

from .helpers import tic_pure

HITS = scan._HITS
pytestmark = pytest.mark.skipif(HITS is None, reason="the scan accelerator is not built")
NEEDLES = (b'"negotiated_rates"', b'"billing_code"', b'"a"', b"ab", b"a", b'"x"x"')


@pytest.fixture(params=[0, 1, 2], ids=["memmem", "sse2", "avx2"])
def simd(request: pytest.FixtureRequest) -> Iterator[int]:
    """Each key search C may use (as far as this machine has it): every test runs through each."""
    assert HITS is not None
    used = HITS.simd(request.param)
    if used != request.param:
        HITS.simd(9)
        pytest.skip(f"this build or CPU has no search level {request.param}")
    yield used
    HITS.simd(9)  # the best there is, as at import


def _random_bytes(rng: random.Random, size: int) -> bytearray:
    alphabet = b'"negotiated_rs{}[] billng_cod\\:,x'
    data = bytearray(rng.choice(alphabet) for _ in range(size))
    for _ in range(rng.randrange(0, 6)):
        at = rng.randrange(0, len(data) + 1)
        data[at:at] = rng.choice(NEEDLES)
    return data


def test_count_is_bytearray_count(simd: int) -> None:
    """Non-overlapping, and the same clamping of start and stop (negative, past the end)."""
    assert HITS is not None
    rng = random.Random(9)
    for _ in range(5000):
        data = _random_bytes(rng, rng.randrange(0, 300))
        needle = rng.choice(NEEDLES)
        start, stop = rng.randrange(-40, len(data) + 40), rng.randrange(-40, len(data) + 40)
        assert HITS.count(data, needle, start, stop) == data.count(needle, start, stop), (data, needle)
    overlapping = bytearray(b'"negotiated_rates"negotiated_rates"' * 3)
    assert HITS.count(overlapping, b'"negotiated_rates"', 0, len(overlapping)) == overlapping.count(
        b'"negotiated_rates"'
    )
    big = bytearray(rng.randbytes(1 << 20))
    for at in rng.sample(range(len(big) - 20), 300):
        big[at : at + 18] = b'"negotiated_rates"'
    for start, stop in ((0, len(big)), (17, len(big) - 5), (1000, 1 << 19)):
        assert HITS.count(big, b'"negotiated_rates"', start, stop) == big.count(
            b'"negotiated_rates"', start, stop
        )


def test_whole_end_is_pythons() -> None:
    """The helper's check that handed bytes hold one object (end, closing brace, brace tallies)."""
    assert HITS is not None
    rng = random.Random(10)
    for size in [*range(0, 70), 4095, 4096, 4097, 255 * 16 + 3, 70_000]:
        for _ in range(20):
            data = bytearray(rng.choice(b"{}ab ,\n") for _ in range(size))
            if size and rng.random() < 0.5:  # mostly whole: a closing brace, then blanks and a comma
                data[rng.randrange(size) :] = b"}" + b" ,\n"[: rng.randrange(4)]
            hint = rng.randrange(0, len(data) + 1)
            start = rng.randrange(0, hint + 1)
            assert HITS.whole_end(data, start, hint) == split.whole_end(data, start, hint), (
                data,
                start,
                hint,
            )
    deep = bytearray(b"{" * 70_000 + b"}" * 70_000 + b", ")  # tallies wrap a byte every 256 blocks
    assert HITS.whole_end(deep, 0, len(deep)) == 140_000 == split.whole_end(deep, 0, len(deep))
    assert HITS.whole_end(deep, 1, len(deep)) == -1 == split.whole_end(deep, 1, len(deep))


@contextmanager
def _pure(pure: bool) -> Iterator[None]:
    places = tic_pure()
    saved = [getattr(module, name) for module, name, _ in places]
    if pure:
        for module, name, value in places:
            setattr(module, name, value)
    try:
        yield
    finally:
        for (module, name, _), value in zip(places, saved, strict=True):
            setattr(module, name, value)


def _scan(data: bytes, chunk: int, pure: bool, keep: Any = is_level2) -> tuple[Any, ...]:
    """What an in-network scan hands over (start, bytes; diverted ones by their hint's end), the items
    seen, the last hit and the error, if any, with its byte offset."""
    got: list[tuple[str, int, bytes]] = []

    class Collector(ItemCollector):
        def on_object(self, obj: dict[str, Any], start: int, raw: bytes | bytearray) -> None:
            got.append(("parsed", start, bytes(raw)))

    def divert(buf: bytearray, start: int, hint: int) -> int | None:
        end = hinted_end(buf, start, hint)
        got.append(("diverted", start, bytes(buf[start:end])))
        return end

    collector = Collector(keep)
    with _pure(pure), ReferenceSections(False, False) as sections:
        reader = InNetworkScan("t", collector, sections, Resolver("t"), False)
        reader.finder.divert = divert
        error = ""
        try:
            for at in range(0, len(data), chunk):
                reader.feed(bytearray(HEADROOM) + data[at : at + chunk], HEADROOM)
            reader.finish()
        except (InputError, NeedLookback) as exc:
            error = f"{type(exc).__name__}: {exc}"
        return got, reader.items_seen, reader.finder.last_hit, error


def _item(code: str = "J9032", extra: str = "") -> bytes:
    return (
        '{"negotiation_arrangement": "ffs", "name": "n", "billing_code_type": "HCPCS", '
        f'"billing_code_type_version": "2024", "billing_code": "{code}", "description": "d"{extra}, '
        '"negotiated_rates": [{"provider_references": [1], "negotiated_prices": [{"negotiated_type": '
        '"negotiated", "negotiated_rate": 41.07, "expiration_date": "9999-12-31", "billing_class": '
        '"professional"}]}]}'
    ).encode()


ODD = [
    _item(extra=', "bundled_codes": [{"billing_code": "J9032"}]'),  # the next hit inside the item: a bad hint
    _item(extra=', "x": "a\\"billing_code\\": \\"J9032"'),  # the key's name inside a string
    _item(extra=', "y": {"billing_code": "A0001", "z": [{"negotiated_rates": 1}]}'),  # deep, nested
    _item(code="J90\\u0033"),  # an escape in the value: read by the regex
    _item(code="j9032 "),
    _item(code="99213"),
    _item(extra=', "w": "{\\\\"'),  # a backslash and a brace in a string before the rates
    _item().replace(b'"name": "n"', b'"name": "a{b}"'),  # a brace in a string before the key
    _item().replace(b'"billing_code": "J9032"', b'"billing_code"\n :\t"J9032"'),
    _item().replace(b'"description": "d"', '"description": "é\u00a0"'.encode()),
    _item().replace(b", ", b",\n    "),  # pretty-printed
    _item().replace(b'{"negotiation_arrangement": "ffs", ', b"{").replace(b'"description": "d", ', b"")
    + b"",  # billing_code first
    _item(extra=", " + ", ".join(f'"k{i}": {{"a": [{i}]}}' for i in range(30))),
]


def _document(items: list[bytes], refs: bool = False) -> bytes:
    head = b'{"reporting_entity_name": "x", "version": "1.0.0", '
    tail = b', "provider_references": [{"provider_group_id": 1, "provider_groups": []}]}' if refs else b"}"
    return head + b'"in_network": [' + b", ".join(items) + b"]" + tail


def _realistic(tmp_path: Path, size: int = 400_000, seed: int = 5) -> bytes:
    from hcpcs_atlas.synth import TicSynthOptions, write_in_network

    path = tmp_path / f"r{seed}.json"
    write_in_network(path, TicSynthOptions(seed=seed, size_bytes=size, profile="realistic"))
    return path.read_bytes()


@pytest.mark.parametrize("keep", [is_level2, {"J9032", "A0001", "99213"}.__contains__], ids=["level2", "set"])
def test_scan_in_c_agrees_on_odd_items_at_every_chunk_edge(keep: Any, simd: int) -> None:
    """Chunk sizes that cut the keys, values and braces of the odd items at many places."""
    data = _document([_item(), *ODD, _item("A0001"), *ODD[::-1], _item()], refs=True)
    for chunk in [*range(4097, 4097 + 64, 7), 5000, 6143, len(data)]:
        expected = _scan(data, chunk, True, keep)
        assert _scan(data, chunk, False, keep) == expected, chunk
    assert expected[0] and expected[1] == data.count(b'"negotiated_rates"')  # a nested one counts too


def test_scan_in_c_agrees_on_a_realistic_file(tmp_path: Path, simd: int) -> None:
    data = _realistic(tmp_path)
    for chunk in (4500, 65_536 + 17, 1 << 20):
        expected = _scan(data, chunk, True)
        assert expected[1] > 0 and not expected[3]
        assert _scan(data, chunk, False) == expected


def test_random_mutations_scan_alike(tmp_path: Path, simd: int) -> None:
    """A few hundred documents (fixed seed): bytes of a realistic file changed, removed or doubled at
    random places; whatever the scan makes of them (items, counts, refusals and their bytes), C agrees."""
    rng = random.Random(20261130)
    source = _realistic(tmp_path, 60_000, seed=7)
    start = source.index(b'"in_network"')
    alphabet = b'{}[]",:\\ 0123456789.eE-+ntrufalsx\xc3\xa9\xff\t'
    keys = [b'"billing_code"', b'"negotiated_rates"', b'"billing_code": "J9032"', b"{", b"}"]
    outcomes = set()
    for case in range(300):
        data = bytearray(source)
        for _ in range(rng.randint(1, 6)):
            at = rng.randrange(start, len(data))
            kind = rng.random()
            if kind < 0.4:
                data[at] = rng.choice(alphabet)
            elif kind < 0.6:
                del data[at : at + rng.randint(1, 20)]
            elif kind < 0.8:
                data[at:at] = rng.choice(keys)
            else:
                data[at:at] = data[at : at + rng.randint(1, 400)]
        chunk = rng.choice((4200, 5000, 9000, 1 << 20))
        expected = _scan(bytes(data), chunk, True)
        assert _scan(bytes(data), chunk, False) == expected, case
        outcomes.add(expected[3].split(":")[0] or "ok")
    assert "ok" in outcomes and len(outcomes) > 1  # both clean reads and refusals were compared
