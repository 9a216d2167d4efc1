"""Search over every loaded code: code, descriptor words, crosswalk drug and brand names, NDC in any hyphenation.

An inverted index in memory, built once per store version (about 0.2 s for the full HCPCS file). A query
term matches a word that starts with it; every term must match (AND). Ranking: the field a term matched
(code > NDC > drug name > short > long descriptor), a whole word over a prefix, active codes before
terminated ones, then the code. Measured in benchmarks/serve_load.py and docs/methodology.md.
"""

from __future__ import annotations

import heapq
import re
from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

__all__ = ["FIELDS", "Hit", "SearchDoc", "SearchIndex", "ndc_keys", "tokens"]

#: Field weights: a match in an earlier field ranks higher.
FIELDS = {"code": 100, "ndc": 60, "drug": 40, "short": 25, "long": 20}
_WORD_FIELDS = ("code", "drug", "short", "long")  # NDC segments are not words: "10" would match thousands
#: Prefixes this short match most of the file; their results are computed once at build time.
_PRECOMPUTED = 2
_WORD = re.compile(r"[a-z0-9]+")
_NDC_QUERY = re.compile(r"^\d[\d\s-]{8,12}\d$")


def tokens(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def ndc_keys(text: str) -> list[str]:
    """11-digit forms an NDC query may stand for: 5-4-2 with hyphens padded; 10 bare digits are ambiguous."""
    if not _NDC_QUERY.match(text.strip()):
        return []
    parts = [p for p in re.split(r"[\s-]+", text.strip()) if p]
    if len(parts) == 3 and all(len(p) <= w for p, w in zip(parts, (5, 4, 2), strict=True)):
        return ["".join(p.zfill(w) for p, w in zip(parts, (5, 4, 2), strict=True))]
    digits = "".join(parts)
    if len(digits) == 11:
        return [digits]
    if len(digits) == 10:  # 4-4-2, 5-3-2 or 5-4-1 without hyphens
        return [f"0{digits}", f"{digits[:5]}0{digits[5:]}", f"{digits[:9]}0{digits[9:]}"]
    return []


@dataclass(frozen=True)
class SearchDoc:
    code: str
    long: str
    short: str
    drugs: tuple[str, ...] = ()
    ndcs: tuple[str, ...] = ()  # 5-4-2
    terminated: date | None = None

    def text(self, name: str) -> str:
        if name == "code":
            return self.code
        if name == "drug":
            return ", ".join(self.drugs)
        if name == "ndc":
            return ", ".join(self.ndcs)
        return self.long if name == "long" else self.short


@dataclass
class Hit:
    doc: SearchDoc
    score: float
    field: str
    #: the matched field's text as (text, matched) segments, for highlighting
    segments: list[tuple[str, bool]]


class SearchIndex:
    def __init__(self, docs: list[SearchDoc]) -> None:
        self.docs = docs
        postings: dict[str, dict[int, tuple[float, str]]] = defaultdict(dict)
        self.ndc: dict[str, set[int]] = defaultdict(set)
        for i, doc in enumerate(docs):
            for name in _WORD_FIELDS:
                weight = FIELDS[name]
                for word in tokens(doc.text(name)):
                    best = postings[word].get(i)
                    if best is None or best[0] < weight:
                        postings[word][i] = (weight, name)
            for ndc in doc.ndcs:
                self.ndc[ndc.replace("-", "")].add(i)
        self.words = sorted(postings)
        self.postings = dict(postings)
        self.ndc_keys = sorted(self.ndc)
        #: ties rank active codes first, then by code
        self.order = {i: n for n, i in enumerate(sorted(range(len(docs)), key=self._tiebreak))}
        self.short = self._short_prefixes()

    def _tiebreak(self, i: int) -> tuple[bool, str]:
        return self.docs[i].terminated is not None, self.docs[i].code

    def _short_prefixes(self) -> dict[str, dict[int, tuple[float, str]]]:
        result: dict[str, dict[int, tuple[float, str]]] = {}
        for word in self.words:
            for n in range(1, min(_PRECOMPUTED, len(word)) + 1):
                prefix = word[:n]
                if prefix not in result:
                    result[prefix] = self._expand(prefix)
        return result

    def _term(self, term: str) -> dict[int, tuple[float, str]]:
        if len(term) <= _PRECOMPUTED:
            return self.short.get(term, {})
        return self._expand(term)

    def _expand(self, term: str) -> dict[int, tuple[float, str]]:
        """Best (score, field) per document for one term: a whole word counts double a prefix."""
        found: dict[int, tuple[float, str]] = {}
        start = bisect_left(self.words, term)
        for word in self.words[start:]:
            if not word.startswith(term):
                break
            factor = 2.0 if word == term else 1.0
            for i, (weight, name) in self.postings[word].items():
                score = weight * factor
                if i not in found or found[i][0] < score:
                    found[i] = (score, name)
        return found

    def search(self, query: str, limit: int = 50, offset: int = 0) -> tuple[int, list[Hit]]:
        """(total matches, one page of hits) best first."""
        scored = self._score(query)
        order = self.order
        page = heapq.nsmallest(offset + limit, scored.items(), key=lambda kv: (-kv[1][0], order[kv[0]]))
        terms, keys = tokens(query), set(ndc_keys(query))
        hits = [self._hit(i, score, name, terms, keys) for i, (score, name) in page[offset:]]
        return len(scored), hits

    def _score(self, query: str) -> dict[int, tuple[float, str]]:
        ndc_docs = self._ndc_docs(query)
        if ndc_docs:
            return {i: (FIELDS["ndc"] * 3.0, "ndc") for i in ndc_docs}
        terms = list(dict.fromkeys(tokens(query)))
        if not terms:
            return {}
        # Rarest term first keeps the intersection small.
        per_term = sorted((self._term(t) for t in terms), key=len)
        total = dict(per_term[0])
        for other in per_term[1:]:
            total = {
                i: (s + other[i][0], n if s >= other[i][0] else other[i][1])
                for i, (s, n) in total.items()
                if i in other
            }
        return total

    def _ndc_docs(self, query: str) -> set[int]:
        """Documents of a whole NDC (any hyphenation), or of an NDC prefix of 5+ digits (a labeler)."""
        found = {i for key in ndc_keys(query) for i in self.ndc.get(key, ())}
        digits = query.strip().replace("-", "")
        if found or not (digits.isdigit() and 5 <= len(digits) < 11):
            return found
        start = bisect_left(self.ndc_keys, digits)
        for key in self.ndc_keys[start:]:
            if not key.startswith(digits):
                break
            found |= self.ndc[key]
        return found

    def _hit(self, i: int, score: float, name: str, terms: list[str], keys: set[str]) -> Hit:
        doc = self.docs[i]
        if name == "ndc":
            digits = "".join(terms)
            marked = [(ndc, _ndc_match(ndc, keys, digits)) for ndc in doc.ndcs]
            segments = [s for j, m in enumerate(marked) for s in ([(", ", False)] if j else []) + [m]]
            return Hit(doc, score, name, segments)
        return Hit(doc, score, name, highlight(doc.text(name), terms))


def highlight(text: str, terms: list[str]) -> list[tuple[str, bool]]:
    """Split ``text`` into (segment, matched) pairs: words starting with a query term are matched."""
    segments: list[tuple[str, bool]] = []
    pos = 0
    for m in re.finditer(r"[A-Za-z0-9]+", text):
        word = m.group().lower()
        hit = next((t for t in terms if word.startswith(t)), None)
        if hit is None:
            continue
        if m.start() > pos:
            segments.append((text[pos : m.start()], False))
        segments.append((text[m.start() : m.start() + len(hit)], True))
        pos = m.start() + len(hit)
    if pos < len(text):
        segments.append((text[pos:], False))
    return segments


def _ndc_match(ndc: str, keys: set[str], digits: str) -> bool:
    bare = ndc.replace("-", "")
    return bare in keys or (not keys and bare.startswith(digits))
