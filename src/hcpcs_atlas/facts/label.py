"""Clinical context of a code: the FDA drug labels linked to it, as the labels word them."""

from __future__ import annotations

from ..store import Store
from ..store.label import LinkedLabel, labels_for_code
from .model import ClinicalFacts, LabelFacts

__all__ = ["clinical_facts"]


def clinical_facts(store: Store, code: str, long_descriptor: str | None) -> ClinicalFacts:
    return ClinicalFacts([_label(x) for x in labels_for_code(store, code, long_descriptor)])


def _label(x: LinkedLabel) -> LabelFacts:
    return LabelFacts(
        set_id=x.set_id,
        version=x.version,
        effective_date=x.effective_date,
        title=x.title,
        generic_names=x.generic_names,
        routes=x.routes,
        dosage_forms=x.dosage_forms,
        indications=x.indications,
        dosage_and_administration=x.dosage_and_administration,
        boxed_warning=bool(x.boxed_warning),
        link=x.link,
        source_file=x.source_file,
    )
