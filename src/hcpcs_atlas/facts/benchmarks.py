"""Rate statistics: percentiles by linear interpolation between order statistics (numpy's default).

Figures are exact floats as computed, never rounded: a rate per 0.1 mg can be a fraction of a cent.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from .model import Benchmarks

__all__ = ["benchmarks", "pct_of", "percentile"]


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) of ascending values: value at rank (n-1)*q/100, interpolated."""
    rank = (len(sorted_values) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (rank - low)


def benchmarks(values: Sequence[float]) -> Benchmarks:
    ordered = sorted(values)
    p10, p25, median, p75, p90 = (percentile(ordered, q) for q in (10, 25, 50, 75, 90))
    return Benchmarks(len(ordered), ordered[0], p10, p25, median, p75, p90, ordered[-1])


def pct_of(value: float, medicare: float | None) -> float | None:
    """``value`` as a percent of the Medicare amount (same billing unit), exact; renderers round."""
    if not medicare:
        return None
    return value / medicare * 100
