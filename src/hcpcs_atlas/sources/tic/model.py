"""The typed records of a Transparency-in-Coverage read: rate rows, an in-network file, a table of contents."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["RateRow", "StagedRates", "TicFile", "TocFile"]


@dataclass(frozen=True, slots=True)
class RateRow:
    billing_code: str  # trimmed, upper-cased
    billing_code_type: str  # as written in the file (HCPCS, CPT, ...)
    negotiation_arrangement: str | None  # ffs | bundle | capitation
    negotiated_type: str  # negotiated | derived | fee schedule | percentage | per diem
    negotiated_rate: float
    expiration_date: str | None  # ISO date as written
    billing_class: str | None  # professional | institutional | both
    setting: str | None  # v2: inpatient | outpatient | both
    service_codes: tuple[str, ...]  # sorted place-of-service codes
    modifiers: tuple[str, ...]  # sorted billing_code_modifier values
    additional_information: str | None
    provider_group_id: str | None  # as text: ids like 320.25975 exist in the wild
    tin_type: str | None  # ein | npi
    tin_value: str | None
    npis: tuple[int, ...]  # (0,) = TIN-level contract
    network_names: tuple[str, ...] = ()  # v2: network_name of the referenced provider group


#: A helper process's provider-set and code-list ids start here (part 1); the main process's at 0. The
#: store numbers a helper's sets after the main process's (see store.tic: ids stay INTEGER).
PART_IDS = 1 << 30


class StagedRates:
    """The staging directory of one file: ``prices.parquet`` (and ``prices-1.parquet``, see
    :mod:`.split`), ``providers.parquet``, ``lists.parquet``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.rows = 0  # price x provider rows the join will make
        self.rows_without_provider = 0  # of those, rows of a reference never resolved (TIN, NPIs unknown)
        #: per provider set that has any, its groups of a reference never resolved: what each of the set's
        #: prices adds to ``rows_without_provider`` (counted again for the codes a later ingest adds)
        self.unresolved: dict[int, int] = {}

    @property
    def prices(self) -> list[str]:
        """The price files there are: a file read with the help of a second process stages its prices in
        two. Named one by one, not by a glob (a staging folder's path may hold ``[``, ``*`` or ``?``)."""
        parts = (self.prices_part(0), self.prices_part(1))
        return [str(p) for p in parts if p.is_file()] or [str(parts[0])]

    def discard_helper_parts(self) -> None:
        """Remove a helper's prices file left by an attempt read again (deep or alone). Called before a
        new attempt's helper starts: that helper opens its file as soon as it is up, possibly before this
        process has made its own collector."""
        self.prices_part(1).unlink(missing_ok=True)

    def prices_part(self, part: int) -> Path:
        return self.directory / ("prices.parquet" if part == 0 else f"prices-{part}.parquet")

    @property
    def providers(self) -> Path:
        return self.directory / "providers.parquet"

    @property
    def lists(self) -> Path:
        return self.directory / "lists.parquet"


@dataclass
class TicFile:
    """One in-network file, read whole: its header, the kept rate rows and what happened on the way."""

    source: str  # path or URL as given
    file_name: str
    sha256: str  # of the bytes read (compressed bytes, as fetched)
    bytes_read: int
    reporting_entity_name: str | None
    reporting_entity_type: str | None
    last_updated_on: str | None
    version: str | None
    plan_name: str | None = None
    plan_id: str | None = None
    plan_market_type: str | None = None
    issuer_name: str | None = None
    plan_sponsor_name: str | None = None
    network_name: str | None = None
    items_seen: int = 0
    items_kept: int = 0
    rows: list[RateRow] = field(default_factory=list)
    remote_refs_fetched: int = 0
    remote_refs_failed: list[tuple[str, str]] = field(default_factory=list)  # (url, reason)
    plan_id_type: str | None = None
    reporting_plans: list[dict[str, Any]] = field(default_factory=list)  # early drafts list plans inline
    bytes_decompressed: int = 0
    prices_skipped: int = 0  # negotiated prices without a usable negotiated_type / numeric rate
    prices_skipped_by: dict[str, int] = field(default_factory=dict)  # the same, by reason
    refs_unresolved: list[str] = field(default_factory=list)  # ids used by kept items but never defined
    staged: StagedRates | None = None  # stage_in_network: the kept prices as Parquet, not in rows


@dataclass
class TocFile:
    source: str
    reporting_entity_name: str | None
    reporting_entity_type: str | None
    in_network_urls: list[str]
    reporting_plans: list[dict[str, object]]
    last_updated_on: str | None = None
    version: str | None = None
    #: per reporting_structure entry: {"reporting_plans": [...], "in_network_files": [url...],
    #: "allowed_amount_file": url | None}: which plans each in-network file covers
    reporting_structure: list[dict[str, object]] = field(default_factory=list)
    descriptions: dict[str, str] = field(default_factory=dict)  # in-network file location -> description
