"""Assemble the CodeFacts record of a code from a store snapshot."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from functools import cached_property

from ..errors import NoHcpcsFileError, UnknownCodeError
from ..store import SourceFile, Store, sources
from ..store.tic import codes_with_rates, files_with_code
from .asp import asp_changes, asp_facts, unit_rule
from .crosswalk import ndc_facts
from .hcpcs import descriptor, detail, hcpcs_changes, status
from .label import clinical_facts
from .model import ClinicalFacts, CodeFacts, Medicare, Provenance, ProviderFacts
from .modifiers import applicable_modifiers, dated_rules
from .nppes import provider_facts
from .opps import opps_changes, opps_facts
from .related import RelatedIndex
from .snapshot import Snapshot
from .tic import npi_observations, payer_facts

__all__ = ["FactsBuilder", "build_facts"]


class FactsBuilder:
    """Builds facts for any number of codes from one snapshot of the store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.snapshot = Snapshot(store)
        self.related = RelatedIndex(self.snapshot)

    @cached_property
    def _codes_with_rates(self) -> set[str]:
        return codes_with_rates(self.store)

    @cached_property
    def _hcpcs_files(self) -> list[str]:
        return [f.file_name for f in self.snapshot.files_of("hcpcs")]

    def codes(self) -> list[str]:
        return self.snapshot.codes()

    def build(self, code: str) -> CodeFacts:
        code = code.strip().upper()
        if not self._hcpcs_files:
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
        has_rates = code in self._codes_with_rates
        payers = payer_facts(self.store, code, medicare_limit) if has_rates else []
        observations = npi_observations(self.store, code, medicare_limit) if has_rates else []
        providers = provider_facts(self.store, observations)
        clinical = clinical_facts(self.store, code, latest.row["long_description"])
        return CodeFacts(
            code=code,
            descriptor=descriptor(latest),
            status=status(latest),
            is_drug=is_drug,
            hcpcs=hcpcs_detail,
            medicare=Medicare(asp=asp, opps=opps),
            units=unit_rule(asp, latest.row["long_description"]) if is_drug else None,
            ndcs=ndcs,
            modifiers=modifiers,
            related=replace(
                self.related.related(code, hcpcs_detail.xrefs),
                taxonomies=[t.taxonomy for t in providers.taxonomies],
            ),
            payers=payers,
            changes=[
                *hcpcs_changes(hcpcs_versions, self._hcpcs_files, self.snapshot.both_carry),
                *asp_changes(self.snapshot.versions("asp", code)),
                *opps_changes(self.snapshot.versions("opps", code), self.snapshot.both_carry),
            ],
            rules=dated_rules(modifiers),
            provenance=self._provenance(code, bool(payers), self._context_files(providers, clinical)),
            providers=providers,
            clinical=clinical,
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

    def _provenance(self, code: str, has_payers: bool, context: list[SourceFile]) -> list[Provenance]:
        used = {v.file.file_id for source in self.snapshot.rows for v in self.snapshot.versions(source, code)}
        files = [f for f in self.snapshot.files.values() if f.file_id in used]
        files += self._tic_files(code) if has_payers else []
        files += context
        return [_provenance(f) for f in sorted(files, key=lambda f: (f.source, f.order))]

    def _tic_files(self, code: str) -> list[SourceFile]:
        ids = files_with_code(self.store, code)
        return [self.snapshot.files[i] for i in sorted(ids) if i in self.snapshot.files]


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
    )


def build_facts(store: Store, code: str) -> CodeFacts:
    return FactsBuilder(store).build(code)
