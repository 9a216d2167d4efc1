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
    rates: list[float] | None
    npis: list[int] | None


#: The code's rows with what an observation is made of; modifiers and expiry are settled afterwards.
_CODE_ROWS = """
CREATE OR REPLACE TEMP TABLE tic_code_rows AS
SELECT r.file_id, r.payer, coalesce(t.plan_label, t.reporting_entity_name, r.payer) AS plan,
       lower(r.negotiated_type) AS negotiated_type, r.expiration_date, t.last_updated_on, r.tin_value,
       r.billing_class, r.negotiated_rate, coalesce(r.modifiers, []) AS modifiers,
       list_sort(coalesce(r.service_codes, [])) AS service_codes,
       list_filter(coalesce(r.npis, []), lambda n: n <> 0) AS npis
FROM core_tic_rates r JOIN core_tic_files t USING (file_id)
WHERE r.billing_code = $code
"""

_CODE_SUMMARY = """
WITH rows AS (
    SELECT c.file_id, c.payer, c.plan, c.negotiated_type, x.e IS NOT NULL AS expired, c.tin_value,
           c.billing_class, c.negotiated_rate,
           list_sort(list_filter(c.modifiers, lambda m: NOT list_contains($not_mods, m))) AS modifiers,
           c.service_codes, c.npis
    FROM tic_code_rows c
    LEFT JOIN (SELECT unnest($exp_e) AS e, unnest($exp_u) AS u) x
      ON x.e = c.expiration_date AND x.u = c.last_updated_on
), kinds AS (
    SELECT *, CASE WHEN NOT coalesce(list_contains($dollar, negotiated_type), false) THEN 'non-dollar'
                   WHEN expired THEN 'expired' ELSE 'dollar' END AS kind
    FROM rows
), obs AS MATERIALIZED (
    SELECT payer, tin_value, billing_class, negotiated_rate AS rate, service_codes,
           list_distinct(list(plan)) AS plans, list_distinct(flatten(list(npis))) AS npis,
           coalesce(NOT ($low * $medicare <= negotiated_rate AND negotiated_rate <= $high * $medicare), false)
               AS suspect
    FROM kinds WHERE kind = 'dollar'
    GROUP BY payer, tin_value, billing_class, negotiated_rate, modifiers, service_codes
), kept AS MATERIALIZED (
    SELECT row_number() OVER () AS id, * FROM obs WHERE NOT suspect
), sites AS (
    SELECT DISTINCT k.id, k.payer, k.rate, coalesce(g.site, 'other') AS site
    FROM (SELECT id, payer, rate, unnest(service_codes) AS code FROM kept) k
    LEFT JOIN (SELECT unnest($group_codes) AS code, unnest($group_sites) AS site) g USING (code)
    UNION ALL
    SELECT id, payer, rate, $unspecified FROM kept WHERE len(service_codes) = 0
)
SELECT payer, 'file', NULL, file_id, NULL, NULL FROM (SELECT DISTINCT payer, file_id FROM rows)
UNION ALL SELECT payer, 'all', NULL, NULL, list_sort(list(rate)), NULL FROM kept GROUP BY payer
UNION ALL SELECT payer, 'billing_class', coalesce(nullif(billing_class, ''), $unspecified), NULL,
                 list_sort(list(rate)), NULL FROM kept GROUP BY ALL
UNION ALL SELECT payer, 'site', site, NULL, list_sort(list(rate)), NULL FROM sites GROUP BY ALL
UNION ALL SELECT payer, 'plan', plan, NULL, list_sort(list(rate)), NULL
          FROM (SELECT payer, rate, unnest(plans) AS plan FROM kept) GROUP BY ALL
UNION ALL SELECT payer, 'suspect', NULL, count(*), NULL, NULL FROM obs WHERE suspect GROUP BY payer
UNION ALL SELECT payer, 'tins', NULL, count(DISTINCT tin_value) FILTER (WHERE tin_value <> ''), NULL, NULL
          FROM kept GROUP BY payer
UNION ALL SELECT payer, 'providers', NULL, count(DISTINCT npi), NULL, NULL
          FROM (SELECT payer, unnest(npis) AS npi FROM kept) GROUP BY payer
UNION ALL SELECT payer, 'expired', NULL, count(*), NULL, NULL FROM (
          SELECT DISTINCT payer, tin_value, billing_class, negotiated_rate, modifiers, service_codes
          FROM kinds WHERE kind = 'expired') GROUP BY payer
UNION ALL SELECT payer, 'non-dollar', negotiated_type, count(*), NULL, NULL FROM (
          SELECT DISTINCT payer, negotiated_type, tin_value, billing_class, negotiated_rate, modifiers,
                 service_codes FROM kinds WHERE kind = 'non-dollar') GROUP BY ALL
UNION ALL SELECT NULL, 'npis', NULL, NULL, NULL, list_distinct(flatten(list(npis))) FROM kept
"""


_KEPT_NPIS = """
WITH obs AS (
    SELECT negotiated_rate AS rate, list_distinct(flatten(list(npis))) AS npis,
           coalesce(NOT ($low * $medicare <= negotiated_rate AND negotiated_rate <= $high * $medicare), false)
               AS suspect
    FROM (SELECT c.payer, c.negotiated_type, x.e IS NOT NULL AS expired, c.tin_value, c.billing_class,
                 c.negotiated_rate, c.service_codes, c.npis,
                 list_sort(list_filter(c.modifiers, lambda m: NOT list_contains($not_mods, m))) AS modifiers
          FROM tic_code_rows c
          LEFT JOIN (SELECT unnest($exp_e) AS e, unnest($exp_u) AS u) x
            ON x.e = c.expiration_date AND x.u = c.last_updated_on)
    WHERE coalesce(list_contains($dollar, negotiated_type), false) AND NOT expired
    GROUP BY payer, tin_value, billing_class, negotiated_rate, modifiers, service_codes
)
SELECT rate, npis FROM obs WHERE NOT suspect AND len(npis) > 0
"""


def _read_code(store: Store, code: str, rules: CodeRules) -> dict[str, Any]:
    """Read the code's rows into tic_code_rows; the parameters that settle modifiers and expiry."""
    con = store.con
    con.execute(_CODE_ROWS, {"code": code})
    pairs = con.execute("SELECT DISTINCT expiration_date, last_updated_on FROM tic_code_rows").fetchall()
    expired = [(e, u) for e, u in pairs if rules.expired(e, u)]
    values = con.execute("SELECT DISTINCT unnest(modifiers) FROM tic_code_rows").fetchall()
    return {
        "not_mods": [m for (m,) in values if rules.not_a_modifier(m)],
        "exp_e": [e for e, _ in expired],
        "exp_u": [u for _, u in expired],
        "dollar": sorted(rules.dollar_types),
        "low": rules.suspect[0],
        "high": rules.suspect[1],
    }


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
        store.con.execute("DROP TABLE IF EXISTS tic_code_rows")


def kept_npis(
    store: Store, code: str, medicare: float | None, rules: CodeRules
) -> list[tuple[float, list[int]]]:
    """(rate, NPIs) of each dollar observation of ``code`` the benchmarks keep that names NPIs."""
    try:
        params = _read_code(store, code, rules) | {"medicare": medicare or None}
        return [(float(rate), list(npis)) for rate, npis in store.con.execute(_KEPT_NPIS, params).fetchall()]
    finally:
        store.con.execute("DROP TABLE IF EXISTS tic_code_rows")
