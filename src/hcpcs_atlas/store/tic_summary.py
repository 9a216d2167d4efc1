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

from collections.abc import Callable, Iterable
from datetime import date
from typing import NamedTuple

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
    stats: list[float] | None  # n, min, p10, p25, median, p75, p90, max of the rates
    npis: list[int] | None = None


#: What the code's rows name, distinct: their lists, expiration dates and files (a few hundred rows).
_CODE_PARTS = """
CREATE OR REPLACE TEMP TABLE tic_code_parts AS
SELECT DISTINCT coalesce(modifiers_id, -1) AS modifiers_id, coalesce(service_codes_id, -1) AS service_codes_id,
       expiration_date, file_id
FROM core_tic_rate_rows WHERE billing_code = $code
"""

#: Per list the code's rows name (a missing list, -1, is the empty one), an integer equal for equal lists
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

#: The code's rows, each with what makes it an observation and its kind. Whether a row is suspect depends on
#: its rate alone, so rows are classified before they are merged.
_CODE_ROWS = """
CREATE OR REPLACE TEMP TABLE tic_code_rows AS
SELECT r.file_id, r.payer, coalesce(t.plan_label, t.reporting_entity_name, r.payer) AS plan,
       CASE WHEN NOT coalesce(list_contains($dollar, lower(r.negotiated_type)), false) THEN 'non-dollar'
            WHEN x.e IS NOT NULL THEN 'expired'
            WHEN NOT coalesce($low * $medicare <= r.negotiated_rate AND r.negotiated_rate <= $high * $medicare,
                              true) THEN 'suspect'
            ELSE 'dollar' END AS kind,
       lower(r.negotiated_type) AS negotiated_type, r.tin_value, r.billing_class, r.negotiated_rate AS rate,
       m.modifiers_key AS modifiers, s.service_key, list_filter(coalesce(r.npis, []), lambda n: n <> 0) AS npis
FROM core_tic_rate_rows r JOIN core_tic_files t USING (file_id)
JOIN tic_code_keys m ON m.id = coalesce(r.modifiers_id, -1)
JOIN tic_code_keys s ON s.id = coalesce(r.service_codes_id, -1)
LEFT JOIN (SELECT unnest($exp_e) AS e, unnest($exp_f) AS f) x ON x.e = r.expiration_date AND x.f = r.file_id
WHERE r.billing_code = $code
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
    SELECT DISTINCT payer, kind, CASE WHEN kind = 'non-dollar' THEN negotiated_type END AS type, tin_value,
           billing_class, rate, modifiers, service_key, CASE WHEN kind = 'dollar' THEN plan END AS plan
    FROM tic_code_rows
), kept AS MATERIALIZED (
    SELECT DISTINCT payer, tin_value, billing_class, rate, service_key, modifiers FROM obs WHERE kind = 'dollar'
), service_sites AS (
    SELECT DISTINCT k.service_key, coalesce(g.site, 'other') AS site
    FROM (SELECT service_key, unnest(service_codes) AS code FROM tic_code_keys) k
    LEFT JOIN (SELECT unnest($group_codes) AS code, unnest($group_sites) AS site) g USING (code)
    UNION ALL
    SELECT DISTINCT service_key, $unspecified FROM tic_code_keys WHERE len(service_codes) = 0
)
SELECT * EXCLUDE (rates), {_STATS} AS stats FROM (
SELECT payer, 'file', NULL, file_id, NULL FROM (SELECT DISTINCT payer, file_id FROM tic_code_rows)
UNION ALL SELECT payer, 'all', NULL, NULL, list_sort(list(rate)) FROM kept GROUP BY payer
UNION ALL SELECT payer, 'billing_class', coalesce(nullif(billing_class, ''), $unspecified), NULL,
                 list_sort(list(rate)) FROM kept GROUP BY ALL
UNION ALL SELECT k.payer, 'site', s.site, NULL, list_sort(list(k.rate))
          FROM kept k JOIN service_sites s USING (service_key) GROUP BY ALL
UNION ALL SELECT payer, 'plan', plan, NULL, list_sort(list(rate)) FROM obs WHERE kind = 'dollar' GROUP BY ALL
UNION ALL SELECT payer, kind, NULL, count(*), NULL FROM obs WHERE kind IN ('suspect', 'expired') GROUP BY ALL
UNION ALL SELECT payer, 'non-dollar', type, count(*), NULL FROM obs WHERE kind = 'non-dollar' GROUP BY ALL
UNION ALL SELECT payer, 'tins', NULL, count(DISTINCT tin_value) FILTER (WHERE tin_value <> ''), NULL
          FROM kept GROUP BY payer
UNION ALL SELECT payer, 'providers', NULL, count(DISTINCT npi), NULL
          FROM (SELECT payer, unnest(npis) AS npi FROM tic_code_rows WHERE kind = 'dollar') GROUP BY payer
) AS summary(payer, dim, name, n, rates)
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


def _read_code(store: Store, code: str, medicare: float | None, rules: CodeRules) -> None:
    """Read the code's rows into tic_code_rows, classified by the caller's rules (decided in Python on
    the distinct lists, expiration dates and files of the code's rows)."""
    con = store.con
    con.execute(_CODE_PARTS, {"code": code})
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
    con.execute(
        _CODE_ROWS,
        {"code": code, "dollar": sorted(rules.dollar_types), "low": rules.suspect[0], "high": rules.suspect[1],
         "medicare": medicare or None, "exp_e": [e for e, _ in expired], "exp_f": [f for _, f in expired]},
    )  # fmt: skip


def _drop(store: Store) -> None:
    store.con.execute(
        "DROP TABLE IF EXISTS tic_code_parts; DROP TABLE IF EXISTS tic_code_keys; DROP TABLE IF EXISTS tic_code_rows"
    )


def code_summary(store: Store, code: str, medicare: float | None, rules: CodeRules) -> list[CodeSummary]:
    """The per-payer figures of ``code``, and last a row of every payer's NPIs (payer None)."""
    try:
        _read_code(store, code, medicare, rules)
        params = {
            "group_codes": list(rules.site_groups),
            "group_sites": list(rules.site_groups.values()),
            "unspecified": rules.unspecified,
        }
        rows = [CodeSummary(*row) for row in store.con.execute(_CODE_SUMMARY, params).fetchall()]
        npis = store.con.execute(_CODE_NPIS).fetchnumpy()["npi"]
        return [*rows, CodeSummary(None, "npis", None, None, None, npis.tolist())]
    finally:
        _drop(store)


def kept_npis(
    store: Store, code: str, medicare: float | None, rules: CodeRules
) -> list[tuple[float, list[int]]]:
    """(rate, NPIs) of each dollar observation of ``code`` the benchmarks keep that names NPIs."""
    try:
        _read_code(store, code, medicare, rules)
        return [(float(rate), list(npis)) for rate, npis in store.con.execute(_KEPT_NPIS).fetchall()]
    finally:
        _drop(store)
