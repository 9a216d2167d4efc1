"""Load FDA SPL drug labels (one transaction per label document) and link them to HCPCS codes.

A label links to a code by a package NDC that the loaded ASP crosswalks list under the code (both in 5-4-2);
for a code with no such label, by a generic name that appears as whole words in the code's long descriptor
(HUMIRA's "adalimumab" in J0135 "Injection, adalimumab, 20 mg"). Only the latest version of a set id counts.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from ..errors import InputError
from ..sources.label import SplDocument, SplLabel, iter_documents, parse_label
from .db import FileRecord, LoadResult, Store

__all__ = [
    "LinkedLabel",
    "codes_for_label",
    "labels_for_code",
    "load_label",
    "load_labels",
    "normalize_words",
]

_LABEL_COLUMNS = """set_id, version, effective_date, title, generic_names, routes, dosage_forms,
    indications, dosage_and_administration, boxed_warning, source_file, product_names"""

_LATEST = """WITH latest AS (
    SELECT * FROM core_spl_labels
    QUALIFY row_number() OVER (
        PARTITION BY set_id ORDER BY version DESC NULLS LAST, effective_date DESC NULLS LAST, file_id DESC) = 1)
"""


@dataclass(frozen=True)
class LinkedLabel:
    link: str  # "ndc" or "generic_name"
    set_id: str
    version: int | None
    effective_date: date | None
    title: str | None
    generic_names: list[str]
    routes: list[str]
    dosage_forms: list[str]
    indications: str | None
    dosage_and_administration: str | None
    boxed_warning: str | None
    source_file: str
    product_names: list[str]


def load_labels(store: Store, path: Path) -> list[LoadResult]:
    """Every label document under ``path``, each its own transaction; a bad one does not stop the rest.

    After the others are loaded, the first bad document's error is raised (saying how many failed).
    """
    results: list[LoadResult] = []
    errors: list[InputError] = []
    for doc in iter_documents(path):
        try:
            results.append(_load_document(store, doc))
        except InputError as exc:
            errors.append(exc)
    if errors:
        first = errors[0]
        if len(errors) > 1 or results:
            first.message += (
                f" ({len(errors)} of {len(errors) + len(results)} documents failed; the others loaded)"
            )
        raise first
    return results


def load_label(store: Store, path: Path, effective_start: date | None = None) -> LoadResult:
    """One path (file, zip or folder): the summed result, with what each label links to as its note."""
    results = load_labels(store, path)
    loaded = [r for r in results if not r.already_loaded]
    last = (loaded or results)[-1]
    notes = "\n".join(_links_note(store, r) for r in results)
    rows = sum(r.rows for r in results)
    return LoadResult(last.file_id, Path(path).name, rows, already_loaded=not loaded, note=notes)


def _links_note(store: Store, result: LoadResult) -> str:
    links = codes_for_label(store, result.file_id)
    if not links:
        return (
            f"{result.file_name}: links to no HCPCS code in the store (no package NDC in a loaded ASP "
            "crosswalk, no generic name in a loaded HCPCS long descriptor)"
        )
    return f"{result.file_name}: links to " + ", ".join(
        f"{code} (by {link.replace('_', ' ')})" for code, link in links
    )


def codes_for_label(store: Store, file_id: int) -> list[tuple[str, str]]:
    """The codes a loaded label links to, and how: by package NDC, else by generic name in a descriptor."""
    by_ndc = store.con.execute(_CODES_BY_NDC, [file_id]).fetchall()
    if by_ndc:
        return [(code, "ndc") for (code,) in by_ndc]
    return [(code, "generic_name") for (code,) in store.con.execute(_CODES_BY_NAME, [file_id]).fetchall()]


_CODES_BY_NDC = """SELECT DISTINCT x.code FROM core_spl_ndcs n JOIN core_asp_crosswalk x ON x.ndc = n.ndc
WHERE n.file_id = ? ORDER BY x.code"""

_CODES_BY_NAME = """WITH names AS (
    SELECT trim(regexp_replace(lower(g), '[^a-z0-9-]+', ' ', 'g')) AS name
    FROM core_spl_labels, unnest(generic_names) AS t(g) WHERE file_id = ?)
SELECT DISTINCT c.code FROM core_hcpcs_codes c, names
WHERE names.name <> ''
  AND ' ' || trim(regexp_replace(lower(c.long_description), '[^a-z0-9-]+', ' ', 'g')) || ' ' LIKE '% ' || names.name || ' %'
ORDER BY c.code"""


def _load_document(store: Store, doc: SplDocument) -> LoadResult:
    sha256 = hashlib.sha256(doc.data).hexdigest()
    existing = store.find_file("label", sha256)
    if existing is not None:
        return LoadResult(existing, doc.name, 0, already_loaded=True)
    label = parse_label(doc)
    with store.transaction():
        file_id = store.add_file(_record(doc, label, sha256), 1)
        store.insert_rows("core_spl_labels", [_row(label)], file_id=file_id)
        ndcs = [{"set_id": label.set_id, "ndc_as_written": w, "ndc": n} for w, n in label.ndcs]
        store.insert_rows("core_spl_ndcs", ndcs, file_id=file_id)
    return LoadResult(file_id, doc.name, 1, already_loaded=False)


def _row(label: SplLabel) -> dict[str, object]:
    row = {name: getattr(label, name) for name in label.__dataclass_fields__ if name != "ndcs"}
    row["effective_date"] = label.effective_date.isoformat() if label.effective_date else None
    return row


def _record(doc: SplDocument, label: SplLabel, sha256: str) -> FileRecord:
    return FileRecord(
        source="label",
        file_name=doc.name,
        location=str(doc.origin.resolve()),
        sha256=sha256,
        size_bytes=len(doc.data),
        format="xml",
        effective_start=label.effective_date,
        effective_end=None,
        meta={"set_id": label.set_id, "version": label.version, "title": label.title},
    )


def normalize_words(text: str) -> str:
    """Lower case, every run of other characters than letters, digits and hyphens one space.

    Whole words then match by padding with spaces. The hyphen stays inside a word: "adalimumab-aacf" (a
    biosimilar's name) is not the word "adalimumab".
    """
    return " ".join(re.sub(r"[^a-z0-9-]+", " ", text.lower()).split())


def labels_for_code(store: Store, code: str, long_descriptor: str | None) -> list[LinkedLabel]:
    """Labels linked to ``code``: by package NDC when any is, else by generic name in the descriptor."""
    by_ndc = list(_query(store, _BY_NDC, [code], "ndc"))
    if by_ndc or not long_descriptor:
        return by_ndc
    return list(_query(store, _BY_NAME, [f" {normalize_words(long_descriptor)} "], "generic_name"))


_BY_NDC = f"""{_LATEST}
SELECT {_LABEL_COLUMNS} FROM latest l
WHERE EXISTS (SELECT 1 FROM core_spl_ndcs n JOIN core_asp_crosswalk x ON x.ndc = n.ndc
              WHERE n.file_id = l.file_id AND x.code = ?)
ORDER BY effective_date DESC NULLS LAST, set_id"""

_BY_NAME = f"""{_LATEST}
SELECT {_LABEL_COLUMNS} FROM latest l
WHERE EXISTS (
    SELECT 1 FROM (SELECT trim(regexp_replace(lower(g), '[^a-z0-9-]+', ' ', 'g')) AS name
                   FROM unnest(l.generic_names) AS t(g))
    WHERE name <> '' AND ? LIKE '% ' || name || ' %')
ORDER BY effective_date DESC NULLS LAST, set_id"""


def _query(store: Store, sql: str, params: list[object], link: str) -> Iterator[LinkedLabel]:
    for row in store.con.execute(sql, params).fetchall():
        yield LinkedLabel(link, *row)
