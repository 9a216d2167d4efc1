"""The facts record: one typed record per code, the only input a publication is written from.

Keys are a public contract (``hcpcs-atlas facts CODE``, ``hcpcs-atlas schema``): add, never rename. A
missing fact is ``None`` or an empty list, never a placeholder string.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

__all__ = [
    "AspFacts",
    "AspPoint",
    "AspTrend",
    "Benchmarks",
    "Breakdown",
    "Change",
    "ClinicalFacts",
    "CodeFacts",
    "Descriptor",
    "HcpcsDetail",
    "HcpcsEvent",
    "HospitalCharges",
    "HospitalPayerFacts",
    "HospitalSuspect",
    "LabelFacts",
    "Medicare",
    "ModifierFacts",
    "NdcEvent",
    "NdcFacts",
    "OppsFacts",
    "OppsPoint",
    "PayerFacts",
    "PayerSource",
    "Provenance",
    "ProviderFacts",
    "Related",
    "RelatedCode",
    "Rule",
    "StateFacts",
    "Status",
    "TaxonomyFacts",
    "UnitRule",
]


@dataclass
class Descriptor:
    long: str | None
    short: str | None


@dataclass
class Status:
    active: bool
    added: date | None  # HCPCS file ADD DT
    action_effective: date | None  # HCPCS file ACT EFF DT
    terminated: date | None  # HCPCS file TERM DT
    action_code: str | None
    action_meaning: str | None
    replacement_codes: list[str] = field(default_factory=list)  # cross-references of a terminated code
    as_of_file: str | None = None


@dataclass
class HcpcsDetail:
    pricing_indicators: list[str]
    multiple_pricing_indicator: str | None
    coverage_code: str | None
    coverage_meaning: str | None
    betos: str | None
    type_of_service: list[str]
    asc_group: str | None
    opps_status_indicator: str | None
    processing_note: str | None
    statute: str | None
    xrefs: list[str]
    #: what each value above means, per the CMS record layout: {field: {value: meaning}}
    code_meanings: dict[str, dict[str, str]]


@dataclass
class AspFacts:
    payment_limit: float | None  # USD per billing unit
    dosage: str | None  # billing unit as CMS writes it, e.g. "10 MG"
    dosage_amount: float | None
    dosage_unit: str | None
    coinsurance_pct: float | None
    notes: str | None
    effective_start: date | None  # ASP quarter
    effective_end: date | None
    source_file: str


@dataclass
class OppsFacts:
    status_indicator: str | None
    status_meaning: str | None
    apc: str | None
    payment_rate: float | None  # USD, national unadjusted
    relative_weight: float | None
    national_copay: float | None
    minimum_copay: float | None
    effective_start: date | None
    source_file: str
    # The APC with the file it comes from: the latest file's own, or, when that file's format carries no
    # APC at all (the Softek CSV), the latest earlier file that gives one.
    apc_source_file: str | None = None
    apc_effective_start: date | None = None


@dataclass
class AspPoint:
    """The ASP payment limit of one quarter, from the edition of the file that stands for it."""

    effective_start: date | None  # ASP quarter
    effective_end: date | None
    payment_limit: float | None  # USD per billing unit, exact
    dosage: str | None
    coinsurance_pct: float | None
    source_file: str
    revised: bool  # a later edition of the same quarter replaced an earlier one
    superseded_value: float | None  # the earlier edition's payment limit
    superseded_file: str | None


@dataclass
class AspTrend:
    """The latest payment limit against the one ``quarters`` quarters before it."""

    quarters: int
    from_quarter: date
    to_quarter: date
    from_limit: float
    to_limit: float
    change_usd: float
    change_pct: float | None


@dataclass
class OppsPoint:
    effective_start: date | None  # Addendum B quarter
    status_indicator: str | None
    apc: str | None
    payment_rate: float | None
    source_file: str


@dataclass
class Medicare:
    asp: AspFacts | None
    opps: OppsFacts | None
    asp_history: list[AspPoint] = field(default_factory=list)
    opps_history: list[OppsPoint] = field(default_factory=list)
    asp_trend: list[AspTrend] = field(default_factory=list)  # over 1 and 4 quarters, where loaded


@dataclass
class NdcFacts:
    ndc: str  # 5-4-2
    labeler: str | None
    drug_name: str | None
    package_size: float | None  # amount in one item (vial), crosswalk PKG SIZE
    package_quantity: float | None  # items in the NDC package, PKG QTY
    billing_units_per_item: float | None  # BILLUNITS: billable units in one item
    billing_units_per_package: float | None  # BILLUNITSPKG: billable units in the 11-digit NDC package
    source_file: str


@dataclass
class NdcEvent:
    """An NDC added to or removed from the code in the crosswalk, or its billing units per package changed."""

    effective: date | None  # crosswalk quarter
    change: str  # added | removed | units
    ndc: str
    before: float | None  # billing units per package
    after: float | None
    source_file: str


@dataclass
class UnitRule:
    """units = ceil(administered amount / descriptor amount), in the descriptor's unit."""

    descriptor_amount: float
    descriptor_unit: str
    source: str  # where the amount was read: "ASP dosage" or "HCPCS long descriptor"


@dataclass
class ModifierFacts:
    modifier: str
    description: str | None  # from the loaded HCPCS file's modifier records
    when_to_use: str
    effective_from: date | None
    terminated: date | None  # from the HCPCS file
    source: str


@dataclass
class RelatedCode:
    code: str
    relation: str  # "cross-reference", "shares an NDC", "same drug name"
    descriptor: str | None
    status: str | None = None  # "active" or "terminated" in the latest HCPCS file; None if not in one
    terminated: date | None = None  # HCPCS TERM DT: not billable for dates of service after it
    replacement_codes: list[str] = field(default_factory=list)  # cross-references of a terminated code


@dataclass
class Related:
    icd10: list[str]
    taxonomies: list[str]
    hcpcs: list[RelatedCode]


@dataclass
class Benchmarks:
    n_rates: int
    min: float
    p10: float
    p25: float
    median: float
    p75: float
    p90: float
    max: float


@dataclass
class Breakdown:
    group: str  # a billing_class, a site-of-service group, or a plan
    benchmarks: Benchmarks
    pct_of_medicare_median: float | None


@dataclass
class PayerSource:
    file_name: str
    last_updated_on: date | None
    reporting_entity_name: str | None
    sha256: str


@dataclass
class PayerFacts:
    payer: str
    benchmarks: Benchmarks | None  # None when every rate was non-dollar, expired or suspect
    pct_of_medicare_median: float | None
    by_billing_class: list[Breakdown]
    by_site_of_service: list[Breakdown]
    by_plan: list[Breakdown]
    n_providers: int  # distinct NPIs (0 = TIN-level contract, not counted)
    n_tins: int
    n_suspect_rates: int  # outside 0.05x-20x of the Medicare payment limit
    n_expired_excluded: int
    non_dollar_rates: dict[str, int]  # percentage / per diem observations, never in dollar figures
    source_files: list[PayerSource]


@dataclass
class HcpcsEvent:
    """A change of the code in the HCPCS file, dated by the period of the file it was first seen in."""

    effective: date | None  # the HCPCS file's period start
    change: str  # added | descriptor | status | pricing | terminated | reinstated
    field: str  # the record field, e.g. long_description, termination_date; "listed" when (un)listed
    before: str | None
    after: str | None
    source_file: str


@dataclass
class HospitalSuspect:
    """A hospital's negotiated dollar left out of the figures: outside 0.05x-20x of the ASP limit."""

    hospital: str
    payer_name: str  # as the hospital wrote it
    plan_name: str | None
    billing_class: str | None
    setting: str | None
    negotiated_usd: float
    ratio_to_medicare: float  # negotiated_usd / ASP payment limit per billing unit
    reason: str  # "per package? NDC ... holds N billing units", or which side of the band
    ndc: str | None  # 5-4-2, when the row names one
    description: str | None


@dataclass
class HospitalPayerFacts:
    """One payer's rates in hospitals' price files (45 CFR 180.50), all its plans together."""

    payer: str  # Aetna, Blue Cross Blue Shield, Cigna, UnitedHealthcare, or the hospital's own name for it
    benchmarks: Benchmarks | None  # None when no dollar rate was counted
    n_hospitals: int  # hospitals with at least one counted rate
    n_suspect: int
    pct_of_medicare_median: float | None
    by_hospital: list[Breakdown]
    by_plan: list[Breakdown]  # "payer as written: plan_name"
    by_segment: list[Breakdown]  # Commercial, Medicare Advantage, Medicaid managed care, Exchange, unknown
    non_dollar: dict[str, int]  # percentage / algorithm observations, never in dollar figures
    suspects: list[HospitalSuspect]


@dataclass
class HospitalCharges:
    """Gross charge and discounted cash price per billing unit across hospitals."""

    gross: Benchmarks | None
    discounted_cash: Benchmarks | None
    n_hospitals: int
    n_not_per_unit: int  # prices outside 0.05x-20x of the ASP limit (per package or another unit)


@dataclass
class Change:
    source: str  # hcpcs | asp | opps | crosswalk
    field: str
    before: str | None
    after: str | None
    from_file: str
    to_file: str
    from_effective: date | None
    to_effective: date | None
    change_usd: float | None = None  # after - before, exact
    change_pct: float | None = None  # (after - before) / before * 100, exact
    before_usd: float | None = None  # the amounts themselves when the field is a dollar amount
    after_usd: float | None = None
    kind: str = "change"  # change | correction | added | removed | terminated | reinstated


@dataclass
class Rule:
    modifier: str
    effective_from: date
    text: str
    source: str


@dataclass
class Provenance:
    source: str
    label: str  # the source's name in Sources & Methodology (store registry)
    file_name: str
    sha256: str
    effective_start: date | None
    effective_end: date | None
    loaded_at: str
    format: str | None
    period_from: str | None = None  # where the period was read: "file name", "title row", ...
    edition: date | None = None  # when this edition of the period was published (a re-post is later)
    edition_from: str | None = None  # what dates the edition: the file name's release date, an "Updated" note


@dataclass
class TaxonomyFacts:
    """NPIs of the code's rates whose NPPES primary taxonomy is this NUCC code."""

    taxonomy: str  # NUCC code, e.g. 207RH0003X
    display_name: str | None  # NUCC display name; None when the NUCC file is not loaded or lacks the code
    classification: str | None
    specialization: str | None
    n_npis: int
    share: float  # n_npis / NPIs found in NPPES (0-1, exact)
    median_rate: float | None  # median of the dollar rates naming at least one of these NPIs


@dataclass
class StateFacts:
    """One practice-location state (NPPES) or hospital-address state (hospital files)."""

    state: str
    n_npis: int
    n_hospitals: int
    benchmarks: Benchmarks | None  # over the rates naming an NPI practising here, and hospitals here


@dataclass
class ProviderFacts:
    n_npis: int  # distinct NPIs named by the code's dollar rates
    n_npis_not_in_nppes: int  # counted, never guessed
    taxonomies: list[TaxonomyFacts]
    states: list[StateFacts]


@dataclass
class LabelFacts:
    """An FDA SPL drug label linked to the code (quoted as the label words it)."""

    set_id: str
    version: int | None
    effective_date: date | None
    title: str | None
    generic_names: list[str]
    routes: list[str]
    dosage_forms: list[str]
    indications: str | None
    dosage_and_administration: str | None
    boxed_warning: bool
    link: str  # "ndc" (a package NDC in the ASP crosswalk) or "generic_name" (whole words of the descriptor)
    source_file: str


@dataclass
class ClinicalFacts:
    labels: list[LabelFacts]


@dataclass
class CodeFacts:
    code: str
    descriptor: Descriptor
    status: Status
    is_drug: bool
    hcpcs: HcpcsDetail
    medicare: Medicare
    units: UnitRule | None
    ndcs: list[NdcFacts]
    modifiers: list[ModifierFacts]
    related: Related
    payers: list[PayerFacts]
    changes: list[Change]
    rules: list[Rule]
    provenance: list[Provenance]
    providers: ProviderFacts = field(default_factory=lambda: ProviderFacts(0, 0, [], []))
    clinical: ClinicalFacts = field(default_factory=lambda: ClinicalFacts([]))
    hcpcs_history: list[HcpcsEvent] = field(default_factory=list)
    ndc_history: list[NdcEvent] = field(default_factory=list)
    hospital_rates: list[HospitalPayerFacts] = field(default_factory=list)
    hospital_charges: HospitalCharges | None = None
