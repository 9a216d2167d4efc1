"""Payer benchmarks by Spark SQL, by the local methodology (docs/methodology.md), to the last bit.

An observation is one distinct (TIN value, billing class, rate, sorted modifiers without "" / "00",
sorted place-of-service codes) per payer and code, over dollar rates (negotiated, derived, fee schedule)
not expired before their file's last_updated_on; with a Medicare payment limit per code, rates outside
0.05x-20x of it are left out. Percentiles are exact: the order statistics interpolated with the very
expression :func:`hcpcs_atlas.facts.benchmarks.percentile` evaluates (rank = (n - 1) * q / 100, then
``s[lo] + (s[hi] - s[lo]) * (rank - lo)``), so the figures equal the local ones exactly. Spark's own
``percentile`` interpolates as ``(hi - rank) * s[lo] + (rank - lo) * s[hi]``, which can differ in the
last bit.
"""

from __future__ import annotations

from collections.abc import Mapping

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from ..facts.tic import DOLLAR_TYPES, NOT_A_MODIFIER, SUSPECT_HIGH, SUSPECT_LOW

__all__ = ["PERCENTILES", "payer_benchmarks"]

PERCENTILES = {"p10": 10, "p25": 25, "median": 50, "p75": 75, "p90": 90}


def payer_benchmarks(rates: DataFrame, medicare: Mapping[str, float] | None = None) -> DataFrame:
    """One row per (payer, billing_code): n_rates, min, p10, p25, median, p75, p90, max.

    ``rates`` has the columns of the ``hcpcs_atlas_tic`` data source; ``medicare`` maps a code to its
    ASP payment limit per billing unit (the suspect-rate rule applies only to codes listed).
    """
    observations = _observations(rates)
    if medicare:
        observations = observations.where(~_suspect(observations, medicare))
    ordered = observations.groupBy("payer", "billing_code").agg(
        F.array_sort(F.collect_list("negotiated_rate")).alias("s")
    )
    n = F.size("s")
    return ordered.select(
        "payer",
        "billing_code",
        n.alias("n_rates"),
        F.element_at("s", 1).alias("min"),
        *(_percentile(F.col("s"), n, q).alias(name) for name, q in PERCENTILES.items()),
        F.element_at("s", -1).alias("max"),
    )


def _observations(rates: DataFrame) -> DataFrame:
    modifiers = F.array_sort(
        F.filter(
            F.coalesce("modifiers", F.array().cast("array<string>")),
            lambda m: ~F.trim(m).isin(*NOT_A_MODIFIER),
        )
    )
    services = F.array_sort(F.coalesce("service_codes", F.array().cast("array<string>")))
    expires = F.try_to_date(F.substring("expiration_date", 1, 10), "yyyy-MM-dd")
    expired = (
        expires.isNotNull() & F.col("last_updated_on").isNotNull() & (expires < F.col("last_updated_on"))
    )
    return (
        rates.where(F.lower("negotiated_type").isin(*DOLLAR_TYPES) & ~expired)
        .select(
            "payer",
            "billing_code",
            "tin_value",
            "billing_class",
            "negotiated_rate",
            modifiers.alias("mods_key"),
            services.alias("pos_key"),
        )
        .distinct()
    )


def _suspect(observations: DataFrame, medicare: Mapping[str, float]) -> Column:
    limits = F.create_map(
        *(x for code, limit in medicare.items() for x in (F.lit(code), F.lit(float(limit))))
    )
    limit = F.element_at(limits, F.col("billing_code"))
    rate = F.col("negotiated_rate")
    inside = (F.lit(SUSPECT_LOW) * limit <= rate) & (rate <= F.lit(SUSPECT_HIGH) * limit)
    # A code without a (non-zero) limit has no suspects, as locally.
    return F.coalesce(limit != 0, F.lit(False)) & ~F.coalesce(inside, F.lit(True))


def _percentile(ordered: Column, n: Column, q: int) -> Column:
    rank = ((n - 1) * q) / F.lit(100)
    low = F.floor(rank)
    high = F.least(low + 1, n - 1)
    lo_value = F.element_at(ordered, (low + 1).cast("int"))
    hi_value = F.element_at(ordered, (high + 1).cast("int"))
    return lo_value + (hi_value - lo_value) * (rank - low)
