"""A JSON hospital file's kept items, read by DuckDB's JSON reader from a pipe, staged in SQL.

The scanner (:func:`..sources.hospital.jsonfile.pipe_json`) finds the kept items and writes each as one
line, its bytes as written: ``{"k": kept codes, "o": byte offset, "i": the item}``. Here DuckDB parses
them (on the other core, while Python scans) and does in SQL what :func:`item_parts` and
:class:`.hospital_staging.HospitalStaging` do per item, to the same stored values
(``tests/test_hospital_json.py`` compares them record for record with the orjson path's):

- text: trimmed of exactly what ``str.strip`` trims, empty as NULL; codes and types trimmed, a code
  empty or absent skipped; modifiers trimmed and sorted;
- amounts: read as text (a JSON number as its shortest round-trip digits, which cast back to the same
  double); digits are DuckDB's cast, any other distinct text goes through the orjson path's
  ``_number`` ("$1,055.50", " 7.5 "); one it refuses gives way;
- items: a distinct (code, codes ... maximum), numbered by its first item, kept code and standard charge
  (an ``item_id`` unique in the file, not dense), its byte that of that item; grouped by the key's hash,
  refused (give way) unless there are as many hashes as keys; a charge per payer entry that names a
  payer or a value, in file order.

Anything DuckDB's reader refuses (a line that is not one object: a wrong end hint; duplicate keys; a
value of an unexpected shape; an item over 16 MB) gives way: the orjson path reads or refuses the file.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from ..sources.hospital.jsonfile import number
from .hospital_tall import PARQUET_CHARGES, PARQUET_ITEMS, WHITESPACE, TallRefused

__all__ = ["JsonLoader"]

#: The worker's DuckDB: spills past this (the kept items of a 5 GB file).
MEMORY = "200MB"
#: An item's kept codes and standard charges fit these many bits of its ``ord`` (item_id).
_CODE_BITS, _CHARGE_BITS = 8, 12
_PLAIN = r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?"
_PAYER = (
    "STRUCT(payer_name VARCHAR, plan_name VARCHAR, standard_charge_dollar VARCHAR, "
    "standard_charge_percentage VARCHAR, standard_charge_algorithm VARCHAR, methodology VARCHAR)"
)
_CHARGE = (
    "STRUCT(billing_class VARCHAR, setting VARCHAR, modifier_code VARCHAR[], gross_charge VARCHAR, "
    f"discounted_cash VARCHAR, minimum VARCHAR, maximum VARCHAR, payers_information {_PAYER}[])"
)
_ITEM = (
    "STRUCT(code_information STRUCT(code VARCHAR, type VARCHAR)[], description VARCHAR, "
    f"drug_information STRUCT(unit VARCHAR, type VARCHAR), standard_charges {_CHARGE}[])"
)
_COLUMNS = f"{{k: 'VARCHAR[]', o: 'BIGINT', i: '{_ITEM}'}}"
_NUMBERS = {
    "drug_unit": "d.unit",
    "gross": "s.gross_charge",
    "discounted_cash": "s.discounted_cash",
    "minimum": "s.minimum",
    "maximum": "s.maximum",
}
_PAYER_NUMBERS = {"dollar": "p.standard_charge_dollar", "percentage": "p.standard_charge_percentage"}
_ITEM_KEY = (
    "code, codes, code_types, description, billing_class, setting, drug_unit, drug_type, modifiers, gross, "
    "discounted_cash, minimum, maximum"
)


class JsonLoader:
    """Reads the segments of kept items' lines (:func:`..sources.hospital.jsonfile.pipe_json`) into one
    table as they come, then stages their items and charges in ``folder`` as Parquet (the tall path's
    files). Use as a context manager."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.con = duckdb.connect()
        self.con.execute(f"SET memory_limit = '{MEMORY}'")
        self.con.execute("SET threads = 1")  # the other core scans
        self.con.execute("SET preserve_insertion_order = false")  # order is by ord, explicitly
        self.con.execute("SET enable_progress_bar = false")
        self.con.execute("SET temp_directory = ?", [str(folder / "duckdb.tmp")])
        # Trimmed only when an end is not printable ASCII: trim() with a set of characters cost 4 s a GB.
        self.con.execute(
            "CREATE MACRO _strip(v) AS CASE WHEN ascii(v) BETWEEN 33 AND 126 AND ascii(right(v, 1)) BETWEEN 33 "
            f"AND 126 THEN v ELSE trim(v, '{WHITESPACE}') END"
        )
        self.con.execute("CREATE MACRO _text(v) AS nullif(_strip(v), '')")
        # Digits are cast here; any other text is kept aside (odd_*) for ``number`` at the end.
        self.con.execute(
            f"CREATE MACRO _plain(v) AS CASE WHEN regexp_full_match(v, '{_PLAIN}') THEN CAST(v AS DOUBLE) END"
        )
        self.con.execute(f"CREATE MACRO _odd(v) AS CASE WHEN NOT regexp_full_match(v, '{_PLAIN}') THEN v END")
        self._started = False

    def __enter__(self) -> JsonLoader:
        return self

    def __exit__(self, *_: object) -> None:
        self.con.close()

    def add(self, path: Path) -> None:
        """One row per kept code and standard charge, its item's fields as stored, its payers as read: the
        work per row is done here, while the scan goes on."""
        into = "INSERT INTO kept" if self._started else "CREATE TABLE kept AS"
        # The codes as the orjson path stages them: joined by a unit separator, an empty join as NULL.
        self.con.execute(
            f"""{into}
            WITH x AS (
                SELECT o, unnest(k) AS code, generate_subscripts(k, 1) AS ki, i.code_information AS ci,
                       i.description AS description, i.drug_information AS d, i.standard_charges AS scs
                FROM read_json(?, format = 'newline_delimited', columns = {_COLUMNS}, compression = 'none')),
            sc AS (
                SELECT o, ki, code, ci, description, d, unnest(scs) AS s, generate_subscripts(scs, 1) AS si
                FROM x),
            y AS (
                SELECT *,
                       list_transform(list_filter(ci, lambda q: q.code IS NOT NULL AND q.code <> ''),
                                      lambda q: {{'c': _strip(q.code), 't': _strip(coalesce(q.type, ''))}})
                           AS pairs,
                       list_transform(pairs, lambda q: q.c) AS cs, list_transform(pairs, lambda q: q.t) AS ts,
                       list_sort(list_transform(s.modifier_code, lambda m: _strip(m))) AS ms
                FROM sc)
            SELECT (o << {_CODE_BITS + _CHARGE_BITS}) + (ki << {_CHARGE_BITS}) + si AS ord, o, ki, si, code,
                   CASE WHEN array_to_string(cs, chr(31)) = '' THEN NULL ELSE cs END AS codes,
                   CASE WHEN array_to_string(ts, chr(31)) = '' THEN NULL ELSE ts END AS code_types,
                   list_filter(pairs, lambda q: upper(q.t) = 'NDC')[1].c AS ndc,
                   _text(description) AS description, _text(s.billing_class) AS billing_class,
                   _text(s.setting) AS setting, _plain(d.unit) AS drug_unit, _text(d.type) AS drug_type,
                   CASE WHEN coalesce(array_to_string(ms, chr(31)), '') = '' THEN []::VARCHAR[] ELSE ms END
                       AS modifiers,
                   _plain(s.gross_charge) AS gross, _plain(s.discounted_cash) AS discounted_cash,
                   _plain(s.minimum) AS minimum, _plain(s.maximum) AS maximum,
                   {", ".join(f"_odd({v}) AS odd_{n}" for n, v in _NUMBERS.items())},
                   s.payers_information AS payers
            FROM y""",
            [str(path)],
        )
        self._started = True

    def finish(self) -> int:
        """Stage the items and charges read; the charges kept (one per kept code, standard charge and
        payer, or per standard charge without a payer)."""
        if not self._started:
            return 0
        return _stage(self.con, self.folder)


def _stage(con: duckdb.DuckDBPyConnection, folder: Path) -> int:
    con.execute("SET threads = 2")  # the scan is over: both cores
    limits = con.execute("SELECT max(ki), max(si) FROM kept").fetchone()
    if limits and limits[0] is not None and (limits[0] >= 1 << _CODE_BITS or limits[1] >= 1 << _CHARGE_BITS):
        raise TallRefused("too many kept codes or standard charges in an item")
    odd = [f"SELECT odd_{n} AS v FROM kept WHERE odd_{n} IS NOT NULL" for n in _NUMBERS] + [
        f"SELECT {v} AS v FROM (SELECT unnest(payers) AS p FROM kept) WHERE NOT regexp_full_match({v}, '{_PLAIN}')"
        for v in _PAYER_NUMBERS.values()
    ]
    texts = [str(r[0]) for r in con.execute(f"SELECT DISTINCT v FROM ({' UNION ALL '.join(odd)})").fetchall()]
    values: list[float | None] = []
    for text in texts:
        try:
            values.append(number(text, "an amount"))
        except ValueError:
            raise TallRefused(f"not a number: {text[:40]!r}") from None
    # A map of a few odd texts, where a lookup table made a correlated join per row (20 s on 1 GB).
    con.execute("SET VARIABLE amounts = MAP(?::VARCHAR[], ?::DOUBLE[])", [texts, values])
    con.execute("CREATE MACRO _number(v) AS coalesce(_plain(v), getvariable('amounts')[v])")
    if texts:
        con.execute(
            "UPDATE kept SET "
            + ", ".join(f"{n} = coalesce({n}, getvariable('amounts')[odd_{n}])" for n in _NUMBERS)
        )
    # Items grouped by their values (exact), joined back by the key's hash: exact when no two items share
    # a hash, checked on the items (one aggregate, where grouping by hash and counting distinct keys
    # took two passes over the rows).
    con.execute(
        f"CREATE TABLE ids AS SELECT hash({_ITEM_KEY}) AS h, min(ord) AS item_id FROM kept GROUP BY {_ITEM_KEY}"
    )
    if _one(con, "SELECT count(*) - count(DISTINCT h) FROM ids"):
        raise TallRefused("two items share a hash")
    charges = _one(con, "SELECT coalesce(sum(greatest(1, len(coalesce(payers, [])))), 0) FROM kept")
    key = ", ".join(f"k.{c}" for c in _ITEM_KEY.split(", "))
    con.execute(
        f"""COPY (SELECT i.item_id, k.code, k.codes, k.code_types, k.ndc, k.description, k.billing_class,
                  k.setting, k.drug_unit, k.drug_type, k.modifiers, k.gross AS gross_usd,
                  k.discounted_cash AS discounted_cash_usd, k.minimum AS minimum_usd,
                  k.maximum AS maximum_usd, k.o AS source_row
            FROM kept k JOIN ids i ON i.h = hash({key}) WHERE k.ord = i.item_id ORDER BY i.item_id)
        TO '{_quoted(folder / PARQUET_ITEMS)}' (FORMAT parquet)"""
    )
    con.execute(
        f"""COPY (SELECT item_id, payer_name, plan_name, negotiated_usd, negotiated_pct, negotiated_algorithm,
                         methodology, source_row
            FROM (SELECT item_id, ord, pi, source_row, _text(p.payer_name) AS payer_name,
                         _text(p.plan_name) AS plan_name, _number(p.standard_charge_dollar) AS negotiated_usd,
                         _number(p.standard_charge_percentage) AS negotiated_pct,
                         _text(p.standard_charge_algorithm) AS negotiated_algorithm,
                         _text(p.methodology) AS methodology
                  FROM (SELECT i.item_id, k.ord, k.o AS source_row, unnest(k.payers) AS p,
                               generate_subscripts(k.payers, 1) AS pi
                        FROM kept k JOIN ids i ON i.h = hash({key})))
            WHERE payer_name IS NOT NULL OR negotiated_usd IS NOT NULL OR negotiated_pct IS NOT NULL
               OR negotiated_algorithm IS NOT NULL
            ORDER BY ord, pi)
        TO '{_quoted(folder / PARQUET_CHARGES)}' (FORMAT parquet)"""
    )
    return charges


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchone()
    return int(row[0]) if row else 0


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")
