"""Assemble the CodeFacts record of a code from a store snapshot."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import cached_property

from ..errors import NoHcpcsFileError, UnknownCodeError
from ..store import SourceFile, Store, sources
from ..store.hospital import codes_with_hospital_rates, hospital_places, hospital_rate_rows
from ..store.tic import codes_with_rates, has_code_rates
from .asp import asp_facts, unit_rule
from .crosswalk import ndc_facts
from .hcpcs import descriptor, detail, status
from .history import (
    Period,
    asp_changes,
    asp_history,
    asp_trend,
    hcpcs_changes,
    hcpcs_history,
    listing_changes,
    ndc_changes,
    ndc_history,
    opps_changes,
    opps_history,
    periods,
    previous_files,
)
from .hospital import hospital_charges, hospital_provider_rates, hospital_rates
from .label import clinical_facts
from .model import (
    AspFacts,
    AspPoint,
    Change,
    ClinicalFacts,
    CodeFacts,
    HcpcsEvent,
    Medicare,
    NdcEvent,
    OppsFacts,
    OppsPoint,
    Provenance,
    ProviderFacts,
)
from .modifiers import applicable_modifiers, dated_rules
from .nppes import provider_facts
from .opps import opps_facts
from .related import RelatedIndex
from .snapshot import Snapshot, VersionedRow
from .tic import tic_facts

__all__ = ["FactsBuilder", "build_facts"]


class FactsBuilder:
    """Builds facts for any number of codes from one snapshot of the store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.snapshot = Snapshot(store)
        self.related = RelatedIndex(self.snapshot)
        self.periods: dict[str, list[Period]] = {
            source: periods(f for f in self.snapshot.files_of(source) if f.series is None)
            for source in HISTORY_SOURCES
        }
        self._histories: dict[str, CodeHistory] = {}

    @cached_property
    def _codes_with_rates(self) -> set[str]:
        return codes_with_rates(self.store)

    @cached_property
    def _has_labels(self) -> bool:
        return any(f.source == "label" for f in self.snapshot.files.values())

    @cached_property
    def _codes_with_hospital_rates(self) -> set[str]:
        return codes_with_hospital_rates(self.store)

    def codes(self) -> list[str]:
        return self.snapshot.codes()

    def using(self, store: Store) -> FactsBuilder:
        """The same snapshot, reading per-code data (payer rates, providers, labels) through ``store``: a
        cursor per thread, or a fresh read-only window once the store this builder was made with is closed."""
        _ = self._codes_with_rates  # read now, while the first store is open
        clone = copy.copy(self)
        clone.store = store
        return clone

    def build(self, code: str) -> CodeFacts:
        code = code.strip().upper()
        if not self.periods["hcpcs"]:
            raise NoHcpcsFileError(self.store.path)
        hcpcs_versions = self.snapshot.versions("hcpcs", code)
        if not hcpcs_versions:
            raise UnknownCodeError(code)
        latest = hcpcs_versions[-1]
        asp_v = self.snapshot.latest("asp", code)
        asp = asp_facts(asp_v) if asp_v else None
        opps_versions = self.snapshot.versions("opps", code)
        opps = opps_facts(opps_versions, self.snapshot.carries) if opps_versions else None
        ndcs = ndc_facts(self.snapshot.versions("crosswalk", code))
        is_drug = bool(asp or ndcs or (latest.row["betos"] or "").startswith("O1") or code.startswith("J"))
        modifiers = applicable_modifiers(self.snapshot, is_drug, opps is not None)
        hcpcs_detail = detail(latest)
        medicare_limit = asp.payment_limit if asp else None
        tic = tic_facts(self.store, code, medicare_limit) if self._has_rates(code) else None
        payers = tic.payers if tic else []
        hospital_rows = (
            hospital_rate_rows(self.store, code) if code in self._codes_with_hospital_rates else []
        )
        hospital_files = sorted({r.file_id for r in hospital_rows})
        placed = hospital_provider_rates(
            hospital_rows, medicare_limit, hospital_places(self.store, hospital_files)
        )
        providers = provider_facts(self.store, tic.kept if tic else [], placed)
        # Label links cost two queries a code: skipped when no label is loaded (build --all stays fast).
        clinical = (
            clinical_facts(self.store, code, latest.row["long_description"])
            if self._has_labels
            else ClinicalFacts([])
        )
        history = self.history(code)
        units = {n.ndc: n.billing_units_per_package for n in ndcs if n.billing_units_per_package}
        return CodeFacts(
            code=code,
            descriptor=descriptor(latest),
            status=status(latest),
            is_drug=is_drug,
            hcpcs=hcpcs_detail,
            medicare=history.medicare(asp, opps),
            units=unit_rule(asp, latest.row["long_description"]) if is_drug else None,
            ndcs=ndcs,
            modifiers=modifiers,
            related=replace(
                self.related.related(code, hcpcs_detail.xrefs),
                taxonomies=[t.taxonomy for t in providers.taxonomies],
            ),
            payers=payers,
            changes=history.changes(self.periods),
            rules=dated_rules(modifiers),
            provenance=self._provenance(
                code,
                tic.file_ids if tic and tic.payers else set(),
                self._context_files(providers, clinical) + [self.snapshot.files[i] for i in hospital_files],
            ),
            providers=providers,
            clinical=clinical,
            hcpcs_history=history.hcpcs,
            ndc_history=history.ndc,
            hospital_rates=hospital_rates(hospital_rows, medicare_limit, units),
            hospital_charges=hospital_charges(hospital_rows, medicare_limit),
        )

    def history(self, code: str) -> CodeHistory:
        """The code's history in every source (kept: ``build --all`` and the changes page both ask)."""
        if code not in self._histories:
            self._histories[code] = self._read_history(code)
        return self._histories[code]

    def _read_history(self, code: str) -> CodeHistory:
        def of(source: str) -> tuple[list[VersionedRow], list[Period]]:
            return self.snapshot.versions(source, code), self.periods[source]

        return CodeHistory(
            asp=asp_history(*of("asp")),
            opps=opps_history(*of("opps")),
            hcpcs=hcpcs_history(*of("hcpcs")),
            ndc=ndc_history(*of("crosswalk")),
        )

    def build_many(self, codes: list[str]) -> Iterator[CodeFacts]:
        for code in codes:
            yield self.build(code)

    def _context_files(self, providers: ProviderFacts, clinical: ClinicalFacts) -> list[SourceFile]:
        """NPPES and NUCC files when an NPI was found in them; the files of the labels quoted."""
        files = []
        if providers.n_npis > providers.n_npis_not_in_nppes:
            files += self.snapshot.files_of("nppes") + self.snapshot.files_of("nucc")
        quoted = {label.source_file for label in clinical.labels}
        return files + [f for f in self.snapshot.files_of("label") if f.file_name in quoted]

    def _has_rates(self, code: str) -> bool:
        """From the set of codes when it was read (many codes, or threads); else one probe of the code."""
        if "_codes_with_rates" in self.__dict__:
            return code in self._codes_with_rates
        return has_code_rates(self.store, code)

    def _provenance(self, code: str, tic_files: set[int], context: list[SourceFile]) -> list[Provenance]:
        used = {v.file.file_id for source in self.snapshot.rows for v in self.snapshot.versions(source, code)}
        files = [f for f in self.snapshot.files.values() if f.file_id in used]
        files += [self.snapshot.files[i] for i in sorted(tic_files) if i in self.snapshot.files]
        files += context
        return [_provenance(f) for f in sorted(files, key=lambda f: (f.source, f.order))]


HISTORY_SOURCES = ("asp", "opps", "crosswalk", "hcpcs")


@dataclass
class CodeHistory:
    """Every loaded version of a code, per source: the standing edition of each period."""

    asp: list[AspPoint]
    opps: list[OppsPoint]
    hcpcs: list[HcpcsEvent]
    ndc: list[NdcEvent]

    def medicare(self, asp: AspFacts | None, opps: OppsFacts | None) -> Medicare:
        trends = [t for q in (1, 4) if (t := asp_trend(self.asp, q)) is not None]
        return Medicare(asp=asp, opps=opps, asp_history=self.asp, opps_history=self.opps, asp_trend=trends)

    def changes(self, periods: dict[str, list[Period]]) -> list[Change]:
        """Every change of the code between consecutive periods of each source, and corrections."""
        asp_listed = {p.effective_start for p in self.asp}
        opps_listed = {p.effective_start for p in self.opps}
        return [
            *hcpcs_changes(self.hcpcs, previous_files(periods["hcpcs"])),
            *listing_changes("asp", asp_listed, periods["asp"]),
            *asp_changes(self.asp),
            *listing_changes("opps", opps_listed, periods["opps"]),
            *opps_changes(self.opps),
            *ndc_changes(self.ndc, previous_files(periods["crosswalk"])),
        ]


def _provenance(f: SourceFile) -> Provenance:
    spec = sources().get(f.source)
    return Provenance(
        source=f.source,
        label=spec.label if spec else f.source,
        file_name=f.file_name,
        sha256=f.sha256,
        effective_start=f.effective_start,
        effective_end=f.effective_end,
        loaded_at=f.loaded_at.isoformat(timespec="seconds") + "Z",
        format=f.format,
        period_from=f.period_from,
        edition=f.edition,
        edition_from=f.edition_from,
    )


def build_facts(store: Store, code: str) -> CodeFacts:
    return FactsBuilder(store).build(code)
