"""A code's TiC rates summarised in SQL: what the payer benchmarks need, in a few rows (docs/methodology.md).

Collecting a code's 50,000 rate rows in Python cost ~1.6 s CPU (tic_facts_scale.py at 100 M rows); here
DuckDB reads them once into a temporary table of this connection, and merges and groups them; Python
receives the rates of each breakdown as sorted lists and the counts.

What makes two rows one observation (modifiers without "00") and which rates are expired are decided in
Python by the caller's rules, on the distinct values of the code's rows, then applied by DuckDB: the rules
stay the methodology's exactly (``str.strip``, ``date.fromisoformat``), and no Python runs per row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import Any, NamedTuple

from .db import Store

__all__ = ["CodeRules", "CodeSummary", "code_summary", "kept_npis"]


class CodeRules(NamedTuple):
    """The methodology's rules, as the facts layer defines them."""

    dollar_types: Iterable[str]
    suspect: tuple[float, float]  # (low, high) multiples of the Medicare amount
    not_a_modifier: Callable[[str], bool]
    expired: Callable[[str | None, date | None], bool]
    site_groups: dict[str, str]
    unspecified: str


class CodeSummary(NamedTuple):
    """One figure of a payer for a code: ``dim`` says which (see _CODE_SUMMARY)."""

    payer: str | None  # None: the row of every payer's NPIs
    dim: str
    name: str | None
    n: int | None
    npis: list[int] | None
    stats: list[float] | None  # n, min, p10, p25, median, p75, p90, max of the rates


#: The code's rows with what an observation is made of; modifiers and expiry are settled afterwards. A
#: missing list (NULL id) is the empty list, as -1.
_CODE_ROWS = """
CREATE OR REPLACE TEMP TABLE tic_code_rows AS
SELECT r.file_id, r.payer, coalesce(t.plan_label, t.reporting_entity_name, r.payer) AS plan,
       lower(r.negotiated_type) AS negotiated_type, r.expiration_date, t.last_updated_on, r.tin_value,
       r.billing_class, r.negotiated_rate, coalesce(r.modifiers_id, -1) AS modifiers_id,
       coalesce(r.service_codes_id, -1) AS service_codes_id,
       list_filter(coalesce(r.npis, []), lambda n: n <> 0) AS npis
FROM core_tic_rate_rows r JOIN core_tic_files t USING (file_id)
WHERE r.billing_code = $code
"""

#: The lists the code's rows name (a few dozen), with their codes.
_CODE_LISTS = """
CREATE OR REPLACE TEMP TABLE tic_code_lists AS
SELECT i.id, coalesce(l.codes, []) AS codes
FROM (SELECT modifiers_id AS id FROM tic_code_rows UNION SELECT service_codes_id FROM tic_code_rows) i
LEFT JOIN core_tic_lists l ON l.list_id = i.id
"""

#: Per list id, an integer that is equal for equal lists as an observation compares them (modifiers
#: without the rule's non-modifiers, both sorted): the merge then groups integers, not lists.
_KEYS = """
keys AS MATERIALIZED (
    SELECT id, list_sort(codes) AS service_codes,
           dense_rank() OVER (ORDER BY list_sort(list_filter(codes, lambda m: NOT list_contains($not_mods, m))))
               AS modifiers_key,
           dense_rank() OVER (ORDER BY list_sort(codes)) AS service_key
    FROM tic_code_lists
), rows AS (
    SELECT c.file_id, c.payer, c.plan, c.negotiated_type, x.e IS NOT NULL AS expired, c.tin_value,
           c.billing_class, c.negotiated_rate, m.modifiers_key AS modifiers, s.service_key, c.npis
    FROM tic_code_rows c
    JOIN keys m ON m.id = c.modifiers_id
    JOIN keys s ON s.id = c.service_codes_id
    LEFT JOIN (SELECT unnest($exp_e) AS e, unnest($exp_u) AS u) x
      ON x.e = c.expiration_date AND x.u = c.last_updated_on
)"""

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

#: Whether a row is suspect depends on its rate alone, and an observation's plans and NPIs are the union of
#: its rows': so rows are classified first and observations are DISTINCT keys, with no list built per
#: observation (list aggregates over 50,000 groups were most of this query's time).
_CODE_SUMMARY = f"""
WITH {_KEYS}, kinds AS MATERIALIZED (
    SELECT *, CASE WHEN NOT coalesce(list_contains($dollar, negotiated_type), false) THEN 'non-dollar'
                   WHEN expired THEN 'expired'
                   WHEN NOT coalesce($low * $medicare <= negotiated_rate AND negotiated_rate <= $high * $medicare,
                                     true) THEN 'suspect'
                   ELSE 'dollar' END AS kind
    FROM rows
), obs AS MATERIALIZED (
    SELECT DISTINCT payer, kind, CASE WHEN kind = 'non-dollar' THEN negotiated_type END AS type, tin_value,
           billing_class, negotiated_rate AS rate, modifiers, service_key,
           CASE WHEN kind = 'dollar' THEN plan END AS plan
    FROM kinds
), kept AS MATERIALIZED (
    SELECT DISTINCT payer, tin_value, billing_class, rate, service_key, modifiers FROM obs WHERE kind = 'dollar'
), service_sites AS (
    SELECT DISTINCT k.service_key, coalesce(g.site, 'other') AS site
    FROM (SELECT service_key, unnest(service_codes) AS code FROM keys) k
    LEFT JOIN (SELECT unnest($group_codes) AS code, unnest($group_sites) AS site) g USING (code)
    UNION ALL
    SELECT DISTINCT service_key, $unspecified FROM keys WHERE len(service_codes) = 0
), npis AS (
    SELECT DISTINCT payer, unnest(npis) AS npi FROM kinds WHERE kind = 'dollar'
)
SELECT * EXCLUDE (rates), {_STATS} AS stats FROM (
SELECT payer, 'file', NULL, file_id, NULL, NULL FROM (SELECT DISTINCT payer, file_id FROM kinds)
UNION ALL SELECT payer, 'all', NULL, NULL, list_sort(list(rate)), NULL FROM kept GROUP BY payer
UNION ALL SELECT payer, 'billing_class', coalesce(nullif(billing_class, ''), $unspecified), NULL,
                 list_sort(list(rate)), NULL FROM kept GROUP BY ALL
UNION ALL SELECT k.payer, 'site', s.site, NULL, list_sort(list(k.rate)), NULL
          FROM kept k JOIN service_sites s USING (service_key) GROUP BY ALL
UNION ALL SELECT payer, 'plan', plan, NULL, list_sort(list(rate)), NULL FROM obs WHERE kind = 'dollar' GROUP BY ALL
UNION ALL SELECT payer, kind, NULL, count(*), NULL, NULL FROM obs WHERE kind IN ('suspect', 'expired') GROUP BY ALL
UNION ALL SELECT payer, 'non-dollar', type, count(*), NULL, NULL FROM obs WHERE kind = 'non-dollar' GROUP BY ALL
UNION ALL SELECT payer, 'tins', NULL, count(DISTINCT tin_value) FILTER (WHERE tin_value <> ''), NULL, NULL
          FROM kept GROUP BY payer
UNION ALL SELECT payer, 'providers', NULL, count(*), NULL, NULL FROM npis GROUP BY payer
UNION ALL SELECT NULL, 'npis', NULL, NULL, NULL, list(DISTINCT npi) FROM npis
) AS summary(payer, dim, name, n, rates, npis)
"""


_KEPT_NPIS = f"""
WITH {_KEYS}, obs AS (
    SELECT negotiated_rate AS rate, list_distinct(flatten(list(npis))) AS npis,
           coalesce(NOT ($low * $medicare <= negotiated_rate AND negotiated_rate <= $high * $medicare), false)
               AS suspect
    FROM rows
    WHERE coalesce(list_contains($dollar, negotiated_type), false) AND NOT expired
    GROUP BY payer, tin_value, billing_class, negotiated_rate, modifiers, service_key
)
SELECT rate, npis FROM obs WHERE NOT suspect AND len(npis) > 0
"""


def _read_code(store: Store, code: str, rules: CodeRules) -> dict[str, Any]:
    """Read the code's rows into tic_code_rows, its lists into tic_code_lists; the parameters that
    settle modifiers and expiry."""
    con = store.con
    con.execute(_CODE_ROWS, {"code": code})
    con.execute(_CODE_LISTS)
    pairs = con.execute("SELECT DISTINCT expiration_date, last_updated_on FROM tic_code_rows").fetchall()
    expired = [(e, u) for e, u in pairs if rules.expired(e, u)]
    values = con.execute("SELECT DISTINCT unnest(codes) FROM tic_code_lists").fetchall()
    return {
        "not_mods": [m for (m,) in values if rules.not_a_modifier(m)],
        "exp_e": [e for e, _ in expired],
        "exp_u": [u for _, u in expired],
        "dollar": sorted(rules.dollar_types),
        "low": rules.suspect[0],
        "high": rules.suspect[1],
    }


def _drop(store: Store) -> None:
    store.con.execute("DROP TABLE IF EXISTS tic_code_rows; DROP TABLE IF EXISTS tic_code_lists")


def code_summary(store: Store, code: str, medicare: float | None, rules: CodeRules) -> list[CodeSummary]:
    """The per-payer figures of ``code``; rates in ascending order (Python's sort then has nothing to do)."""
    try:
        params = _read_code(store, code, rules)
        params |= {
            "medicare": medicare or None,
            "group_codes": list(rules.site_groups),
            "group_sites": list(rules.site_groups.values()),
            "unspecified": rules.unspecified,
        }
        return [CodeSummary(*row) for row in store.con.execute(_CODE_SUMMARY, params).fetchall()]
    finally:
        _drop(store)


def kept_npis(
    store: Store, code: str, medicare: float | None, rules: CodeRules
) -> list[tuple[float, list[int]]]:
    """(rate, NPIs) of each dollar observation of ``code`` the benchmarks keep that names NPIs."""
    try:
        params = _read_code(store, code, rules) | {"medicare": medicare or None}
        return [(float(rate), list(npis)) for rate, npis in store.con.execute(_KEPT_NPIS, params).fetchall()]
    finally:
        _drop(store)
