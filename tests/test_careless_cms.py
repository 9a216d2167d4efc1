"""Careless CMS files that load, but say what was odd: stray bytes, UTF-16, identical repeated rows."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from hcpcs_atlas.cli import main
from hcpcs_atlas.store import Store

from .helpers import ASP, CROSSWALK


def run(db: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--db", str(db), *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_one_stray_byte_does_not_mangle_a_whole_crosswalk(shared_data: Path, tmp_path: Path) -> None:
    """The real crosswalk is cp1252 (0x99 is the trademark sign); 0x81 is undefined in cp1252."""
    data = (shared_data / CROSSWALK).read_bytes()
    at = data.index(b"\n", data.index(b"J9032,")) - 3
    (tmp_path / "crosswalk.csv").write_bytes(data[:at] + b"\x81" + data[at:])
    db = tmp_path / "atlas.duckdb"
    code, out, err = run(db, "load", "crosswalk", str(tmp_path / "crosswalk.csv"))
    assert code == 0, err
    line = data.count(b"\n", 0, at) + 1
    assert (
        f"crosswalk.csv: text decoded as cp1252, 1 byte(s) that are not cp1252 shown as U+FFFD (first: byte {at}, line {line})"
        in out
    )
    with Store(db, read_only=True) as store:
        names = [r[0] for r in store.con.execute("SELECT drug_name FROM core_asp_crosswalk").fetchall()]
    assert sum("\u2122" in (n or "") for n in names) == data.count(b"\x99")  # every trademark sign intact
    assert not any("\x99" in (n or "") for n in names)


def test_utf16_is_read_and_said(shared_data: Path, tmp_path: Path) -> None:
    text = (shared_data / ASP).read_bytes().decode("cp1252")
    (tmp_path / "asp16.csv").write_bytes(text.encode("utf-16"))
    code, out, err = run(tmp_path / "atlas.duckdb", "load", "asp", str(tmp_path / "asp16.csv"))
    assert code == 0, err
    assert "asp16.csv: text decoded as utf-16" in out and "loaded 1,012 asp rows" in out


def test_a_row_repeated_identically_is_one_row(shared_data: Path, tmp_path: Path) -> None:
    data = (shared_data / ASP).read_bytes()
    start = data.index(b"J9032,")
    end = data.index(b"\n", start) + 1
    (tmp_path / "asp.csv").write_bytes(data[:end] + data[start:end] + data[end:])
    code, out, err = run(tmp_path / "atlas.duckdb", "load", "asp", str(tmp_path / "asp.csv"))
    assert code == 0 and "loaded 1,012 asp rows" in out, err


def test_a_hcpcs_record_repeated_identically_is_one_code(shared_data: Path, tmp_path: Path) -> None:
    data = (shared_data / "hcpcs/2020/HCPC2020_ANWEB_w_disclaimer.txt").read_bytes()
    start = data.index(b"J903200100")
    end = data.index(b"\n", start) + 1
    (tmp_path / "HCPC2020_ANWEB.txt").write_bytes(data[:end] + data[start:end] + data[end:])
    code, out, err = run(tmp_path / "atlas.duckdb", "load", "hcpcs", str(tmp_path / "HCPC2020_ANWEB.txt"))
    assert code == 0 and "loaded 6,710 hcpcs rows" in out, err
