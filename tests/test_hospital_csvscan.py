"""The tall CSV's C scanner (``sources/hospital/_csvscan.c``) against the csv module.

What it picks must be what the csv module reads, record for record (fields, record numbers, line
numbers), however the data is cut into chunks; on anything else it says "not mine" (None), and the whole
file then takes the pure-Python path, whose outcome (figures or refusal) the ingest must match.
"""

from __future__ import annotations

import csv
import io
import itertools
import random
import re
from pathlib import Path

import pytest

from hcpcs_atlas import accel
from hcpcs_atlas.errors import AtlasError
from hcpcs_atlas.sources import is_level2
from hcpcs_atlas.sources.hospital import read_hospital_file
from hcpcs_atlas.sources.hospital.text import CP1252_FALLBACK
from hcpcs_atlas.store import Store
from hcpcs_atlas.store.hospital import ingest_hospital
from hcpcs_atlas.store.hospital_tall import _LEVEL2_CELL

from .test_hospital_staging import HPT, QUIRKS, SCANNER, _same_as_the_reader

scanner = accel.load(SCANNER)
pytestmark = pytest.mark.skipif(scanner is None, reason="the C scanner is not built")

LIMIT = csv.field_size_limit()
Picked = list[tuple[int, int, list[str]]]


def _split(text: bytes) -> tuple[bytes, list[str]]:
    """The data rows after the three head lines (no line ends inside the head), and the header."""
    at = 0
    for _ in range(3):
        at = re.compile(rb"\r\n|\r|\n").search(text, at).end()  # type: ignore[union-attr]
    header = next(csv.reader([text[:at].decode("utf-8-sig").splitlines()[2]]))
    return text[at:], header


#: The payer's columns: written on every record; the others picked are the item's, written once a run.
PAYER = {"payer_name", "plan_name", "standard_charge|negotiated_dollar", "standard_charge|methodology"}


def _masks(header: list[str]) -> tuple[bytes, bytes, list[int]]:
    codes = bytes(bool(re.fullmatch(r"code\|\d+", h.strip().lower())) for h in header)
    picks = [i for i, h in enumerate(header) if h != "additional_generic_notes"]
    kinds = bytes(0 if i not in picks else 1 if h in PAYER else 2 for i, h in enumerate(header))
    return codes, kinds, picks


def _expected(body: bytes, header: list[str]) -> Picked | None:
    """The csv module's reading (as csvfile decodes): records with a Level II-shaped code cell, or None
    when it reads a record of another width (the scanner must then say "not mine")."""
    codes, _, picks = _masks(header)
    lines = io.TextIOWrapper(io.BytesIO(body), encoding="utf-8", errors=CP1252_FALLBACK, newline="")
    reader, out = csv.reader(lines), []
    try:
        for k, row in enumerate(reader):
            if len(row) != len(header):
                return None
            if any(codes[i] and re.search(_LEVEL2_CELL, cell) for i, cell in enumerate(row)):
                out.append((k, reader.line_num + 3, [row[i] for i in picks]))
    except csv.Error:
        return None
    return out


def _read_back(kept: bytes, header: list[str]) -> Picked:
    """The scanner's records with their item's fields from their run's first record (checked: a run's
    first record is its least, runs are numbered as they start, a record of a run is its item's)."""
    _, kinds, picks = _masks(header)
    item = [n for n, i in enumerate(picks) if kinds[i] == 2]
    runs: dict[int, list[str]] = {}
    out: Picked = []
    for r in csv.reader(io.StringIO(kept.decode("utf-8", CP1252_FALLBACK), newline="")):
        k, line, run, first, fields = int(r[0]), int(r[1]), int(r[2]), r[3], r[4:]
        if first == "1":
            assert run == len(runs) + 1 and run not in runs
            runs[run] = [fields[n] for n in item]
        else:
            assert first == "0" and not any(fields[n] for n in item)
            for n, value in zip(item, runs[run], strict=True):
                fields[n] = value
        out.append((k, line, fields))
    return out


def _scan(
    body: bytes, header: list[str], cuts: list[int] | None = None, limit: int = 64 << 20
) -> tuple[bytes, int, int] | bool | None:
    """(kept, records, lines) as the pipe gets them: chunk by chunk, a cut record carried into the next
    chunk's headroom, then a final call on what is left; False: a record of another width; None: not
    mine."""
    assert scanner is not None
    codes, picks, _ = _masks(header)
    width, record, line, run, carry, kept, items = len(header), 0, 3, 0, b"", b"", scanner.items(limit)
    edges = [0, *sorted(set(cuts or [])), len(body)]
    for lo, hi in itertools.pairwise(edges):
        buf = bytearray(b"\0" * 64 + body[lo:hi])  # 64 bytes of headroom
        data: bytes | bytearray = buf
        at = 64
        if len(carry) <= at:
            buf[at - len(carry) : at] = carry
            at -= len(carry)
        else:
            data, at = carry + body[lo:hi], 0
        found: tuple[bytes, int, int, int, int] | bool | None = scanner.scan(
            data, at, False, width, codes, picks, record, line, run, LIMIT, items
        )
        if not isinstance(found, tuple):
            return found
        part, consumed, record, line, run = found
        kept += part
        carry = bytes(data[consumed:])
    found = scanner.scan(carry, 0, True, width, codes, picks, record, line, run, LIMIT, items)
    if not isinstance(found, tuple):
        return found
    return kept + found[0], found[2], found[3]


def _agree(text: bytes, rng: random.Random | None = None) -> bool:
    """The scanner, whole and in random chunks, against the csv module; whether it read the data."""
    body, header = _split(text)
    expected = _expected(body, header)
    whole = _scan(body, header)
    if whole is False:
        assert expected is None, "a record of another width, the scanner says, but not the csv module"
    elif whole is not None:
        assert expected is not None and not isinstance(whole, bool), "the csv module reads it otherwise"
        assert _read_back(whole[0], header) == expected
        assert whole[1] == sum(
            1 for _ in csv.reader(io.StringIO(body.decode("utf-8", "replace"), newline=""))
        )
    if rng is not None:
        cuts = [rng.randrange(len(body) + 1) for _ in range(rng.randrange(1, 6))]
        assert _same(_scan(body, header, cuts), whole, header), cuts
    return isinstance(whole, tuple)


def _same(
    a: tuple[bytes, int, int] | bool | None, b: tuple[bytes, int, int] | bool | None, header: list[str]
) -> bool:
    """The same records read (runs may be cut where the chunks are)."""
    if isinstance(a, tuple) and isinstance(b, tuple):
        return a[1:] == b[1:] and _read_back(a[0], header) == _read_back(b[0], header)
    return a == b


def test_unc_as_the_csv_module_reads_it(shared_data: Path) -> None:
    import gzip

    text = gzip.decompress((shared_data / f"{HPT}/real/unc-hospitals_standardcharges.csv.gz").read_bytes())
    body, header = _split(text)
    whole = _scan(body, header)
    assert isinstance(whole, tuple) and whole[1:] == (326_311, 326_319)  # five line ends inside notes
    assert _read_back(whole[0], header) == _expected(body, header)
    cuts = list(range(1, len(body), 1 << 20))  # 1 MB chunks
    assert _same(_scan(body, header, cuts), whole, header)


def test_a_full_table_of_items_starts_again(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past its limit the table of items starts again empty: an item met again is a new run; the records
    read and what is stored stay the same."""
    import gzip

    from hcpcs_atlas.sources.hospital import pipe

    text = gzip.decompress((shared_data / f"{HPT}/real/unc-hospitals_standardcharges.csv.gz").read_bytes())
    body, header = _split(text[:3_000_000])
    body = body[: body.rindex(b"\n") + 1]
    whole, small = _scan(body, header), _scan(body, header, limit=2000)
    assert isinstance(whole, tuple) and isinstance(small, tuple)

    def runs(kept: bytes) -> int:
        return sum(r[3] == "1" for r in csv.reader(io.StringIO(kept.decode(), newline="")))

    assert runs(small[0]) > runs(whole[0]) > 0
    assert _same(small, whole, header)
    assert _read_back(small[0], header) == _expected(body, header)
    monkeypatch.setattr(pipe, "ITEMS_LIMIT", 2000)
    path = tmp_path / "unc-head.csv"
    path.write_bytes(text[: len(text[:3_000_000]) - len(_split(text[:3_000_000])[0])] + body)
    assert _same_as_the_reader(path, is_level2, tmp_path) > 0


#: Inputs the scanner must read, and the ones it must leave to the pure path.
READ = {
    "quirks": QUIRKS,
    "lf": QUIRKS.replace("\r\n", "\n"),
    "cr": QUIRKS.replace("\r\n", "\r"),
    "final line end": QUIRKS + "\r\n",
    "line end in a field not stored": QUIRKS.replace("Not kept,", '"Not\r\nkept",'),
    "empty line in a field": QUIRKS.replace('"Two\r\nlines"', '"Two\r\n\r\nlines"'),
    "doubled quotes": QUIRKS.replace('"Comma, quoted"', '"Comma, ""quoted"""'),
    "a quote mid-field": QUIRKS.replace("Plain,", 'Pl"ain,'),
    "quotes after spaces and text": QUIRKS.replace("Plain,", "  P" + '"a' * 50 + ","),
    "non-ASCII": QUIRKS.replace("Plain,", "Pl\u00e9ain \u0131\u2028,"),
    "dotless i code": QUIRKS.replace("Plain,J9032", "Plain,\u01319032"),
    "empty last field, no line end": QUIRKS + "\r\nX,J9330,HCPCS,,,,,,,,",
    "quoted last field, no line end": QUIRKS + '\r\nX,J9330,HCPCS,,,,,,,,"1"',
}
NOT_MINE = {
    "empty line": QUIRKS.replace("No payer,", "\r\nNo payer,"),
    "two final line ends": QUIRKS + "\r\n\r\n",
    "a space before a quote": QUIRKS.replace("Plain,", ' "Plain",'),
    "a tab before a quote": QUIRKS.replace("Plain,", '\t"Plain",'),
    "text after a closing quote": QUIRKS.replace('"Comma, quoted"', '"Comma, quoted" x'),
    "ends inside a quoted field": QUIRKS + '\r\n"Open,J9330',
    "a NUL byte": QUIRKS.replace("Plain,", "Pl\x00ain,"),
    "a field over the csv module's limit": QUIRKS.replace("Plain,", "P" * (LIMIT + 1) + ","),
}


@pytest.mark.parametrize("name", READ)
def test_read_as_the_csv_module_reads_it(name: str) -> None:
    assert _agree(READ[name].encode(), random.Random(name))


@pytest.mark.parametrize("name", NOT_MINE)
def test_not_mine(name: str) -> None:
    assert not _agree(NOT_MINE[name].encode(), random.Random(name))


WRONG_WIDTH = {
    "a short row": QUIRKS.replace("No payer,J9330,HCPCS,,,,42,,,,", "No payer,J9330,HCPCS,,,,42,,,"),
    "a row with an empty field more": QUIRKS.replace(
        "No payer,J9330,HCPCS,,,,42,,,,", "No payer,J9330,HCPCS,,,,42,,,,,"
    ),
    "a quoted empty line": QUIRKS.replace("No payer,", '""\r\nNo payer,'),
}


@pytest.mark.parametrize("name", WRONG_WIDTH)
def test_a_record_of_another_width_goes_to_the_csv_module(name: str, tmp_path: Path) -> None:
    """DuckDB's reader takes empty fields past the header's width: the csv-module path reads the file
    (and refuses the row, or skips a record of one empty field as it skips an empty line)."""
    text = WRONG_WIDTH[name].encode()
    body, header = _split(text)
    assert _scan(body, header) is False and _scan(body, header, [len(body) // 2]) is False
    path = tmp_path / "file.csv"
    path.write_bytes(text)
    assert _outcome(path, tmp_path) == _truth(path)


def test_cp1252_bytes_are_kept_as_written() -> None:
    text = QUIRKS.replace("Plain,", "Pl\x92ain,").encode().replace("\x92".encode(), b"\x92")
    assert _agree(text, random.Random(1))


_TOKENS = [b'"', b",", b"\r", b"\n", b"\r\n", b" ", b'""', b"J9032", b"\x00", "\u00e9".encode(), b"\x92",
           b'"J9330"', "\u01311234".encode(), b' "', b"a", b"\t"]  # fmt: skip


def _mutate(text: bytes, rng: random.Random) -> bytes:
    head_end = len(text) - len(_split(text)[0])
    body = bytearray(text[head_end:])
    for _ in range(rng.randrange(1, 4)):
        at = rng.randrange(len(body) + 1)
        what = rng.random()
        if what < 0.6:
            body[at:at] = rng.choice(_TOKENS)
        elif what < 0.8:
            del body[at : at + rng.randrange(1, 4)]
        else:
            body[at:at] = body[max(0, at - 20) : at]
    return text[:head_end] + bytes(body)


def test_fuzz_against_the_csv_module() -> None:
    """Random mutations of the quirks file (fixed seed): the scanner reads each as the csv module does,
    or says "not mine"; it reads a good share of them."""
    rng, read = random.Random(20261130), 0
    for _ in range(600):
        read += _agree(_mutate(QUIRKS.encode(), rng), rng)
    assert read > 100


def _truth(path: Path) -> str | int:
    """The reader's number of charges, or its refusal."""
    try:
        return len(read_hospital_file(path, is_level2).charges)
    except AtlasError as exc:
        return str(exc)


def _outcome(path: Path, tmp_path: Path) -> str | int:
    """What ``ingest hospital`` makes of the file: its number of charges, checked record for record
    against the reader's, or its refusal."""
    if isinstance(_truth(path), int):
        return _same_as_the_reader(path, is_level2, tmp_path)
    with Store(tmp_path / "refused.duckdb") as store:
        summary = ingest_hospital(store, [str(path)], is_level2)
    return summary.failed[0] if summary.failed else len(summary.ingested)


def _empty_fields_past_the_header(path: Path) -> bool:
    """A record with more fields than the header, those past it empty: what DuckDB's reader takes."""
    rows = list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8", "replace"), newline="")))
    width = len(rows[2])
    return any(len(row) > width and not any(row[width:]) for row in rows[3:])


def test_fuzz_ingest_with_and_without_the_scanner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Mutated files through the whole ingest (the scanner's picks through DuckDB's reader): the
    reader's charges record for record, or its refusal; without the scanner too (empty fields past the
    header's width included: the pipe's count of commas finds them)."""
    rng, wider = random.Random(8), 0
    for n in range(40):
        path = tmp_path / f"case{n}.csv"
        path.write_bytes(_mutate(QUIRKS.encode(), rng))
        truth = _truth(path)
        monkeypatch.delenv(accel.PURE_ENV, raising=False)
        (tmp_path / f"c{n}").mkdir()
        assert _outcome(path, tmp_path / f"c{n}") == truth, path.read_bytes()
        monkeypatch.setenv(accel.PURE_ENV, "1")
        (tmp_path / f"pure{n}").mkdir()
        assert _outcome(path, tmp_path / f"pure{n}") == truth, path.read_bytes()
        wider += _empty_fields_past_the_header(path)
    assert wider > 0


def test_a_long_open_field_is_left_to_the_pure_path_carrying_little(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unterminated quote (or any field growing past the csv module's limit) is "not mine" as soon
    as the field passes the limit, not when it ends: what the scanner carries from chunk to chunk stays
    under a record of fields at the limit (it carried the whole rest of the file, rescanned per chunk:
    quadratic). The outcome is the pure path's."""

    head = QUIRKS.split("Plain,")[0]
    path = tmp_path / "open.csv"
    path.write_text(head + '"Open,J9032,HCPCS' + ("x" * 99 + "\n") * 100_000)  # 10 MB: three chunks
    limit, width = 1000, len(_split(QUIRKS.encode())[1])
    carried: list[int] = []
    assert scanner is not None
    real = scanner.scan

    def scan(data: bytes, at: int, *rest: object) -> object:
        found = real(data, at, *rest)
        if isinstance(found, tuple):
            carried.append(len(data) - found[1])
        else:
            carried.append(-1)
        return found

    monkeypatch.setattr(scanner, "scan", scan)
    monkeypatch.setattr(csv, "field_size_limit", lambda: limit)
    monkeypatch.delenv(accel.PURE_ENV, raising=False)
    scanned = _ingested(path, tmp_path / "c.duckdb")
    assert carried and carried[-1] == -1 and max(carried) <= width * (limit + 2)
    monkeypatch.setenv(accel.PURE_ENV, "1")
    assert scanned == _ingested(path, tmp_path / "pure.duckdb")
    assert scanned[0] and scanned[0][0].endswith(": field larger than field limit (131072)")


def _ingested(path: Path, db: Path) -> tuple[list[str], int]:
    """``ingest hospital``'s refusals and the charges it stored."""
    with Store(db) as store:
        summary = ingest_hospital(store, [str(path)], is_level2)
        return summary.failed, _count(store)


def _count(store: Store) -> int:
    row = store.con.execute("SELECT count(*) FROM core_hospital_charges").fetchone()
    return int(row[0]) if row else 0


def test_an_interrupt_while_waiting_for_the_offer_closes_the_pipe(tmp_path: Path) -> None:
    """An interrupt while the writer waits for ``load``'s answer to the scanner's offer: the pipe's write
    end is closed (no fd left open) and the load, reading the pipe, sees its end (no thread left)."""
    import os
    import signal
    import threading

    from hcpcs_atlas.sources.hospital.pipe import Loaded, TallColumns, pipe_tall_csv

    class Interrupted(Exception):
        pass

    def interrupt(signum: int, frame: object) -> None:
        raise Interrupted

    def load(path: str, cols: TallColumns, lines: object) -> Loaded:
        with open(path, "rb") as fh:  # reads before answering: the writer waits on
            while fh.read(1 << 16):
                pass
        return Loaded(0, 0)

    path = tmp_path / "q.csv"
    path.write_bytes(QUIRKS.encode())
    fds, threads = len(os.listdir("/proc/self/fd")), threading.active_count()
    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.5)
        with pytest.raises(Interrupted):
            pipe_tall_csv(path, load, None)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert len(os.listdir("/proc/self/fd")) == fds and threading.active_count() == threads
