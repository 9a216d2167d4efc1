"""Facts from OPPS Addendum B: status indicator, APC and national unadjusted payment rate."""

from __future__ import annotations

from collections.abc import Callable

from ..data import lookup
from .model import OppsFacts
from .snapshot import VersionedRow

__all__ = ["opps_facts", "status_indicator_meaning"]


def status_indicator_meaning(si: str | None) -> str | None:
    if not si:
        return None
    return lookup("opps_status_indicators.csv", "status_indicator", "meaning").get(si)


def opps_facts(versions: list[VersionedRow], carries: Callable[[VersionedRow, str], bool]) -> OppsFacts:
    """The latest version's facts; its APC from the latest file that has one when its format has none."""
    v = versions[-1]
    row = v.row
    apc_from = v if carries(v, "apc") else next((o for o in reversed(versions) if o.row["apc"]), None)
    apc = apc_from.row["apc"] if apc_from else None
    return OppsFacts(
        status_indicator=row["status_indicator"],
        status_meaning=status_indicator_meaning(row["status_indicator"]),
        apc=apc,
        payment_rate=row["payment_rate_usd"],
        relative_weight=row["relative_weight"],
        national_copay=row["national_copay_usd"],
        minimum_copay=row["minimum_copay_usd"],
        effective_start=v.file.effective_start,
        source_file=v.file.file_name,
        apc_source_file=apc_from.file.file_name if apc_from and apc else None,
        apc_effective_start=apc_from.file.effective_start if apc_from and apc else None,
    )
