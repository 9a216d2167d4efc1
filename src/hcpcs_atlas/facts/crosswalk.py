"""Facts from the ASP NDC-HCPCS crosswalk: the NDC packages billed under a code."""

from __future__ import annotations

from collections import defaultdict

from .model import NdcFacts
from .snapshot import Snapshot, VersionedRow

__all__ = ["codes_by_ndc", "ndc_facts"]


def ndc_facts(versions: list[VersionedRow]) -> list[NdcFacts]:
    """NDCs of the latest loaded crosswalk that lists the code."""
    if not versions:
        return []
    latest_file = versions[-1].file.file_id
    rows = [v for v in versions if v.file.file_id == latest_file]
    return [_ndc(v) for v in sorted(rows, key=lambda v: v.row["ndc"])]


def _ndc(v: VersionedRow) -> NdcFacts:
    row = v.row
    return NdcFacts(
        ndc=row["ndc"],
        labeler=row["labeler"],
        drug_name=row["drug_name"],
        package_size=row["package_size"],
        package_quantity=row["package_quantity"],
        billing_units_per_item=row["billing_units"],
        billing_units_per_package=row["billing_units_per_package"],
        source_file=v.file.file_name,
    )


def codes_by_ndc(snapshot: Snapshot) -> dict[str, set[str]]:
    index: dict[str, set[str]] = defaultdict(set)
    for code, versions in snapshot.rows["crosswalk"].items():
        for v in versions:
            index[v.row["ndc"]].add(code)
    return index
