"""A tall CSV's data rows read by DuckDB's CSV reader from a pipe (:mod:`..sources.hospital.pipe`), kept
rows turned into staged items and charges in SQL; Python decides per distinct value only.

What the csv-module path does per row is done here per distinct value, with the same Python code, so the
stored figures are the same to the bit (``tests/test_hospital_staging.py`` compares them record for
record):

- codes: when ``keep_code`` keeps Level II codes only (:func:`level2_only`), only records with a code
  cell holding a letter and four digits (a superset of what trimming and upper-casing can make a Level
  II code) are stored as they stream by (UNC: 126 K of 326 K records); each distinct set of code and type
  cells of those goes through :class:`CodeJudge` (trim, upper-case, ``keep_code``); rows join their
  verdict;
- amounts: a cell of digits with at most one point is DuckDB's cast (both round correctly); any other
  distinct text goes through :func:`amount` ("$1,055.50", "N/A", " 7.5 ", "1e2"); one it refuses gives
  way to the csv-module path, which names its row and column;
- text: trimmed of exactly what ``str.strip`` trims, empty as NULL; modifiers split and sorted by
  :func:`split_list` per distinct cell;
- items: a distinct (code, codes, description ... maximum), numbered by its first row and code (an
  ``item_id`` unique in the file, not dense), its line that of that row; grouped by the key's hash, and
  refused (give way) unless there are as many hashes as keys; a charge per kept row and code that names
  a payer or a negotiated value.

Lines: every record is numbered in file order (``k`` = record - 1); a record ends on line ``k + 4`` plus
the line ends inside fields up to it. Those are counted in the columns not kept as the rows stream, and in
the kept ones (of the records stored) only when the pipe's line count says there are more; the counts must
add up, or give way. The pipe's end line (:class:`TallColumns` ``end``) tells the number of records.
With the C scanner's records instead (:func:`_load_scanned`), each comes with its line, and the item's
fields are judged, trimmed and read once per item run, not per row.
Items and charges go to Parquet (doubles as they are) in the staging folder; the store reads them in the
file's transaction (:mod:`.hospital_staging`). Measured on UNC (benchmarks/hospital_ingest.py): see
docs/formats.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from itertools import islice
from pathlib import Path
from typing import Any

import duckdb
import orjson

from ..sources import LEVEL2_CODE, is_level2
from ..sources.hospital.csvfile import CodeJudge, amount
from ..sources.hospital.model import split_list
from ..sources.hospital.pipe import PAYER_FIELDS, Loaded, TallColumns

__all__ = ["PARQUET_CHARGES", "PARQUET_ITEMS", "TallRefused", "load_tall"]

#: Every character ``str.strip()`` removes (``str.isspace``; tests/test_hospital_tall.py checks the list).
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
    "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_PLAIN = r"-?[0-9]+(\.[0-9]+)?"
#: A cell holding this somewhere may be a Level II code once trimmed and upper-cased (as CodeJudge does):
#: the letters are every character whose ``str.upper()`` is A-V (tests/test_hospital_tall.py checks it).
_LEVEL2_CELL = "[A-Va-v\u0131\u017f][0-9]{4}"
_TEXT = ("description", "billing_class", "setting", "drug_type", "payer_name", "plan_name", "algorithm",
         "methodology")  # fmt: skip
_NUMBERS = ("drug_unit", "gross", "discounted_cash", "minimum", "maximum", "dollar", "percentage")
_ITEM_KEY = ("code, cid, description, billing_class, setting, drug_unit, drug_type, mid, gross, discounted_cash, "
             "minimum, maximum")  # fmt: skip
#: ``ord`` = record * _SPAN + position of the code among the row's kept codes.
_SPAN = 4096
#: The worker's DuckDB: spills past this (a multi-GB file keeps memory flat).
MEMORY = "200MB"

PARQUET_ITEMS = "items.parquet"
PARQUET_CHARGES = "charges.parquet"


class TallRefused(Exception):
    """Something the csv-module path reads differently or names better: give way to it."""


def load_tall(
    path: str,
    cols: TallColumns,
    lines: Callable[[], int | None],
    keep_code: Callable[[str], bool],
    folder: Path,
) -> Loaded:
    """Read the data rows at ``path`` (a pipe; ``lines()`` of them) and stage the kept charges in
    ``folder`` as Parquet."""
    if len(cols.codes) >= _SPAN:
        raise TallRefused("too many code columns")
    con = duckdb.connect()
    try:
        con.execute(f"SET memory_limit = '{MEMORY}'")
        con.execute("SET threads = 1")  # 2 measured 0.2-0.6 s more CPU on UNC, and no shorter wall
        con.execute("SET enable_progress_bar = false")  # the command's own bar is on the terminal
        con.execute("SET temp_directory = ?", [str(folder / "duckdb.tmp")])
        if cols.scan(level2_only(keep_code)):
            return _load_scanned(con, path, cols, lines, keep_code, folder)
        return _load(con, path, cols, lines, keep_code, folder)
    finally:
        con.close()


def _load(
    con: duckdb.DuckDBPyConnection,
    path: str,
    cols: TallColumns,
    lines: Callable[[], int | None],
    keep_code: Callable[[str], bool],
    folder: Path,
) -> Loaded:
    keys, picks = _code_cells(cols)
    picks += _fields(cols, [*_TEXT, "modifiers", *_NUMBERS])
    n_breaks, commas = _raw_piped(con, path, cols, picks, lines, keep_code)
    key_list = ", ".join(f"coalesce({k}, '')" for k in keys)
    distinct = con.execute(f"SELECT DISTINCT {key_list} FROM raw")
    batches = iter(lambda: distinct.fetchmany(1 << 16), [])  # a file of unique CDM codes: flat memory
    _table(con, "judged", _judged((key for batch in batches for key in batch), cols, keys, keep_code), folder)
    on = " AND ".join(f"coalesce(r.{k}, '') = j.{k}" for k in keys)
    mods = con.execute("SELECT DISTINCT f_modifiers FROM raw WHERE f_modifiers IS NOT NULL").fetchall()
    _table(con, "mods", _modifiers([str(r[0]) for r in mods]), folder)
    con.execute(
        f"""CREATE TABLE kept AS
        SELECT r.k * {_SPAN} + generate_subscripts(j.kept, 1) AS ord, r.k, r.before,
               unnest(j.kept) AS code,
               j.cid, {_texts(list(_TEXT))}, {_numbers(list(_NUMBERS))}, coalesce(m.mid, 0) AS mid
        FROM raw r JOIN judged j ON {on} LEFT JOIN mods m ON m.v = r.f_modifiers""",
        {"ws": WHITESPACE},
    )
    con.execute("DROP TABLE raw")
    _odd_amounts(con, {"kept": list(_NUMBERS)}, folder)
    _items(con, folder)
    charges = _one(con, "SELECT count(*) FROM kept")
    con.execute(
        f"""COPY (SELECT i.item_id, k.payer_name, k.plan_name, k.dollar AS negotiated_usd,
                  k.percentage AS negotiated_pct, k.algorithm AS negotiated_algorithm, k.methodology,
                  k.k + 4 + k.before AS source_row
            FROM kept k JOIN ids i ON i.h = k.h
            WHERE k.payer_name IS NOT NULL OR k.dollar IS NOT NULL OR k.percentage IS NOT NULL
               OR k.algorithm IS NOT NULL)
        TO '{_quoted(folder / PARQUET_CHARGES)}' (FORMAT parquet)"""
    )
    return Loaded(n_breaks, charges, commas)


def _raw_piped(
    con: duckdb.DuckDBPyConnection,
    path: str,
    cols: TallColumns,
    picks: list[str],
    lines: Callable[[], int | None],
    keep_code: Callable[[str], bool],
) -> tuple[int, int]:
    """Table ``raw`` from every data row as written, with the end line; the line ends inside fields and
    the commas the reader met (between fields and inside them)."""
    spec = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(cols.width))
    picked = set(cols.picked())
    others = [i for i in range(cols.width) if i not in picked]
    cells = " OR ".join(f"regexp_matches(c{c}, '{_LEVEL2_CELL}')" for c, _ in cols.codes)
    candidate = f"coalesce({cells}, false)" if level2_only(keep_code) else "true"
    # contains(): a byte search, where a regex cost 0.1-0.2 s CPU more on UNC's 326 K rows.
    con.execute(
        """CREATE MACRO _breaks(c) AS CASE WHEN c IS NULL OR NOT (contains(c, chr(10)) OR contains(c, chr(13)))
               THEN 0
               ELSE len(c) * 2 - len(replace(c, chr(10), '')) - len(replace(c, chr(13), ''))
                    - (len(c) - len(replace(c, chr(13) || chr(10), ''))) // 2 END"""
    )
    # Bytes of the record's fields put together, with and without commas: on UNC 0.1 s CPU less than a
    # count per field (0.2 s against 0.3 s over reading the columns alone).
    con.execute("CREATE MACRO _commas(c) AS strlen(c) - strlen(replace(c, ',', ''))")
    # Every record in file order (``k``: the record number - 1), with the line ends inside the fields
    # not kept here (those inside kept fields are counted below, when the line count says there are any),
    # and those of every record up to it (``before``: a streaming window, where a sort of the kept rows
    # by record for an ASOF join cost 0.1-0.2 s CPU on UNC). A record ends on line k + 4 + before.
    # Only records that may hold a kept code are stored (UNC: 126 K of 326 K), and the pipe's end line,
    # whose ``k`` and ``before`` are the number of records and of those line ends, and ``commas`` the
    # commas inside every field up to it: DuckDB's reader takes a record with empty fields past the
    # header's width (``a,b,c,`` for three columns), which only the pipe's count of commas shows.
    con.execute(
        f"""CREATE TABLE raw AS SELECT * EXCLUDE (candidate, inside) FROM (
            SELECT row_number() OVER () - 1 AS k,
                   sum(breaks) OVER upto AS before, sum(inside) OVER upto AS commas, *
            FROM (SELECT {", ".join(picks)}, {" + ".join(["0"] + [f"_breaks(c{i})" for i in others])} AS breaks,
                         _commas(concat({", ".join(f"c{i}" for i in range(cols.width))})) AS inside,
                         coalesce(c0 = $end, false) AS fin, {candidate} AS candidate
                  FROM read_csv($path, columns = {{{spec}}}, header = false, auto_detect = false, delim = ',',
                                quote = '"', escape = '"', strict_mode = true, compression = 'none',
                                parallel = false))
            WINDOW upto AS (ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW))
        WHERE candidate OR fin""",
        {"path": path, "end": cols.end},
    )
    n_lines, (records, n_breaks, inside) = lines(), _end(con)
    if n_lines is None:
        raise TallRefused("the pipe gave way")
    if n_lines != records + n_breaks:
        # Line ends inside the kept columns of the records stored; the records not stored must have
        # none there (those cells are gone), or the counts do not add up and the file gives way.
        fields = [p.split(" AS ")[1] for p in picks if not p.startswith("NULL")]
        kept_breaks = " + ".join(f"_breaks({f})" for f in fields)
        con.execute(
            f"""UPDATE raw SET before = raw.before + w.b FROM (
                    SELECT k, sum({kept_breaks}) OVER (ORDER BY k) AS b FROM raw) w
                WHERE raw.k = w.k"""
        )
        n_breaks += _one(con, f"SELECT coalesce(sum({kept_breaks}), 0) FROM raw")
        if n_lines != records + n_breaks:
            raise TallRefused(f"{n_lines} lines, {records} records and {n_breaks} line ends inside fields")
    return n_breaks, (records + 1) * (cols.width - 1) + inside  # the end line's too


def _load_scanned(
    con: duckdb.DuckDBPyConnection,
    path: str,
    cols: TallColumns,
    lines: Callable[[], int | None],
    keep_code: Callable[[str], bool],
    folder: Path,
) -> Loaded:
    """The C scanner's records (:class:`TallColumns` ``scan``): each with its record number - 1 (``k``),
    line, run (the records whose item fields are written the same) and whether it is its run's first;
    the item's fields in a run's first record only.

    What ``_load`` does per row for the item's fields (codes judged, text trimmed, amounts read,
    modifiers split, the item's hash) is done here per run (UNC: 10.7 K runs of 126 K records); per row
    only the payer's fields. The figures are the same to the bit: the same expressions, the same
    ``item_id`` (the least ``ord`` of the item's charges is the least of its runs' first records)."""
    item_fields = [f for f in (*_TEXT, "modifiers", *_NUMBERS) if f not in PAYER_FIELDS]
    payer_fields = [f for f in (*_TEXT, *_NUMBERS) if f in PAYER_FIELDS]
    keys, item = _code_cells(cols)
    item += _fields(cols, item_fields)
    payer = _fields(cols, payer_fields)
    spec = ", ".join(
        ["'k': 'BIGINT'", "'line': 'BIGINT'", "'run': 'BIGINT'", "'first': 'BOOLEAN'"]
        + [f"'c{i}': 'VARCHAR'" for i in cols.picked()]
    )
    con.execute(
        f"""CREATE TABLE raw AS SELECT * FROM read_csv($path, columns = {{{spec}}}, header = false,
                auto_detect = false, delim = ',', quote = '"', escape = '"', strict_mode = true,
                compression = 'none', parallel = false)""",
        {"path": path},
    )
    if lines() is None:
        raise TallRefused("the pipe gave way")
    # A record ends on line k + 4 + before (as _load's), before = line - k - 4.
    con.execute(
        f"CREATE TABLE runs AS SELECT run, k, line - k - 4 AS before, {', '.join(item)} FROM raw WHERE first"
    )
    con.execute(f"CREATE TABLE rows AS SELECT run, k, line - k - 4 AS before, {', '.join(payer)} FROM raw")
    con.execute("DROP TABLE raw")
    key_list = ", ".join(f"coalesce({k}, '')" for k in keys)
    distinct = con.execute(f"SELECT DISTINCT {key_list} FROM runs")
    batches = iter(lambda: distinct.fetchmany(1 << 16), [])
    _table(con, "judged", _judged((key for batch in batches for key in batch), cols, keys, keep_code), folder)
    on = " AND ".join(f"coalesce(r.{k}, '') = j.{k}" for k in keys)
    mods = con.execute("SELECT DISTINCT f_modifiers FROM runs WHERE f_modifiers IS NOT NULL").fetchall()
    _table(con, "mods", _modifiers([str(r[0]) for r in mods]), folder)
    texts = [f for f in _TEXT if f in item_fields]
    numbers = [f for f in _NUMBERS if f in item_fields]
    con.execute(
        f"""CREATE TABLE kept AS
        SELECT r.run, r.k * {_SPAN} + generate_subscripts(j.kept, 1) AS ord, r.k, r.before,
               unnest(j.kept) AS code, j.cid, {_texts(texts)}, {_numbers(numbers)}, coalesce(m.mid, 0) AS mid
        FROM runs r JOIN judged j ON {on} LEFT JOIN mods m ON m.v = r.f_modifiers""",
        {"ws": WHITESPACE},
    )
    con.execute("DROP TABLE runs")
    # The payer's fields of the rows of kept runs, each row once (a row with two kept codes: two charges).
    p_texts = [f for f in _TEXT if f in payer_fields]
    p_numbers = [f for f in _NUMBERS if f in payer_fields]
    con.execute(
        f"""CREATE TABLE payers AS SELECT r.run, r.k, r.before, {_texts(p_texts)}, {_numbers(p_numbers)}
        FROM rows r WHERE r.run IN (SELECT run FROM kept)""",
        {"ws": WHITESPACE},
    )
    con.execute("DROP TABLE rows")
    _odd_amounts(con, {"kept": numbers, "payers": p_numbers}, folder)
    _items(con, folder)
    charges = _one(con, "SELECT count(*) FROM payers p JOIN kept k USING (run)")
    con.execute(
        f"""COPY (SELECT i.item_id, p.payer_name, p.plan_name, p.dollar AS negotiated_usd,
                  p.percentage AS negotiated_pct, p.algorithm AS negotiated_algorithm, p.methodology,
                  p.k + 4 + p.before AS source_row
            FROM payers p JOIN kept k USING (run) JOIN ids i ON i.h = k.h
            WHERE p.payer_name IS NOT NULL OR p.dollar IS NOT NULL OR p.percentage IS NOT NULL
               OR p.algorithm IS NOT NULL)
        TO '{_quoted(folder / PARQUET_CHARGES)}' (FORMAT parquet)"""
    )
    return Loaded(0, charges)


def _code_cells(cols: TallColumns) -> tuple[list[str], list[str]]:
    """The names of the code cells then their type cells (k0.., t0..), and their picks from the raw
    columns."""
    typed = [t for _, t in cols.codes if t is not None]
    keys = [f"k{i}" for i in range(len(cols.codes))] + [f"t{i}" for i in range(len(typed))]
    picks = [f"c{c} AS k{i}" for i, (c, _) in enumerate(cols.codes)]
    return keys, picks + [f"c{t} AS t{i}" for i, t in enumerate(typed)]


def _fields(cols: TallColumns, fields: list[str]) -> list[str]:
    """The picks of the fields (f_<name>) from the raw columns, NULL for one the file has not."""
    return [
        f"c{cols.columns[f]} AS f_{f}" if f in cols.columns else f"NULL::VARCHAR AS f_{f}" for f in fields
    ]


def _odd_amounts(con: duckdb.DuckDBPyConnection, tables: dict[str, list[str]], folder: Path) -> None:
    """The amounts left aside as text (``odd_*`` of :func:`_numbers`) read by amount(), each distinct text
    once over ``tables`` (name -> its number fields), and filled in where the cast gave none."""
    cells = " UNION ALL ".join(
        f"SELECT unnest([{', '.join(f'odd_{f}' for f in fields)}]) AS v FROM {table}"
        for table, fields in tables.items()
    )
    odd = con.execute(f"SELECT DISTINCT v FROM ({cells}) WHERE v IS NOT NULL")
    texts = [str(r[0]) for r in odd.fetchall()]
    if not texts:
        return
    _table(con, "amounts", _amounts(texts), folder)
    for table, fields in tables.items():
        sets = ", ".join(
            f"{f} = coalesce({f}, (SELECT a.x FROM amounts a WHERE a.v = odd_{f}))" for f in fields
        )
        con.execute(f"UPDATE {table} SET {sets}")


def _items(con: duckdb.DuckDBPyConnection, folder: Path) -> None:
    """Table ``ids`` (the item key's hash -> item_id, the least ``ord`` of its rows in ``kept``) and the
    items' Parquet file: one row per item, from its first row.

    Items by the key's hash: a hash aggregate, where a window over twelve columns sorts. Exact only when
    no two keys share a hash: as many distinct hashes as distinct keys, checked."""
    con.execute("ALTER TABLE kept ADD COLUMN h UBIGINT")
    con.execute(f"UPDATE kept SET h = hash({_ITEM_KEY})")
    con.execute("CREATE TABLE ids AS SELECT h, min(ord) AS item_id FROM kept GROUP BY h")
    if _one(con, "SELECT count(*) FROM ids") != _one(
        con, f"SELECT count(*) FROM (SELECT DISTINCT {_ITEM_KEY} FROM kept)"
    ):
        raise TallRefused("two items share a hash")
    con.execute(
        f"""COPY (SELECT i.item_id, k.code, c.codes, c.code_types, c.ndc, k.description, k.billing_class,
                  k.setting, k.drug_unit, k.drug_type, coalesce(m.list, []::VARCHAR[]) AS modifiers,
                  k.gross AS gross_usd, k.discounted_cash AS discounted_cash_usd, k.minimum AS minimum_usd,
                  k.maximum AS maximum_usd, k.k + 4 + k.before AS source_row
            FROM kept k JOIN ids i ON i.h = k.h
            JOIN (SELECT DISTINCT ON (cid) cid, codes, code_types, ndc FROM judged) c ON c.cid = k.cid
            LEFT JOIN (SELECT DISTINCT ON (mid) mid, list FROM mods) m ON m.mid = k.mid AND k.mid > 0
            WHERE k.ord = i.item_id)
        TO '{_quoted(folder / PARQUET_ITEMS)}' (FORMAT parquet)"""
    )


def _texts(fields: list[str]) -> str:
    """Text as ``str.strip()`` leaves it, empty as NULL (a cell of printable ASCII at both ends as is)."""
    return ", ".join(
        f"CASE WHEN ascii(r.f_{f}) BETWEEN 33 AND 126 AND ascii(right(r.f_{f}, 1)) BETWEEN 33 AND 126 "
        f"THEN r.f_{f} ELSE nullif(trim(r.f_{f}, $ws), '') END AS {f}"
        for f in fields
    )


def _numbers(fields: list[str]) -> str:
    """An amount of digits cast (both round correctly); any other text aside (odd_*) for amount()."""
    return ", ".join(
        f"CASE WHEN regexp_full_match(r.f_{f}, '{_PLAIN}') THEN CAST(r.f_{f} AS DOUBLE) END AS {f}, "
        f"CASE WHEN NOT regexp_full_match(r.f_{f}, '{_PLAIN}') THEN r.f_{f} END AS odd_{f}"
        for f in fields
    )


def _end(con: duckdb.DuckDBPyConnection) -> tuple[int, int, int]:
    """The number of records, of line ends inside fields not kept and of commas inside fields, from the
    pipe's end line, which must be the last record (data ending inside a quoted field would have
    swallowed it); then dropped."""
    found = con.execute(
        "SELECT k, before, commas, k = (SELECT max(k) FROM raw) FROM raw WHERE fin"
    ).fetchall()
    if len(found) != 1 or not found[0][3]:
        raise TallRefused("the pipe's end line is not the last record")
    con.execute("DELETE FROM raw WHERE fin")
    return int(found[0][0]), int(found[0][1]), int(found[0][2])


def level2_only(keep_code: Callable[[str], bool]) -> bool:
    """Whether ``keep_code`` keeps Level II codes only: :func:`is_level2`, or a set's ``__contains__``
    (``--codes``, the store's codes) whose members all are. Then only records with a cell that may hold
    one are stored."""
    if keep_code is is_level2:
        return True
    members = getattr(keep_code, "__self__", None)
    return (
        getattr(keep_code, "__name__", None) == "__contains__"
        and isinstance(members, (set, frozenset))
        and all(isinstance(m, str) and LEVEL2_CODE.match(m) for m in members)
    )


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchone()
    return int(row[0]) if row else 0


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")


def _judged(
    keys: Iterable[tuple[str, ...]], cols: TallColumns, names: list[str], keep_code: Callable[[str], bool]
) -> _Columns:
    """Per distinct set of code cells: the kept codes, the row's codes and types (as the CSV staging
    stores them: joined, then split; none as NULL) and its NDC."""
    judge = CodeJudge(cols.codes, keep_code)
    out: dict[str, list[Any]] = {n: [] for n in (*names, "kept", "codes", "code_types", "ndc", "cid")}
    ids: dict[tuple[str, str], int] = {}
    for key in keys:
        kept, pairs = judge(key)
        if not kept:
            continue
        for name, value in zip(names, key, strict=True):
            out[name].append(value)
        codes, types = "\x1f".join(c for c, _ in pairs), "\x1f".join(t for _, t in pairs)
        out["kept"].append(list(kept))
        out["codes"].append(codes.split("\x1f") if codes else None)
        out["code_types"].append(types.split("\x1f") if types else None)
        out["ndc"].append(next((c for c, t in pairs if t.upper() == "NDC"), None))
        out["cid"].append(ids.setdefault((codes, types), len(ids)))  # equal lists, one id: the item key
    lists = {"kept", "codes", "code_types"}
    return {
        n: ("VARCHAR[]" if n in lists else "BIGINT" if n == "cid" else "VARCHAR", v) for n, v in out.items()
    }


def _amounts(texts: list[str]) -> _Columns:
    values: list[str | None] = []
    for text in texts:
        try:
            value = amount(text)
        except ValueError:
            raise TallRefused(f"not a number: {text[:40]!r}") from None
        values.append(None if value is None else repr(value))  # DuckDB's cast of repr: the same double
    return {"v": ("VARCHAR", texts), "x": ("DOUBLE", values)}


def _modifiers(texts: list[str]) -> _Columns:
    lists = [sorted(split_list(t)) for t in texts]
    ids: dict[tuple[str, ...], int] = {(): 0}
    mid = [ids.setdefault(tuple(m), len(ids)) for m in lists]  # equal lists, one id: the item key
    return {"v": ("VARCHAR", texts), "list": ("VARCHAR[]", lists), "mid": ("BIGINT", mid)}


#: Columns of a table made from Python values: name -> (DuckDB type, values).
_Columns = dict[str, tuple[str, list[Any]]]


def _table(con: duckdb.DuckDBPyConnection, name: str, columns: _Columns, folder: Path) -> None:
    """A table of Python values, handed over as one JSON file that DuckDB's reader parses in C: lists as
    query parameters convert value by value (50,000 rows of three columns: 0.23 s against 0.03 s), and
    pyarrow costs its import (0.14-0.23 s) on a path that needs nothing else of it."""
    path = folder / f"{name}.json"
    values = zip(*(v for _, v in columns.values()), strict=True)
    rows = (dict(zip(columns, row, strict=True)) for row in values)
    with path.open("wb") as out:  # in batches: a dict per row is held for one batch only
        out.write(b"[")
        for n, batch in enumerate(iter(lambda: list(islice(rows, 1 << 16)), [])):
            out.write((b"," if n else b"") + orjson.dumps(batch)[1:-1])
        out.write(b"]")
    spec = ", ".join(f"{n}: '{'VARCHAR' if t == 'DOUBLE' else t}'" for n, (t, _) in columns.items())
    picks = ", ".join(f"CAST({n} AS DOUBLE) AS {n}" if t == "DOUBLE" else n for n, (t, _) in columns.items())
    try:
        con.execute(
            f"CREATE TABLE {name} AS SELECT {picks} FROM read_json(?, columns = {{{spec}}}, format = 'array')",
            [str(path)],
        )
    finally:
        path.unlink(missing_ok=True)
