"""A code's TiC rates summarised in SQL: what the payer benchmarks need, in a few rows (docs/methodology.md).

Collecting a code's 50,000 rate rows in Python cost ~1.6 s CPU (tic_facts_scale.py at 100 M rows); here
DuckDB reads them once into a temporary table of this connection, each row classified (dollar, expired,
suspect, non-dollar) with integer keys for its lists, then merges and groups them; Python receives the
benchmark figures of each breakdown, the counts and the distinct NPIs.

What makes two rows one observation (modifiers without "00") and which rates are expired are decided in
Python by the caller's rules, on the distinct values of the code's rows (its lists, its expiration dates
and files), then applied by DuckDB: the rules stay the methodology's exactly (``str.strip``,
``date.fromisoformat``), and no Python runs per row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date
from typing import Any, NamedTuple

from .db import Store, settings

__all__ = [
    "CodeRules",
    "CodeSummary",
    "code_summary",
    "forget_summaries",
    "kept_npis",
    "live_summary",
    "stored_summary",
    "write_summaries",
]


class CodeRules(NamedTuple):
    """The methodology's rules, as the facts layer defines them."""

    dollar_types: Iterable[str]
    suspect: tuple[float, float]  # (low, high) multiples of the Medicare amount
    not_a_modifier: Callable[[str], bool]
    expired: Callable[[str | None, date | None], bool]
    site_groups: dict[str, str]
    unspecified: str
    key: str = ""  # names these rules in stored summaries; "" : none is read or written


class CodeSummary(NamedTuple):
    """One figure of a payer for a code: ``dim`` says which (see _CODE_SUMMARY)."""

    payer: str | None  # None: the row of every payer's NPIs
    dim: str
    name: str | None
    n: int | None
    stats: list[float] | None  # n, min, p10, p25, median, p75, p90, max of the rates
    npis: list[int] | None = None


#: The codes read and the Medicare amount of each (the suspect rule's unit): one code for a request,
#: a range of codes when summaries are written.
_WANT = """
CREATE OR REPLACE TEMP TABLE tic_code_want AS
SELECT unnest($codes::VARCHAR[]) AS billing_code, unnest($medicare::DOUBLE[]) AS medicare
"""

#: What the codes' rows name, distinct: their lists, expiration dates and files (a few hundred rows). The
#: range first: DuckDB's zone maps skip the row groups outside it.
_CODE_PARTS = """
CREATE OR REPLACE TEMP TABLE tic_code_parts AS
SELECT DISTINCT coalesce(modifiers_id, -1) AS modifiers_id, coalesce(service_codes_id, -1) AS service_codes_id,
       expiration_date, file_id
FROM core_tic_rate_rows
WHERE billing_code BETWEEN $first AND $last AND billing_code IN (SELECT billing_code FROM tic_code_want)
"""

#: Per list the codes' rows name (a missing list, -1, is the empty one), an integer equal for equal lists
#: as an observation compares them (modifiers without the rule's non-modifiers, both sorted): the merge
#: then groups integers, not lists.
_CODE_KEYS = """
CREATE OR REPLACE TEMP TABLE tic_code_keys AS
SELECT id, list_sort(codes) AS service_codes,
       dense_rank() OVER (ORDER BY list_sort(list_filter(codes, lambda m: NOT list_contains($not_mods, m))))
           AS modifiers_key,
       dense_rank() OVER (ORDER BY list_sort(codes)) AS service_key
FROM (SELECT i.id, coalesce(l.codes, []) AS codes
      FROM (SELECT modifiers_id AS id FROM tic_code_parts UNION SELECT service_codes_id FROM tic_code_parts) i
      LEFT JOIN core_tic_lists l ON l.list_id = i.id)
"""

#: The provider groups of the codes' rows: their sets first (a few thousand ids), then those sets' groups;
#: the sets table is in (file_id, pset) order, so the ids' min and max, pushed into its scan, skip the row
#: groups of other files.
_CODE_SETS = """
CREATE OR REPLACE TEMP TABLE tic_code_sets AS
WITH ids AS MATERIALIZED (
    SELECT DISTINCT file_id, pset FROM core_tic_rate_rows
    WHERE billing_code BETWEEN $first AND $last AND billing_code IN (SELECT billing_code FROM tic_code_want)
)
SELECT g.file_id, g.pset, g.tin_value, g.npis
FROM core_tic_provider_sets g JOIN ids USING (file_id, pset)
"""

#: The codes' rows, each with what makes it an observation and its kind. Whether a row is suspect depends
#: on its rate alone, so rows are classified before they are merged.
_CODE_ROWS = """
CREATE OR REPLACE TEMP TABLE tic_code_rows AS
SELECT r.billing_code, r.file_id, r.payer, coalesce(t.plan_label, t.reporting_entity_name, r.payer) AS plan,
       CASE WHEN NOT coalesce(list_contains($dollar, lower(r.negotiated_type)), false) THEN 'non-dollar'
            WHEN x.e IS NOT NULL THEN 'expired'
            WHEN NOT coalesce($low * w.medicare <= r.negotiated_rate
                              AND r.negotiated_rate <= $high * w.medicare, true) THEN 'suspect'
            ELSE 'dollar' END AS kind,
       lower(r.negotiated_type) AS negotiated_type, g.tin_value, r.billing_class, r.negotiated_rate AS rate,
       m.modifiers_key AS modifiers, s.service_key, list_filter(coalesce(g.npis, []), lambda n: n <> 0) AS npis
FROM core_tic_rate_rows r JOIN core_tic_files t USING (file_id)
JOIN tic_code_sets g ON g.file_id = r.file_id AND g.pset = r.pset
JOIN tic_code_want w USING (billing_code)
JOIN tic_code_keys m ON m.id = coalesce(r.modifiers_id, -1)
JOIN tic_code_keys s ON s.id = coalesce(r.service_codes_id, -1)
LEFT JOIN (SELECT unnest($exp_e) AS e, unnest($exp_f) AS f) x ON x.e = r.expiration_date AND x.f = r.file_id
WHERE r.billing_code BETWEEN $first AND $last
"""

#: The benchmarks of ascending ``rates``: [n, min, p10, p25, median, p75, p90, max], each percentile by
#: facts.benchmarks.percentile's arithmetic, operation for operation (the figures are equal to the last
#: bit: tests/test_tic_summary.py), so that 8 numbers, not 50,000, come back to Python.
_PERCENTILE = """rates[floor((len(rates) - 1) * q / 100)::BIGINT + 1]
    + (rates[least(floor((len(rates) - 1) * q / 100)::BIGINT + 1, len(rates) - 1) + 1]
       - rates[floor((len(rates) - 1) * q / 100)::BIGINT + 1])
      * ((len(rates) - 1) * q / 100 - floor((len(rates) - 1) * q / 100))"""
_STATS = f"""CASE WHEN len(rates) > 0 THEN
    list_concat(list_concat([len(rates)::DOUBLE, rates[1]],
                            list_transform([10, 25, 50, 75, 90], lambda q: {_PERCENTILE})), [rates[-1]])
END"""

_CODE_SUMMARY = f"""
WITH obs AS MATERIALIZED (
    SELECT DISTINCT billing_code, payer, kind, CASE WHEN kind = 'non-dollar' THEN negotiated_type END AS type,
           tin_value, billing_class, rate, modifiers, service_key, CASE WHEN kind = 'dollar' THEN plan END AS plan
    FROM tic_code_rows
), kept AS MATERIALIZED (
    SELECT DISTINCT billing_code, payer, tin_value, billing_class, rate, service_key, modifiers
    FROM obs WHERE kind = 'dollar'
), service_sites AS (
    SELECT DISTINCT k.service_key, coalesce(g.site, 'other') AS site
    FROM (SELECT service_key, unnest(service_codes) AS code FROM tic_code_keys) k
    LEFT JOIN (SELECT unnest($group_codes) AS code, unnest($group_sites) AS site) g USING (code)
    UNION ALL
    SELECT DISTINCT service_key, $unspecified FROM tic_code_keys WHERE len(service_codes) = 0
)
SELECT * EXCLUDE (rates), {_STATS} AS stats FROM (
SELECT billing_code, payer, 'file', NULL, file_id, NULL
    FROM (SELECT DISTINCT billing_code, payer, file_id FROM tic_code_rows)
UNION ALL SELECT billing_code, payer, 'all', NULL, NULL, list_sort(list(rate)) FROM kept GROUP BY ALL
UNION ALL SELECT billing_code, payer, 'billing_class', coalesce(nullif(billing_class, ''), $unspecified), NULL,
                 list_sort(list(rate)) FROM kept GROUP BY ALL
UNION ALL SELECT k.billing_code, k.payer, 'site', s.site, NULL, list_sort(list(k.rate))
          FROM kept k JOIN service_sites s USING (service_key) GROUP BY ALL
UNION ALL SELECT billing_code, payer, 'plan', plan, NULL, list_sort(list(rate))
          FROM obs WHERE kind = 'dollar' GROUP BY ALL
UNION ALL SELECT billing_code, payer, kind, NULL, count(*), NULL
          FROM obs WHERE kind IN ('suspect', 'expired') GROUP BY ALL
UNION ALL SELECT billing_code, payer, 'non-dollar', type, count(*), NULL FROM obs WHERE kind = 'non-dollar' GROUP BY ALL
UNION ALL SELECT billing_code, payer, 'tins', NULL, count(DISTINCT tin_value) FILTER (WHERE tin_value <> ''), NULL
          FROM kept GROUP BY ALL
UNION ALL SELECT billing_code, payer, 'providers', NULL, count(DISTINCT npi), NULL
          FROM (SELECT billing_code, payer, unnest(npis) AS npi FROM tic_code_rows WHERE kind = 'dollar')
          GROUP BY ALL
) AS summary(billing_code, payer, dim, name, n, rates)
"""

#: The distinct NPIs of every counted observation, fetched as a column (a Python list of 50,000 ints from a
#: LIST value cost ~20 ms more).
_CODE_NPIS = """
SELECT DISTINCT unnest(npis) AS npi FROM tic_code_rows WHERE kind = 'dollar'
"""

#: An observation's NPIs: unnested first (an observation without any then has no row), then gathered per
#: observation, ~2x cheaper than merging the lists of its rows.
_KEPT_NPIS = """
SELECT rate, list(DISTINCT npi) FROM (
    SELECT payer, tin_value, billing_class, rate, modifiers, service_key, unnest(npis) AS npi
    FROM tic_code_rows WHERE kind = 'dollar')
GROUP BY payer, tin_value, billing_class, rate, modifiers, service_key
"""


def _read_codes(store: Store, medicare: Mapping[str, float | None], rules: CodeRules) -> None:
    """Read the rows of the codes ``medicare`` names into tic_code_rows, classified by the caller's rules
    (decided in Python on the distinct lists, expiration dates and files of the codes' rows)."""
    con = store.con
    codes = sorted(medicare)
    bounds = {"first": codes[0], "last": codes[-1]}
    con.execute(_WANT, {"codes": codes, "medicare": [medicare[c] or None for c in codes]})
    con.execute(_CODE_PARTS, bounds)
    values = con.execute(
        "SELECT DISTINCT unnest(l.codes) FROM core_tic_lists l WHERE l.list_id IN "
        "(SELECT modifiers_id FROM tic_code_parts)"
    ).fetchall()
    con.execute(_CODE_KEYS, {"not_mods": [m for (m,) in values if rules.not_a_modifier(m)]})
    pairs = con.execute(
        "SELECT DISTINCT p.expiration_date, p.file_id, t.last_updated_on "
        "FROM tic_code_parts p JOIN core_tic_files t USING (file_id)"
    ).fetchall()
    expired = [(e, f) for e, f, updated in pairs if rules.expired(e, updated)]
    con.execute(_CODE_SETS, bounds)
    con.execute(
        _CODE_ROWS,
        {**bounds, "dollar": sorted(rules.dollar_types), "low": rules.suspect[0], "high": rules.suspect[1],
         "exp_e": [e for e, _ in expired], "exp_f": [f for _, f in expired]},
    )  # fmt: skip


def _summary_params(rules: CodeRules) -> dict[str, object]:
    return {
        "group_codes": list(rules.site_groups),
        "group_sites": list(rules.site_groups.values()),
        "unspecified": rules.unspecified,
    }


def _drop(store: Store) -> None:
    store.con.execute(
        "DROP TABLE IF EXISTS tic_code_want; DROP TABLE IF EXISTS tic_code_parts; "
        "DROP TABLE IF EXISTS tic_code_keys; DROP TABLE IF EXISTS tic_code_sets; DROP TABLE IF EXISTS tic_code_rows"
    )


def live_summary(store: Store, code: str, medicare: float | None, rules: CodeRules) -> list[CodeSummary]:
    """The per-payer figures of ``code`` computed from its rows, and last a row of every payer's NPIs
    (payer None)."""
    try:
        _read_codes(store, {code: medicare}, rules)
        query = store.con.execute(_CODE_SUMMARY, _summary_params(rules))
        rows = [CodeSummary(*row[1:]) for row in query.fetchall()]
        npis = store.con.execute(_CODE_NPIS).fetchnumpy()["npi"]
        return [*rows, CodeSummary(None, "npis", None, None, None, npis.tolist())]
    finally:
        _drop(store)


def kept_npis(
    store: Store, code: str, medicare: float | None, rules: CodeRules
) -> list[tuple[float, list[int]]]:
    """(rate, NPIs) of each dollar observation of ``code`` the benchmarks keep that names NPIs."""
    try:
        _read_codes(store, {code: medicare}, rules)
        return [(float(rate), list(npis)) for rate, npis in store.con.execute(_KEPT_NPIS).fetchall()]
    finally:
        _drop(store)


# --- stored summaries -------------------------------------------------------------------------------------

#: A stored summary answers only for the Medicare amount and rules it was computed with (else: live).
_STORED = """
SELECT payer, dim, name, n, stats FROM core_tic_code_summaries
WHERE billing_code = $code AND rules = $rules AND medicare IS NOT DISTINCT FROM $medicare AND payer IS NOT NULL
"""
_STORED_NPIS = """
SELECT unnest(npis) AS npi FROM core_tic_code_summaries
WHERE billing_code = $code AND rules = $rules AND medicare IS NOT DISTINCT FROM $medicare AND payer IS NULL
"""

#: The summaries of the codes read into tic_code_rows, as live_summary computes them, and a row of each
#: code's NPIs (payer NULL; every code gets one, so its presence says the code is stored).
_WRITE = f"""
INSERT INTO core_tic_code_summaries
SELECT s.billing_code, w.medicare, $rules, s.payer, s.dim, s.name, s.n, s.stats, NULL
FROM ({_CODE_SUMMARY}) s JOIN tic_code_want w USING (billing_code)
ORDER BY s.billing_code
"""
_WRITE_NPIS = """
INSERT INTO core_tic_code_summaries
SELECT w.billing_code, w.medicare, $rules, NULL, 'npis', NULL, NULL, NULL, coalesce(n.npis, [])
FROM tic_code_want w LEFT JOIN (
    SELECT billing_code, list(DISTINCT npi) AS npis
    FROM (SELECT billing_code, unnest(npis) AS npi FROM tic_code_rows WHERE kind = 'dollar') GROUP BY 1
) n USING (billing_code)
ORDER BY w.billing_code
"""

#: Summaries are written a range of codes at a time, about this many rate rows each, in this much of
#: DuckDB's memory (as compaction rewrites them: store/tic.py).
SUMMARY_ROWS = 1_000_000
SUMMARY_MEMORY = "200MB"


def _stored_key(medicare: float | None) -> float | None:
    return medicare or None  # as _read_codes passes it: 0 is no amount


def stored_summary(
    store: Store, code: str, medicare: float | None, rules: CodeRules
) -> list[CodeSummary] | None:
    """The summary stored for ``code`` with this Medicare amount and these rules; None: compute it live."""
    if not rules.key:
        return None
    params = {"code": code, "rules": rules.key, "medicare": _stored_key(medicare)}
    rows = [CodeSummary(*row) for row in store.con.execute(_STORED, params).fetchall()]
    if not rows:
        return None
    npis = store.con.execute(_STORED_NPIS, params).fetchnumpy()["npi"]
    return [*rows, CodeSummary(None, "npis", None, None, None, npis.tolist())]


def code_summary(store: Store, code: str, medicare: float | None, rules: CodeRules) -> list[CodeSummary]:
    """The per-payer figures of ``code`` (stored when valid, else live), and last every payer's NPIs."""
    stored = stored_summary(store, code, medicare, rules)
    return stored if stored is not None else live_summary(store, code, medicare, rules)


def forget_summaries(store: Store, source: str, params: dict[str, Any] | list[Any] | None = None) -> None:
    """Drop the stored summaries of the codes of ``source`` (a table expression with a ``billing_code``
    column): rows of them are being added, in the caller's transaction, so a stale one is never read."""
    store.con.execute(
        f"DELETE FROM core_tic_code_summaries WHERE billing_code IN (SELECT billing_code FROM {source})",
        params,
    )


def _batches(counts: list[tuple[str, int]], rows: int) -> list[list[str]]:
    """Consecutive codes (sorted) in batches of about ``rows`` rate rows."""
    batches: list[list[str]] = [[]]
    total = 0
    for code, n in counts:
        if batches[-1] and total + n > rows:
            batches.append([])
            total = 0
        batches[-1].append(code)
        total += n
    return [b for b in batches if b]


def write_summaries(
    store: Store,
    medicare: Mapping[str, float | None],
    rules: CodeRules,
    max_rows: int | None = None,
    rows: int | None = None,
    codes: Iterable[str] | None = None,
    min_rows: int = 0,
) -> int:
    """Store the summary of every code with rates whose stored one is missing or was computed with another
    Medicare amount (``medicare``: the amount facts will pass, None when none) or other rules; returns how
    many codes were written. Nothing is written when those codes hold more than ``max_rows`` rate rows;
    ``codes``: only these are looked at; ``min_rows``: codes with fewer rate rows are left to the live
    computation.

    One transaction per range of codes: a code's summary is written whole or not at all, and one
    transaction for all would keep every range's temporary rows until its commit (5 GB spilled at 100 M).
    """
    if not rules.key:
        return 0
    con = store.con
    counts = con.execute(
        "SELECT billing_code, count(*) FROM core_tic_rate_rows GROUP BY 1 ORDER BY 1"
    ).fetchall()
    stored = dict(
        con.execute(
            "SELECT billing_code, medicare FROM core_tic_code_summaries WHERE payer IS NULL AND rules = ?",
            [rules.key],
        ).fetchall()
    )
    only = set(codes) if codes is not None else None
    due = [
        (str(code), int(n))
        for code, n in counts
        if (only is None or code in only)
        and n >= min_rows
        and (code not in stored or stored[code] != _stored_key(medicare.get(code)))
    ]
    if max_rows is not None and sum(n for _, n in due) > max_rows:
        return 0
    with settings(store, memory_limit=SUMMARY_MEMORY, enable_progress_bar=False):
        con.execute("DELETE FROM core_tic_code_summaries WHERE rules <> ?", [rules.key])
        for batch in _batches(due, rows or SUMMARY_ROWS):
            with store.transaction():
                _read_codes(store, {c: medicare.get(c) for c in batch}, rules)
                con.execute(
                    "DELETE FROM core_tic_code_summaries WHERE billing_code IN (SELECT unnest(?))", [batch]
                )
                con.execute(_WRITE, {**_summary_params(rules), "rules": rules.key})
                con.execute(_WRITE_NPIS, {"rules": rules.key})
            _drop(store)
    return len(due)
