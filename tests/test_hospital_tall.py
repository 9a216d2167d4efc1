"""The tall CSV's bulk path (DuckDB's CSV reader fed through a pipe) against the csv-module reader.

``tests/test_hospital_staging.py`` compares what ``ingest hospital`` stores with ``read_hospital_file``
record for record; here: that those files do take the bulk path, that it gives way on whatever it cannot
read exactly the csv module's way (and the ingest is then still exact), and its constants.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from hcpcs_atlas.sources import is_level2
from hcpcs_atlas.sources.hospital import HospitalFile, read_hospital_file
from hcpcs_atlas.sources.hospital.pipe import pipe_tall_csv
from hcpcs_atlas.store.hospital_tall import _LEVEL2_CELL, WHITESPACE, level2_only, load_tall

from .test_hospital_staging import (
    HPT,
    JSON_EXAMPLE,
    QUIRKS,
    TALL_EXAMPLE,
    WIDE_EXAMPLE,
    _same_as_the_reader,
    csv_mode,  # noqa: F401  # every test here runs with the C scanner and without
    scanning,
)

UNC = f"{HPT}/real/unc-hospitals_standardcharges.csv.gz"
CP1252 = f"{HPT}/real/marthas-vineyard_standardcharges.csv"


def _bulk(path: Path, keep: Any, folder: Path) -> HospitalFile | None:
    folder.mkdir(exist_ok=True)
    return pipe_tall_csv(path, lambda p, cols, lines: load_tall(p, cols, lines, keep, folder))


def _write(tmp_path: Path, text: str, name: str = "file.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode())
    return path


def test_whitespace_is_what_strip_removes() -> None:
    assert "".join(c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace()) == WHITESPACE


def test_level2_cells_are_every_letter_upper_turns_into_a_to_v() -> None:
    """The records stored are those with a cell matching _LEVEL2_CELL: a superset of the cells whose
    ``strip().upper()`` is a Level II code only if its letters are all those ``upper()`` maps into A-V."""
    a_to_v = set("ABCDEFGHIJKLMNOPQRSTUV")
    letters = "".join(c for c in map(chr, range(sys.maxunicode + 1)) if c.upper() in a_to_v)
    assert f"[A-Va-v{letters[44:]}][0-9]{{4}}" == _LEVEL2_CELL
    assert letters[:44] == "ABCDEFGHIJKLMNOPQRSTUVabcdefghijklmnopqrstuv" and len(letters) == 46


def test_level2_only() -> None:
    assert level2_only(is_level2) and level2_only({"J9032", "J9330"}.__contains__)
    assert level2_only(frozenset({"J9032"}).__contains__)
    assert not level2_only({"J9032", "99213"}.__contains__) and not level2_only(lambda code: True)
    assert not level2_only({"J9032"}.__eq__) and not level2_only(["J9032"].__contains__)


@pytest.mark.parametrize("name", [UNC, TALL_EXAMPLE])
def test_real_tall_files_take_the_bulk_path(shared_data: Path, tmp_path: Path, name: str) -> None:
    """UNC has five line ends inside a field (additional_generic_notes): lines still as the csv module's."""
    path = shared_data / name
    bulk = _bulk(path, is_level2, tmp_path / "stage")
    read = read_hospital_file(path, is_level2, sink=lambda charges: None)
    assert bulk is not None
    assert (bulk.rows_seen, bulk.n_charges, bulk.sha256, bulk.bytes_read) == (
        read.rows_seen, read.n_charges, read.sha256, read.bytes_read
    )  # fmt: skip
    assert (bulk.hospital_name, bulk.version, bulk.layout, bulk.type_2_npis) == (
        read.hospital_name, read.version, read.layout, read.type_2_npis
    )  # fmt: skip


def _with_notes(text: str, notes: dict[str, str]) -> str:
    """``text`` with a last column, ``notes`` (a column not kept), given for the records starting so."""
    lines = text.split("\r\n")
    out = [lines[0], lines[1], lines[2] + ",additional_generic_notes"]
    for line in lines[3:]:
        if line == '"Two':
            out.append(line)  # within a record: its note goes on its last line
            continue
        out.append(line + "," + next((n for start, n in notes.items() if line.startswith(start)), ""))
    return "\r\n".join(out)


#: The quirks file's variants, each still read by the bulk path and stored as the csv module reads it.
BULK = {
    "quirks": QUIRKS,
    "lf": QUIRKS.replace("\r\n", "\n"),
    "cr": QUIRKS.replace("\r\n", "\r"),
    "final line end": QUIRKS + "\r\n",
    "empty line in a field": QUIRKS.replace('"Two\r\nlines"', '"Two\r\n\r\nlines"'),
    "line end in a field not kept, in a record not kept": _with_notes(QUIRKS, {"Not kept,": '"a\r\nnote"'}),
}
#: Variants the bulk path gives way on (an empty line: DuckDB's reader skips it, so the line counts differ); the csv-module path then stores them (or refuses them) as before. With the C scanner,
#: those in SCANNED are read by the bulk path (the scanner counts lines as the csv module does).
GIVE_WAY = {
    "empty line": QUIRKS.replace("No payer,", "\r\nNo payer,"),
    "head row over two lines": QUIRKS.replace("Quirk Hospital,", '"Quirk\r\nHospital",'),
    "two final line ends": QUIRKS + "\r\n\r\n",
    "a space before a quote": QUIRKS.replace("Plain,", ' "Plain",'),
    "a space before a quote, mid-row": QUIRKS.replace(",Cigna,", ', "Cigna",'),
    # Records without a Level II code are not stored (is_level2): a line end in a kept field of one of
    # them is not counted, and the counts do not add up (with a keep of any code, the bulk path reads it).
    "line end in a kept field of a record not kept": QUIRKS.replace("Not kept,", '"Not\r\nkept",'),
}
SCANNED = {"line end in a kept field of a record not kept"}


@pytest.mark.parametrize("variant", BULK)
def test_quirks_take_the_bulk_path_and_are_stored_as_read(tmp_path: Path, variant: str) -> None:
    path = _write(tmp_path, BULK[variant])
    bulk = _bulk(path, is_level2, tmp_path / "stage")
    read = read_hospital_file(path, is_level2)
    assert bulk is not None and (bulk.rows_seen, bulk.n_charges) == (read.rows_seen, len(read.charges))
    assert _same_as_the_reader(path, is_level2, tmp_path) == 8


@pytest.mark.parametrize("variant", GIVE_WAY)
def test_bulk_path_gives_way_and_the_file_is_stored_as_read(tmp_path: Path, variant: str) -> None:
    path = _write(tmp_path, GIVE_WAY[variant])
    assert (_bulk(path, is_level2, tmp_path / "stage") is None) == (variant not in SCANNED or not scanning())
    assert _same_as_the_reader(path, is_level2, tmp_path) == 8


@pytest.mark.parametrize(
    "keep", [{"J9032", "J9330"}.__contains__, {"J9032", "99213"}.__contains__, lambda code: True]
)
@pytest.mark.parametrize("variant", ["quirks", "line end in a kept field of a record not kept"])
def test_other_keeps_are_stored_as_read(tmp_path: Path, keep: Any, variant: str) -> None:
    """A set of Level II codes stores fewer records; a keep of other codes stores every record."""
    path = _write(tmp_path, {**BULK, **GIVE_WAY}[variant])
    bulk = _bulk(path, keep, tmp_path / "stage")
    assert (bulk is None) == (variant != "quirks" and level2_only(keep) and not scanning())
    assert _same_as_the_reader(path, keep, tmp_path) == len(read_hospital_file(path, keep).charges)


@pytest.mark.parametrize("name", [CP1252, WIDE_EXAMPLE, JSON_EXAMPLE])
def test_bulk_path_gives_way_on_other_files(shared_data: Path, tmp_path: Path, name: str) -> None:
    """cp1252 bytes (DuckDB reads UTF-8 only), the wide layout, JSON: the csv-module or JSON path. With
    the C scanner, the cp1252 file's bytes that are not UTF-8 are in records not stored: bulk path."""
    bulk = _bulk(shared_data / name, is_level2, tmp_path / "stage")
    if name == CP1252 and scanning():
        read = read_hospital_file(shared_data / name, is_level2, sink=lambda charges: None)
        assert bulk is not None and (bulk.rows_seen, bulk.n_charges) == (read.rows_seen, read.n_charges)
    else:
        assert bulk is None


@pytest.mark.parametrize(
    "text",
    [
        QUIRKS.replace("0.1,", "0.1,about 5"),  # an amount no rule reads: csvfile names row and column
        QUIRKS.replace("No payer,J9330,HCPCS,,,,42,,,,", "No payer,J9330,HCPCS,,,,42,,,"),  # a short row
        QUIRKS.replace("Plain,", "Pl\x92ain,"),  # a cp1252 byte
        QUIRKS + '\r\n"Open,J9330',  # ends inside a quoted field: the pipe's end line is swallowed
    ],
)
def test_bulk_path_gives_way_on_rows_it_cannot_read(tmp_path: Path, text: str) -> None:
    path = tmp_path / "file.csv"
    path.write_bytes(text.encode().replace("\x92".encode(), b"\x92"))  # the byte itself, not UTF-8's
    assert _bulk(path, is_level2, tmp_path / "stage") is None


def test_python_tables_reach_duckdb_as_given(tmp_path: Path) -> None:
    """The worker's Python tables (verdicts, modifiers, odd amounts) go to DuckDB through one JSON file:
    text, lists, NULLs and doubles come back exactly; an empty table keeps its column types."""
    import duckdb

    from hcpcs_atlas.store.hospital_tall import _table

    texts = ["J9032", ' a "quoted"\u2028line ', "", None, "\x1f\x00"]
    lists = [["J9032", "NDC"], [], None, ["x"], ["\u00e9"]]
    doubles = [0.1 + 0.2, 1e-300, 123456789.12345679, None, -0.0]
    con = duckdb.connect()
    _table(con, "t", {"v": ("VARCHAR", texts), "l": ("VARCHAR[]", lists),
                      "x": ("DOUBLE", [None if d is None else repr(d) for d in doubles])}, tmp_path)  # fmt: skip
    assert con.execute("SELECT v, l, x FROM t").fetchall() == list(zip(texts, lists, doubles, strict=True))
    _table(con, "e", {"v": ("VARCHAR", []), "l": ("VARCHAR[]", [])}, tmp_path)
    assert con.execute("SELECT typeof(v), typeof(l) FROM e").fetchall() == []
    assert [r[1] for r in con.execute("DESCRIBE e").fetchall()] == ["VARCHAR", "VARCHAR[]"]
    many = [f"RX-{i}" for i in range(70_000)]  # more than one batch of rows
    _table(con, "m", {"v": ("VARCHAR", many), "i": ("BIGINT", list(range(70_000)))}, tmp_path)
    assert con.execute("SELECT list(v ORDER BY i) FROM m").fetchone() == (many,)
    assert not list(tmp_path.iterdir())  # the JSON files are gone
