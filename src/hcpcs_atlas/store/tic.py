"""Ingest Transparency-in-Coverage in-network files: one file, one transaction; failures don't stop the rest."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urljoin

import orjson

from ..errors import AtlasError, InputError
from ..progress import Progress
from ..sources import is_level2
from ..sources.tic import (
    StagedRates,
    TicFile,
    TocFile,
    is_table_of_contents,
    read_table_of_contents,
    stage_in_network,
)
from .db import FileRecord, Store
from .payers import resolve_payer

__all__ = [
    "IngestSummary",
    "PayerSourceRow",
    "RateObservationRow",
    "codes_with_rates",
    "files_with_code",
    "ingest_tic",
    "keep_codes",
    "payer_sources",
    "rate_observations",
]


@dataclass
class IngestSummary:
    ingested: list[tuple[str, int]] = field(default_factory=list)  # (file, rows kept)
    unchanged: list[str] = field(default_factory=list)  # already ingested: nothing changed
    failed: list[str] = field(default_factory=list)  # one-line errors
    refs_failed: int = 0


@dataclass(frozen=True)
class _Target:
    location: str
    reporting_plans: list[dict[str, object]] | None = None


def keep_codes(store: Store, codes: Iterable[str] | None) -> Callable[[str], bool]:
    """The codes to keep: those given, else every HCPCS Level II code in the store (else any Level II)."""
    if codes is not None:
        wanted = {c.strip().upper() for c in codes if c.strip()}
        return wanted.__contains__
    loaded = store.distinct_codes("hcpcs")
    return loaded.__contains__ if loaded else is_level2


def _plans_by_file(toc: TocFile) -> dict[str, list[dict[str, object]]]:
    """Which reporting plans each in-network file covers (a shared file is listed under many plans)."""
    plans: dict[str, list[dict[str, object]]] = {}
    for structure in toc.reporting_structure:
        files = structure.get("in_network_files")
        listed = structure.get("reporting_plans")
        for url in files if isinstance(files, list) else []:
            plans.setdefault(str(url), []).extend(listed if isinstance(listed, list) else [])
    return plans


def _expand(source: str) -> Iterator[_Target]:
    """A table-of-contents file stands for its in-network files (relative locations resolve against it)."""
    if not is_table_of_contents(source):
        yield _Target(source)
        return
    toc = read_table_of_contents(source)
    plans = _plans_by_file(toc)
    base = source if "://" in source else Path(source).resolve().as_uri()
    for url in toc.in_network_urls:
        location = url if "://" in url or Path(url).is_absolute() else urljoin(base, url)
        location = location.removeprefix("file://")
        yield _Target(location, plans.get(url) or toc.reporting_plans)


def _parse_date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None


def _store_file(store: Store, tf: TicFile, payer: str, plan: str | None, target: _Target) -> int:
    record = FileRecord(
        source="tic",
        file_name=tf.file_name,
        location=tf.source,
        sha256=tf.sha256,
        size_bytes=tf.bytes_read,
        format="json",
        effective_start=_parse_date(tf.last_updated_on),
        effective_end=None,
        meta={"payer": payer, "version": tf.version},
    )
    rows = tf.staged.rows if tf.staged is not None else len(tf.rows)
    with store.transaction():
        file_id = store.add_file(record, rows)
        store.insert_rows("core_tic_files", [_file_row(tf, payer, plan, target)], file_id=file_id)
        if tf.staged is not None:
            _insert_staged(store, tf.staged, file_id, payer)
        else:
            store.insert_rows("core_tic_rates", tf.rows, file_id=file_id, payer=payer)
    return file_id


#: Rows are price x provider: one join makes them from the staged prices and provider sets. Ordered by
#: code, so a code's rows sit together in few row groups, which DuckDB's min/max zone maps then skip to.
_INSERT_STAGED = """
INSERT INTO core_tic_rates
SELECT $file_id, $payer, p.billing_code, p.billing_code_type, p.negotiation_arrangement, p.negotiated_type,
       p.negotiated_rate, p.expiration_date, p.billing_class, p.setting,
       s.codes, m.codes, p.additional_information, g.provider_group_id, g.tin_type, g.tin_value, g.npis,
       g.network_names
FROM read_parquet($prices) p
JOIN read_parquet($providers) g ON g.pset = p.pset
JOIN read_parquet($lists) s ON s.id = p.service_code
JOIN read_parquet($lists) m ON m.id = p.billing_code_modifier
ORDER BY p.billing_code, p.seq, g.ordinal
"""


def _insert_staged(store: Store, staged: StagedRates, file_id: int, payer: str) -> None:
    store.con.execute(
        _INSERT_STAGED,
        {"file_id": file_id, "payer": payer, "prices": str(staged.prices),
         "providers": str(staged.providers), "lists": str(staged.lists)},
    )  # fmt: skip


def _file_row(tf: TicFile, payer: str, plan: str | None, target: _Target) -> dict[str, object]:
    return {
        "payer": payer,
        "plan_label": plan,
        "reporting_entity_name": tf.reporting_entity_name,
        "reporting_entity_type": tf.reporting_entity_type,
        "last_updated_on": _parse_date(tf.last_updated_on),
        "version": tf.version,
        "plan_name": tf.plan_name,
        "plan_id": tf.plan_id,
        "plan_market_type": tf.plan_market_type,
        "issuer_name": tf.issuer_name,
        "plan_sponsor_name": tf.plan_sponsor_name,
        "network_name": tf.network_name,
        "items_seen": tf.items_seen,
        "items_kept": tf.items_kept,
        "remote_refs_fetched": tf.remote_refs_fetched,
        "remote_refs_failed": len(tf.remote_refs_failed),
        "plan_id_type": tf.plan_id_type,
        "reporting_plans": _plans_json(target.reporting_plans or tf.reporting_plans),
    }


def _plans_json(plans: list[dict[str, object]] | list[dict[str, Any]] | None) -> str | None:
    return orjson.dumps(plans).decode() if plans else None


def _payer_of(tf: TicFile, payer: str | None) -> tuple[str, str | None]:
    name, plan = resolve_payer(payer or tf.reporting_entity_name or tf.issuer_name)
    if payer and plan is None:
        # --payer names the payer; the file's own entity can still say which BCBS plan it is.
        _, plan = resolve_payer(tf.reporting_entity_name)
    return name or "Unknown payer", plan


def ingest_tic(
    store: Store,
    sources: Iterable[str],
    keep: Callable[[str], bool],
    payer: str | None = None,
    progress: Callable[[str, int | None], Progress] | None = None,
) -> IngestSummary:
    summary = IngestSummary()
    for source in sources:
        try:
            targets = list(_expand(source))
        except AtlasError as exc:
            summary.failed.append(str(exc))
            continue
        for target in targets:
            _ingest_one(store, target, keep, payer, progress, summary)
    return summary


def _ingest_one(
    store: Store,
    target: _Target,
    keep: Callable[[str], bool],
    payer: str | None,
    progress: Callable[[str, int | None], Progress] | None,
    summary: IngestSummary,
) -> None:
    local = Path(target.location)
    size = local.stat().st_size if "://" not in target.location and local.is_file() else None
    bar = progress(local.name, size) if progress else None
    with tempfile.TemporaryDirectory(prefix="tic-stage-") as staging:
        try:
            tf = stage_in_network(target.location, keep, Path(staging), bar)
        except InputError as exc:
            summary.failed.append(str(exc))
            return
        finally:
            if bar:
                bar.close()
        summary.refs_failed += len(tf.remote_refs_failed)
        if store.find_file("tic", tf.sha256) is not None:
            summary.unchanged.append(tf.file_name)
            return
        name, plan = _payer_of(tf, payer)
        _store_file(store, tf, name, plan, target)
        summary.ingested.append((tf.file_name, tf.staged.rows if tf.staged else 0))


# --- named questions the facts ask ------------------------------------------------------------------------


class RateObservationRow(NamedTuple):
    """One stored rate of a code with what the methodology needs of its file."""

    payer: str
    tin_value: str | None
    billing_class: str | None
    negotiated_rate: float
    negotiated_type: str  # lower case
    modifiers: list[str] | None
    service_codes: list[str] | None
    npis: list[int] | None
    expiration_date: str | None
    last_updated_on: date | None
    plan: str  # the BCBS plan label, else the reporting entity, else the payer
    file_id: int


class PayerSourceRow(NamedTuple):
    file_name: str
    last_updated_on: date | None
    reporting_entity_name: str | None
    sha256: str


_RATE_OBSERVATIONS = """
SELECT r.payer, r.tin_value, r.billing_class, r.negotiated_rate, lower(r.negotiated_type),
       r.modifiers, r.service_codes, r.npis, r.expiration_date, t.last_updated_on,
       coalesce(t.plan_label, t.reporting_entity_name, r.payer), r.file_id
FROM core_tic_rates r JOIN core_tic_files t USING (file_id)
WHERE r.billing_code = ?
"""


def rate_observations(store: Store, code: str) -> list[RateObservationRow]:
    return [RateObservationRow(*row) for row in store.con.execute(_RATE_OBSERVATIONS, [code]).fetchall()]


def codes_with_rates(store: Store) -> set[str]:
    return {
        row[0] for row in store.con.execute("SELECT DISTINCT billing_code FROM core_tic_rates").fetchall()
    }


def files_with_code(store: Store, code: str) -> set[int]:
    rows = store.con.execute("SELECT DISTINCT file_id FROM core_tic_rates WHERE billing_code = ?", [code])
    return {file_id for (file_id,) in rows.fetchall()}


def payer_sources(store: Store, file_ids: set[int]) -> list[PayerSourceRow]:
    rows = store.con.execute(
        "SELECT f.file_name, t.last_updated_on, t.reporting_entity_name, f.sha256 FROM source_files f "
        "JOIN core_tic_files t USING (file_id) WHERE file_id IN (SELECT unnest(?)) ORDER BY f.file_name",
        [sorted(file_ids)],
    ).fetchall()
    return [PayerSourceRow(*row) for row in rows]
