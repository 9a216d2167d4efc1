"""Related HCPCS codes, derived only from loaded files: cross-references, shared NDCs, same drug name."""

from __future__ import annotations

import re
from collections import defaultdict
from functools import cached_property

from .crosswalk import codes_by_ndc
from .hcpcs import status
from .model import Related, RelatedCode
from .snapshot import Snapshot

__all__ = ["RelatedIndex"]

# "Injection, belinostat, 10 mg" -> "belinostat"; biosimilar suffixes ("-xxxx") are kept apart.
_DRUG_NAME = re.compile(
    r"^(?:injection|infusion|inhalation solution|implant),\s*([a-z][a-z\- ]+?)\s*(?:\(|,|$)", re.I
)


def drug_name(long_descriptor: str | None) -> str | None:
    match = _DRUG_NAME.match(long_descriptor or "")
    if not match:
        return None
    return match.group(1).lower().split("-")[0].strip() or None


class RelatedIndex:
    """Indexes built once per snapshot."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    @cached_property
    def _by_ndc(self) -> dict[str, set[str]]:
        return codes_by_ndc(self.snapshot)

    @cached_property
    def _by_drug(self) -> dict[str, set[str]]:
        index: dict[str, set[str]] = defaultdict(set)
        for code, versions in self.snapshot.rows["hcpcs"].items():
            name = drug_name(versions[-1].row["long_description"])
            if name:
                index[name].add(code)
        return index

    def _descriptor(self, code: str) -> str | None:
        latest = self.snapshot.latest("hcpcs", code)
        return latest.row["long_description"] if latest else None

    def _related_code(self, code: str, relation: str) -> RelatedCode:
        latest = self.snapshot.latest("hcpcs", code)
        if latest is None:
            return RelatedCode(code, relation, None)
        s = status(latest)
        state = "active" if s.active else "terminated"
        return RelatedCode(
            code, relation, latest.row["long_description"], state, s.terminated, s.replacement_codes
        )

    def related(self, code: str, xrefs: list[str]) -> Related:
        found: dict[str, str] = {}
        for xref in xrefs:
            found.setdefault(xref, "cross-reference in the HCPCS file")
        for v in self.snapshot.versions("crosswalk", code):
            for other in sorted(self._by_ndc.get(v.row["ndc"], set()) - {code}):
                found.setdefault(other, f"shares NDC {v.row['ndc']} in the ASP crosswalk")
        name = drug_name(self._descriptor(code))
        for other in sorted(self._by_drug.get(name, set()) - {code}) if name else []:
            found.setdefault(other, f"same drug name ({name}) in the HCPCS descriptor")
        hcpcs = [self._related_code(c, relation) for c, relation in found.items()]
        # A terminated code is no alternative to bill: it comes after every current one.
        hcpcs.sort(key=lambda r: r.status == "terminated")
        # No ICD-10 pairing or taxonomy source is loaded: coverage articles / NUCC are not in the store.
        return Related(icd10=[], taxonomies=[], hcpcs=hcpcs)
