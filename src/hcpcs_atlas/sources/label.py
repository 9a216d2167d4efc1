"""FDA Structured Product Labeling (SPL): drug labels as DailyMed distributes them (HL7 v3 XML).

A path may be one SPL XML document, a DailyMed zip (the XML plus images, or a bulk zip of such zips), or a
folder of them. SPL files are untrusted XML: they are parsed with DTDs, entities and external references
refused (defusedxml), so an entity-expansion bomb or an external-entity read is an error, not a hang.

Kept per label: set id, version, effective time, title, document type, product and generic names, routes,
dosage forms, marketing category, package NDCs, and the text of four sections found by LOINC code (the
highlights excerpt left out, subsections, list items and table rows kept).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from ..errors import InputError, SchemaDriftError
from .ndc import normalize_ndc

__all__ = ["SECTIONS", "SplDocument", "SplLabel", "iter_documents", "parse_label"]

V3 = "{urn:hl7-org:v3}"
NDC_SYSTEM = "2.16.840.1.113883.6.69"
LOINC_SYSTEM = "2.16.840.1.113883.6.1"
#: LOINC section codes kept, by the field they fill.
SECTIONS = {
    "34067-9": "indications",
    "34068-7": "dosage_and_administration",
    "34066-1": "boxed_warning",
    "34070-3": "contraindications",
}
#: Bytes read from one zip member at most: a label is ~1 MB; more is a zip bomb or not a label.
MAX_XML_BYTES = 64 << 20


@dataclass(frozen=True)
class SplDocument:
    """One SPL XML document and where it came from (``file.zip:member.xml`` inside a zip)."""

    name: str
    data: bytes
    origin: Path


@dataclass(frozen=True)
class SplLabel:
    set_id: str
    version: int | None
    document_id: str | None
    effective_date: date | None
    title: str | None
    document_type: str | None  # e.g. HUMAN PRESCRIPTION DRUG LABEL
    product_names: list[str]
    generic_names: list[str]
    routes: list[str]
    dosage_forms: list[str]
    marketing_categories: list[str]
    indications: str | None
    dosage_and_administration: str | None
    boxed_warning: str | None
    contraindications: str | None
    source_file: str
    ndcs: list[tuple[str, str]] = field(default_factory=list)  # (as written, 5-4-2)


# --- finding the documents -----------------------------------------------------------------------------


def iter_documents(path: Path) -> Iterator[SplDocument]:
    """Every SPL document under ``path`` (an XML file, a zip, or a folder of them), in name order."""
    path = Path(path)
    if path.is_dir():
        found = sorted(p for p in path.rglob("*") if p.suffix.lower() in (".xml", ".zip") and p.is_file())
        if not found:
            raise InputError(path, "the folder holds no .xml or .zip file")
        for child in found:
            yield from iter_documents(child)
        return
    if not path.is_file():
        raise InputError(path, "no such file")
    if zipfile.is_zipfile(path):
        yield from _zip_documents(path)
        return
    yield SplDocument(path.name, path.read_bytes(), path)


def _zip_documents(path: Path) -> Iterator[SplDocument]:
    try:
        with zipfile.ZipFile(path) as archive:
            names = sorted(n for n in archive.namelist() if n.lower().endswith((".xml", ".zip")))
            xml = [n for n in names if n.lower().endswith(".xml")]
            inner = [n for n in names if n.lower().endswith(".zip")]
            if not xml and not inner:
                raise InputError(path, "the zip holds no SPL XML document")
            for name in xml:
                yield SplDocument(f"{path.name}:{name}", _member_bytes(path, archive, name), path)
            for name in inner:  # DailyMed's bulk downloads are zips of per-label zips
                yield from _nested(path, archive, name)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(path, f"not a readable zip archive ({exc})") from exc


def _member_bytes(path: Path, archive: zipfile.ZipFile, name: str) -> bytes:
    with archive.open(name) as member:
        data = member.read(MAX_XML_BYTES + 1)
    if len(data) > MAX_XML_BYTES:
        raise InputError(path, f"{name}: over {MAX_XML_BYTES >> 20} MB unpacked; not an SPL document")
    return data


def _nested(path: Path, archive: zipfile.ZipFile, name: str) -> Iterator[SplDocument]:
    with zipfile.ZipFile(io.BytesIO(_member_bytes(path, archive, name))) as inner:
        for member in sorted(n for n in inner.namelist() if n.lower().endswith(".xml")):
            yield SplDocument(f"{path.name}:{name}:{member}", _member_bytes(path, inner, member), path)


# --- parsing one document ------------------------------------------------------------------------------


def parse_label(doc: SplDocument) -> SplLabel:
    root = _parse_xml(doc)
    set_id = _attr(root.find(f"{V3}setId"), "root")
    if root.tag != f"{V3}document" or not set_id:
        raise SchemaDriftError(doc.name, "not an SPL document (no HL7 v3 <document> with a <setId>)")
    products = _products(root)
    sections = _sections(root)
    return SplLabel(
        set_id=set_id.lower(),
        version=_int(_attr(root.find(f"{V3}versionNumber"), "value")),
        document_id=_attr(root.find(f"{V3}id"), "root"),
        effective_date=_date(_attr(root.find(f"{V3}effectiveTime"), "value")),
        title=_inline_text(root.find(f"{V3}title")) or None,
        document_type=_attr(root.find(f"{V3}code"), "displayName"),
        product_names=_unique(p.name for p in products),
        generic_names=_unique(g for p in products for g in p.generics),
        routes=_unique(r for p in products for r in p.routes),
        dosage_forms=_unique(p.form for p in products),
        marketing_categories=_unique(p.category for p in products),
        source_file=doc.name,
        ndcs=list(dict.fromkeys((n, normalize_ndc(n) or n) for p in products for n in p.packages)),
        **{name: sections.get(code) for code, name in SECTIONS.items()},
    )


def _parse_xml(doc: SplDocument) -> Element:
    try:
        return fromstring(doc.data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise InputError(
            doc.name, f"refused: the XML declares a DTD or entities ({type(exc).__name__})"
        ) from exc
    except ParseError as exc:
        line, column = exc.position
        reason = str(exc).split(":")[0]
        raise InputError(doc.name, f"malformed XML at line {line}, column {column + 1}: {reason}") from exc


def _attr(element: Element | None, name: str) -> str | None:
    return None if element is None else element.get(name)


def _int(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None


def _date(text: str | None) -> date | None:
    if not text or len(text) < 8 or not text[:8].isdigit():
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return None


def _unique(values: Iterator[str | None] | list[str | None]) -> list[str]:
    """First spelling of each value, case-insensitively, in document order."""
    seen: dict[str, str] = {}
    for value in values:
        if value and value.casefold() not in seen:
            seen[value.casefold()] = value
    return list(seen.values())


@dataclass
class _Product:
    name: str | None
    form: str | None
    generics: list[str]
    routes: list[str]
    category: str | None
    packages: list[str]


def _products(root: Element) -> list[_Product]:
    """The labelled products; the parts of a kit (an alcohol pad) lend it neither names nor routes."""
    products = []
    for role in root.iter(f"{V3}manufacturedProduct"):
        product = role.find(f"{V3}manufacturedProduct")
        if product is None:
            continue
        routes = [
            r.get("displayName") or ""
            for r in role.findall(f"{V3}consumedIn/{V3}substanceAdministration/{V3}routeCode")
        ]
        products.append(
            _Product(
                name=product.findtext(f"{V3}name"),
                form=_attr(product.find(f"{V3}formCode"), "displayName"),
                generics=[
                    g.text.strip()
                    for g in product.findall(f"{V3}asEntityWithGeneric/{V3}genericMedicine/{V3}name")
                    if g.text
                ],
                routes=[r for r in routes if r],
                category=_attr(role.find(f"{V3}subjectOf/{V3}approval/{V3}code"), "displayName"),
                packages=_packages(product),
            )
        )
    return products


def _packages(product: Element) -> list[str]:
    """Package NDCs (three segments), following nested containers but not kit parts."""
    found = []
    pending = product.findall(f"{V3}asContent")
    while pending:
        content = pending.pop(0)
        container = content.find(f"{V3}containerPackagedProduct")
        if container is None:
            continue
        code = container.find(f"{V3}code")
        if (
            code is not None
            and code.get("codeSystem") == NDC_SYSTEM
            and (code.get("code") or "").count("-") == 2
        ):
            found.append(code.get("code") or "")
        pending.extend(container.findall(f"{V3}asContent"))
    return found


def _sections(root: Element) -> dict[str, str]:
    """Text of the first section carrying each kept LOINC code."""
    texts: dict[str, str] = {}
    for section in root.iter(f"{V3}section"):
        code = section.find(f"{V3}code")
        key = None if code is None else code.get("code")
        if key in SECTIONS and key not in texts:
            texts[key] = "\n\n".join(_blocks(section, top=True)).strip()
    return {k: v for k, v in texts.items() if v}


def _blocks(section: Element, *, top: bool = False) -> Iterator[str]:
    """Paragraphs, list items ("- ..."), table rows ("a | b") and subsections, in document order."""
    title = _inline_text(section.find(f"{V3}title"))
    if title and not top:
        yield title
    for child in section:
        if child.tag == f"{V3}text":
            yield from _text_blocks(child)
        elif child.tag == f"{V3}component":
            for sub in child.findall(f"{V3}section"):
                yield from _blocks(sub)


def _text_blocks(element: Element) -> Iterator[str]:
    for child in element:
        tag = child.tag.removeprefix(V3)
        if tag == "paragraph":
            if text := _inline_text(child):
                yield text
        elif tag == "list":
            ordered = child.get("listType") == "ordered"
            items = [_inline_text(i) for i in child.findall(f"{V3}item")]
            lines = [f"{n}. {t}" if ordered else f"- {t}" for n, t in enumerate(items, 1) if t]
            if lines:
                yield "\n".join(lines)
        elif tag == "table":
            rows = [
                " | ".join(_inline_text(c) for c in tr if c.tag in (f"{V3}td", f"{V3}th"))
                for tr in child.iter(f"{V3}tr")
            ]
            if rows:
                yield "\n".join(rows)
        elif tag not in ("caption", "footnote", "renderMultiMedia"):
            yield from _text_blocks(child)


def _inline_text(element: Element | None) -> str:
    """Text with inline markup flattened; a <br/> is a line break; whitespace runs collapsed per line."""
    if element is None:
        return ""
    parts: list[str] = []

    def walk(node: Element) -> None:
        if node.text:
            parts.append(node.text)
        for child in node:
            if child.tag == f"{V3}br":
                parts.append("\n")
            elif child.tag not in (f"{V3}footnote", f"{V3}renderMultiMedia"):
                walk(child)
            if child.tail:
                parts.append(child.tail)

    walk(element)
    lines = (" ".join(line.split()) for line in "".join(parts).split("\n"))
    return "\n".join(line for line in lines if line)
