"""Shared reading for the CMS sources: bytes to text, CSV/.xls/.xlsx to rows, header rows to named fields.

CMS files differ in preambles, header spellings, encodings and cell types. This module absorbs that, so a
source module only turns named fields into typed values. The spellings themselves are package data
(``hcpcs_atlas/data/<source>_columns.csv``): ``header`` is a regex matched, case-insensitively, against
the whole header cell after underscores become spaces and runs of whitespace collapse; ``required`` names
the group a header row must cover (any one field of a group will do), or is empty for optional fields.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import re
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import cache
from itertools import chain, islice
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple, TypeVar

from ..data import read_table as data_table
from ..errors import InputError, SchemaDriftError
from . import is_level2

__all__ = [
    "NOC_CODE",
    "ColumnSpec",
    "Record",
    "Source",
    "TableFile",
    "column_specs",
    "decode_text",
    "drug_code",
    "drug_description",
    "drug_series",
    "edition_date",
    "edition_meta",
    "effective_clue",
    "effective_from",
    "effective_period",
    "level2_text",
    "read_source",
    "read_tabular",
    "unique_rows",
]

#: How far down a preamble may push the header row before the file is judged to be of another kind.
HEADER_SCAN_ROWS = 60
ZIP_MAGIC = b"PK\x03\x04"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
#: NOC drug files key rows by generic drug name: those drugs have no HCPCS code of their own yet.
NOC_CODE = "NOC"
T = TypeVar("T")
NO_BOUNDS: Mapping[str, tuple[float, float]] = MappingProxyType({})
#: Written where an amount does not apply: OPPS "." (no national copay), ASP "N/A" (A9606 is priced by AWP).
NO_AMOUNT = frozenset({"", ".", "N/A", "NA"})
TRUE_FLAGS = frozenset({"*", "true", "yes", "y", "1", "x"})
FALSE_FLAGS = frozenset({"false", "no", "n", "0"})
LONG_DATE = r"[A-Za-z]+\.? \d{1,2}, \d{4}"
PERIOD = re.compile(rf"(?P<start>{LONG_DATE})\s+(?:through|thru|to|-|\u2013)\s+(?P<end>{LONG_DATE})", re.I)


# --- bytes and formats ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Source:
    """A file's bytes and what they are: ``xlsx``, ``xls``, ``csv`` or ``txt``."""

    path: Path
    data: bytes
    format: str


def read_source(path: Path) -> Source:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(path, f"cannot read file: {exc.strerror or exc}") from exc
    if not data.strip():
        raise InputError(path, "file is empty")
    return Source(path, data, file_format(path, data))


def file_format(path: Path, data: bytes) -> str:
    """The signature decides for workbooks (CMS has shipped .xls files that are really .xlsx)."""
    if data.startswith(ZIP_MAGIC):
        return "xlsx"
    if data.startswith(OLE2_MAGIC):
        return "xls"
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm", ".xls"):
        raise InputError(path, f"not a valid {suffix} workbook (neither a zip archive nor an OLE2 file)")
    return "txt" if suffix == ".txt" else "csv"


class Decoded(NamedTuple):
    text: str
    encoding: str  # the codec: utf-8, cp1252, utf-16
    note: str  # how, in words: the codec, and where decoding failed if it did

    @property
    def meta(self) -> dict[str, str]:
        return {"encoding": self.encoding, "decoding": self.note}


def decode_text(data: bytes) -> Decoded:
    """The text and how it was decoded: UTF-8 when the bytes are UTF-8, else cp1252 (what CMS writes).

    UTF-8 goes first because cp1252 decodes any UTF-8 file into mojibake without complaint, while a
    cp1252 file is almost never valid UTF-8. A UTF-8 file with a few stray bytes stays UTF-8 (one 0x81
    must not turn every "\u2122" into three characters); the stray bytes become U+FFFD and the second
    part of the answer says how many and where the first is. UTF-16 (BOM, or NULs between ASCII
    letters) is decoded as such. Nothing is refused for its encoding alone, and nothing is silent.
    """
    utf16 = _utf16_codec(data)
    if utf16 is not None:
        return _decode(data, utf16, "utf-16")
    body = data.removeprefix(codecs.BOM_UTF8)
    try:
        return Decoded(body.decode("utf-8"), "utf-8", "utf-8")
    except UnicodeDecodeError as exc:
        first_bad = exc.start + len(data) - len(body)
    rough = body.decode("utf-8", "replace")
    replaced = rough.count("\ufffd")
    good = sum(not c.isascii() for c in rough) - replaced
    if good and good >= replaced:  # mostly good UTF-8: a few stray bytes
        return _decode(data, "utf-8", "utf-8", skip=len(data) - len(body))
    try:
        return Decoded(body.decode("cp1252"), "cp1252", f"cp1252 (not UTF-8: {_where(data, first_bad)})")
    except UnicodeDecodeError:
        return _decode(data, "cp1252", "cp1252", skip=len(data) - len(body))


def _utf16_codec(data: bytes) -> str | None:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    head = data[:512]
    if len(head) >= 8 and head[1::2].count(0) > len(head) // 4 and not head[0::2].count(0):
        return "utf-16-le"
    if len(head) >= 8 and head[0::2].count(0) > len(head) // 4 and not head[1::2].count(0):
        return "utf-16-be"
    return None


def _decode(data: bytes, codec: str, name: str, skip: int = 0) -> Decoded:
    """Decode, replacing what does not decode, and say where the first failure was."""
    try:
        return Decoded(data[skip:].decode(codec), name, name)
    except UnicodeDecodeError as exc:
        text = data[skip:].decode(codec, "replace")
        where = _where(data, exc.start + skip)
        count = text.count("\ufffd")
        return Decoded(
            text, name, f"{name}, {count:,} byte(s) that are not {name} shown as U+FFFD (first: {where})"
        )


def _where(data: bytes, offset: int) -> str:
    line = data.count(b"\n", 0, offset) + 1
    return f"byte {offset}, line {line}"


# --- rows of a table -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Row:
    """One spreadsheet row or CSV record; ``number`` is its 1-based row (or first line) in the file.

    ``cut`` marks the last record of a text file that does not end with a line break: possibly a download
    that stopped mid-record.
    """

    number: int
    cells: list[str]
    cut: bool = False

    def is_blank(self) -> bool:
        return not any(cell.strip() for cell in self.cells)


@dataclass(frozen=True, slots=True)
class RowStream:
    """Rows read lazily, so a file of the wrong kind is refused after its first rows, not its last."""

    rows: Iterator[Row]
    meta: dict[str, Any]


def load_table(source: Source) -> RowStream:
    if source.format == "xlsx":
        return xlsx_table(source)
    if source.format == "xls":
        return xls_table(source)
    return csv_table(source)


def csv_table(source: Source) -> RowStream:
    decoded = decode_text(source.data)
    return RowStream(csv_rows(source.path, decoded.text), decoded.meta)


def csv_rows(path: Path, text: str) -> Iterator[Row]:
    # strict: a quoted field still open at the end of the text is an error, not a short last field.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    first_line = 1
    previous: Row | None = None
    try:
        for cells in reader:
            if previous is not None:
                yield previous
            previous = Row(first_line, cells)
            first_line = reader.line_num + 1
    except csv.Error as exc:
        raise InputError(path, f"malformed CSV ({exc}); truncated file?", row=first_line) from exc
    if previous is not None:
        yield replace(previous, cut=not text.endswith(("\n", "\r")))


def guarded(path: Path, kind: str, read: Callable[[], T]) -> T:
    """Run a workbook library call with its warnings muted and its errors as InputError.

    calamine and xlrd report a damaged file as any of BadZipFile, KeyError, XML parse errors, EOFError,
    CompDocError...: all mean the same to the user. Their warnings are notices about workbook features
    (styles, extensions) that do not affect the cell values read here.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return read()
    except Exception as exc:
        raise InputError(path, f"not a readable .{kind} workbook ({type(exc).__name__}: {exc})") from exc


def xlsx_table(source: Source) -> RowStream:
    # calamine (Rust) reads a 9,000-row HCPCS workbook ~14x faster than openpyxl's read-only mode, which
    # decided the time to load a series of quarterly files.
    from python_calamine import CalamineWorkbook

    book = guarded(source.path, "xlsx", lambda: CalamineWorkbook.from_filelike(io.BytesIO(source.data)))
    sheet = guarded(source.path, "xlsx", lambda: book.get_sheet_by_index(0))
    values = guarded(source.path, "xlsx", lambda: sheet.to_python(skip_empty_area=False))
    rows = (Row(number, [cell_text(value) for value in row]) for number, row in enumerate(values, 1))
    return RowStream(rows, {"sheet": sheet.name})


def xls_table(source: Source) -> RowStream:
    import xlrd  # legacy .xls only: not imported at start-up

    book = guarded(
        source.path, "xls", lambda: xlrd.open_workbook(file_contents=source.data, logfile=io.StringIO())
    )
    sheet = guarded(source.path, "xls", lambda: book.sheet_by_index(0))
    rows = [Row(r + 1, xls_cells(sheet, r, book.datemode)) for r in range(sheet.nrows)]
    return RowStream(iter(rows), {"sheet": sheet.name})


def xls_cells(sheet: Any, row: int, datemode: int) -> list[str]:
    import xlrd

    types, values = sheet.row_types(row), sheet.row_values(row)
    return [
        xlrd.xldate_as_datetime(value, datemode).date().isoformat()
        if kind == xlrd.XL_CELL_DATE
        else cell_text(value)
        for kind, value in zip(types, values, strict=True)
    ]


def cell_text(value: object) -> str:
    """A cell as the text a person sees; whole numbers lose the ``.0`` spreadsheets give them."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


# --- header row and column maps ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    field: str
    pattern: re.Pattern[str]
    required: str  # group a header row must cover; "" = optional


@cache
def column_specs(resource: str) -> tuple[ColumnSpec, ...]:
    return tuple(
        ColumnSpec(row["field"], re.compile(row["header"], re.IGNORECASE), row["required"])
        for row in data_table(resource)
    )


def header_name(cell: str) -> str:
    return " ".join(cell.replace("_", " ").split())


def match_columns(cells: Sequence[str], specs: Sequence[ColumnSpec]) -> dict[str, int]:
    """Field -> column index; the first column wins when a field is spelled twice."""
    found: dict[str, int] = {}
    for index, cell in enumerate(cells):
        name = header_name(cell)
        spec = next((s for s in specs if name and s.pattern.fullmatch(name)), None)
        if spec is not None and spec.field not in found:
            found[spec.field] = index
    return found


def missing_groups(found: Mapping[str, int], specs: Sequence[ColumnSpec]) -> list[str]:
    covered = {spec.required for spec in specs if spec.field in found}
    groups = dict.fromkeys(spec.required for spec in specs if spec.required)
    return [group for group in groups if group not in covered]


def find_header(path: Path, rows: Sequence[Row], specs: Sequence[ColumnSpec], kind: str) -> int:
    """Index of the first row naming every required column; the file is of another kind if none does."""
    groups = len(missing_groups({}, specs))
    best: tuple[int, int] | None = None  # (required groups covered, index)
    for index, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        covered = groups - len(missing_groups(match_columns(row.cells, specs), specs))
        if covered == groups:
            return index
        if covered and (best is None or covered > best[0]):
            best = (covered, index)
    raise header_error(path, rows, specs, kind, None if best is None else best[1])


def header_error(
    path: Path, rows: Sequence[Row], specs: Sequence[ColumnSpec], kind: str, closest: int | None
) -> SchemaDriftError:
    wanted = name_list(missing_groups({}, specs))
    message = f"no {kind} header row (columns {wanted}) in the first {HEADER_SCAN_ROWS} rows"
    if closest is None:
        return SchemaDriftError(path, message)
    lacking = name_list(missing_groups(match_columns(rows[closest].cells, specs), specs))
    return SchemaDriftError(path, f"{message}; the closest row lacks {lacking}", row=rows[closest].number)


def name_list(names: Sequence[str], shown: int = 6) -> str:
    """Names for a one-line message; a long list is cut short."""
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


# --- records: one data row with named fields -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Record:
    """One data row by field name. Accessors strip text and raise InputError naming file, row and column."""

    path: Path
    row: int
    cells: Mapping[str, str]
    labels: Mapping[str, str]  # field -> column as the file names it, for error messages
    bounds: Mapping[str, tuple[float, float]] = field(default_factory=dict)  # field -> plausible (min, max)

    def text(self, name: str) -> str | None:
        return self.cells.get(name, "").strip() or None

    def texts(self, names: Iterable[str]) -> tuple[str, ...]:
        return tuple(value for name in names if (value := self.text(name)) is not None)

    def amount(self, name: str) -> float | None:
        raw = self.cells.get(name, "")
        try:
            number = parse_number(raw)
        except ValueError:
            raise self.error(name, f"not a number: {raw.strip()[:40]!r}") from None
        low, high = self.bounds.get(name, (-math.inf, math.inf))
        if number is not None and not low <= number <= high:
            # A negative limit or a 309-digit one is a broken file, not a figure to publish.
            raise self.error(name, f"amount {number:g} outside {low:g}..{high:g} (data/amount_bounds.csv)")
        return number

    def integer(self, name: str) -> int | None:
        raw = self.text(name)
        if raw is None:
            return None
        if not raw.isdigit():
            raise self.error(name, f"not a whole number: {raw!r}")
        return int(raw)

    def date_of(self, name: str) -> date | None:
        raw = self.text(name)
        try:
            return None if raw is None else parse_date(raw)
        except ValueError:
            raise self.error(name, f"not a date (YYYYMMDD): {raw!r}") from None

    def flag(self, name: str) -> bool:
        raw = (self.text(name) or "").lower()
        if raw in TRUE_FLAGS:
            return True
        if raw in FALSE_FLAGS or not raw:
            return False
        raise self.error(name, f"not a yes/no flag: {raw!r}")

    def error(self, name: str, message: str) -> InputError:
        return InputError(self.path, message, row=self.row, column=self.labels.get(name, name))


def parse_number(raw: str) -> float | None:
    """Amounts as CMS prints them (``$2.462``, ``1,234.5``); None where no amount applies."""
    # A trailing "?" is a character lost in CMS's section 508 export (April 2024 crosswalk: "21.3125?").
    value = raw.replace("$", "").replace(",", "").strip().removesuffix("?")
    if value.upper() in NO_AMOUNT:
        return None
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(raw)
    return number


def parse_date(raw: str) -> date:
    """``YYYYMMDD`` as CMS writes dates, or ``YYYY-MM-DD`` from a spreadsheet date cell."""
    digits = raw.replace("-", "")
    if len(digits) != 8 or not digits.isdigit():
        raise ValueError(raw)
    return date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))


# --- a whole table source ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TableFile:
    """A table file after the header row: its records, the preamble text above the header, and meta."""

    records: list[Record]
    preamble: list[str]
    meta: dict[str, Any] = field(default_factory=dict)


@cache
def amount_bounds(columns: str) -> Mapping[str, tuple[float, float]]:
    """Plausible (min, max) per amount field of a source, by its columns file (``amount_bounds.csv``)."""
    return {
        row["field"]: (float(row["min"]), float(row["max"]))
        for row in data_table("amount_bounds.csv")
        if row["columns"] == columns
    }


@cache
def row_key(columns: str) -> tuple[str, ...]:
    """The fields that identify a row of a source (``row_keys.csv``, by the source's columns file, or by
    a name of its own for a second kind of row in one file): two rows with the same key are one row
    written twice, or a conflict."""
    return next(
        (tuple(r["fields"].split()) for r in data_table("row_keys.csv") if r["columns"] == columns), ()
    )


def unique_rows(path: Path, columns: str, pairs: Iterable[tuple[Record, T]]) -> list[T]:
    """The rows without repeats; the same key with different values refuses the file, naming both rows."""
    fields = row_key(columns)
    seen: dict[tuple[object, ...], tuple[int, T]] = {}
    rows: list[T] = []
    for record, row in pairs:
        key = tuple(getattr(row, name) for name in fields)
        first = seen.setdefault(key, (record.row, row)) if fields else (record.row, row)
        if first[1] is row:
            rows.append(row)
        elif first[1] != row:
            what = " ".join(str(part) for part in key if part is not None)[:80]
            message = f"{what} appears twice with different values (rows {first[0]} and {record.row})"
            raise InputError(path, message, row=record.row)
    return rows


def read_tabular(path: Path, columns: str, kind: str, source: Source | None = None) -> TableFile:
    """Read a CSV/.xls/.xlsx file whose header row names the columns in the ``columns`` data file."""
    source = source or read_source(path)
    table = load_table(source)
    head = list(islice(table.rows, HEADER_SCAN_ROWS))
    if len(head) < HEADER_SCAN_ROWS and all(row.is_blank() for row in head):
        raise InputError(path, "file is empty")
    specs = column_specs(columns)
    index = find_header(path, head, specs, kind)
    header = head[index]
    records = make_records(path, header, chain(head[index + 1 :], table.rows), specs, amount_bounds(columns))
    preamble = [cell.strip() for row in head[:index] for cell in row.cells if cell.strip()]
    meta = {"format": source.format, **table.meta, "header_row": header.number}
    meta |= {"title": preamble[0] if preamble else None, "columns": dict(records[0].labels)}
    return TableFile(records, preamble, meta)


def make_records(
    path: Path,
    header: Row,
    rows: Iterable[Row],
    specs: Sequence[ColumnSpec],
    bounds: Mapping[str, tuple[float, float]] = NO_BOUNDS,
) -> list[Record]:
    columns = match_columns(header.cells, specs)
    labels = {name: header.cells[index].strip() for name, index in columns.items()}
    records = [make_record(path, row, columns, labels, bounds) for row in rows if not row.is_blank()]
    if not records:
        raise InputError(path, "no data rows after the header row", row=header.number)
    return records


def make_record(
    path: Path,
    row: Row,
    columns: Mapping[str, int],
    labels: Mapping[str, str],
    bounds: Mapping[str, tuple[float, float]] = NO_BOUNDS,
) -> Record:
    if row.cut and len(row.cells) <= max(columns.values()):
        message = f"the file ends inside this row ({len(row.cells)} of {max(columns.values()) + 1} columns)"
        raise InputError(path, f"{message}; truncated file?", row=row.number)
    cells = {name: cell_at(row.cells, index) for name, index in columns.items()}
    return Record(path, row.number, cells, labels, bounds)


def cell_at(cells: Sequence[str], index: int) -> str:
    return cells[index] if index < len(cells) else ""


# --- shared field rules --------------------------------------------------------------------------------


def level2_text(code: str, text: str | None) -> str | None:
    """Descriptor text only for HCPCS Level II codes: CPT descriptors are the AMA's and never kept."""
    return text if is_level2(code) else None


def drug_code(record: Record) -> str:
    """The row's HCPCS code; NOC files have no code column and get :data:`NOC_CODE`."""
    if "code" not in record.labels:
        return NOC_CODE
    code = record.text("code")
    if code is None:
        raise record.error("code", "missing HCPCS code")
    return code.upper()


def drug_series(table: TableFile) -> dict[str, str]:
    """``{"series": "NOC"}`` for a NOC file: a series of its own beside the quarter's main file."""
    return {} if "code" in table.meta["columns"] else {"series": NOC_CODE}


def drug_description(record: Record, code: str) -> str | None:
    """A NOC row's generic drug name (not AMA text), else the Level II short descriptor."""
    if code == NOC_CODE:
        return record.text("drug_generic_name")
    return level2_text(code, record.text("short_description"))


# --- effective dates -----------------------------------------------------------------------------------


def effective_period(texts: Iterable[str]) -> tuple[date | None, date | None]:
    """The first "October 1, 2025 through December 31, 2025" in a preamble, as dates."""
    for text in texts:
        match = PERIOD.search(text)
        if match:
            return long_date(match["start"]), long_date(match["end"])
    return None, None


def long_date(text: str) -> date | None:
    month_name, day, year = text.replace(",", "").replace(".", "").split()
    month = month_number(month_name)
    try:
        return None if month is None else date(int(year), month, int(day))
    except ValueError:
        return None


def month_number(text: str | None) -> int | None:
    """``OCT``, ``October``, ``10`` -> 10; None for anything else. Absent (annual files) means January."""
    if text is None:
        return 1
    if text.isdigit():
        return int(text) if 1 <= int(text) <= 12 else None
    prefix = text[:3].lower()
    return MONTHS.index(prefix) + 1 if prefix in MONTHS else None


@cache
def effective_patterns(source: str) -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple(
        (row["applies_to"], re.compile(row["pattern"], re.IGNORECASE))
        for row in data_table("effective_dates.csv")
        if row["source"] == source
    )


def effective_from(source: str, file_name: str, texts: Sequence[str] = ()) -> date | None:
    """First day of the period a file name or title text names, by ``effective_dates.csv`` in order."""
    clue = effective_clue(source, file_name, texts)
    return None if clue is None else clue[0]


def effective_clue(source: str, file_name: str, texts: Sequence[str] = ()) -> tuple[date, str] | None:
    """Like :func:`effective_from`, with the text the period was read from (the file name or a text)."""
    for applies_to, pattern in effective_patterns(source):
        for candidate in [file_name] if applies_to == "name" else texts:
            match = pattern.search(candidate)
            start = None if match is None else month_start(match)
            if start is not None:
                return start, candidate
    return None


def month_start(match: re.Match[str]) -> date | None:
    month = month_number(match.groupdict().get("month"))
    return None if month is None else date(full_year(match["year"]), month, 1)


def full_year(text: str) -> int:
    """CMS file names shorten years to two digits ("HCPC17", "091725"): all of them this century."""
    return int(text) + 2000 if len(text) == 2 else int(text)


# --- editions: two files of one period -----------------------------------------------------------------


@cache
def edition_patterns(source: str) -> tuple[tuple[str, re.Pattern[str], str], ...]:
    return tuple(
        (row["applies_to"], re.compile(row["pattern"], re.IGNORECASE), row["meaning"])
        for row in data_table("edition_dates.csv")
        if row["source"] == source
    )


def edition_date(source: str, file_name: str, texts: Iterable[str] = ()) -> tuple[date, str] | None:
    """When this edition of a period was published, and from what (``edition_dates.csv``).

    CMS re-posts a corrected file for the same quarter; the latest date any clue gives (a release date in
    the file name, an "Updated January 2026" note) orders the editions, the later one standing.
    """
    texts = list(texts)
    found: list[tuple[date, str]] = []
    for applies_to, pattern, meaning in edition_patterns(source):
        for candidate in [file_name] if applies_to == "name" else texts:
            for match in pattern.finditer(candidate):
                when = clue_date(match)
                if when is not None:
                    found.append((when, f"{meaning}: {match.group(0).strip()}"))
    return max(found, default=None)


def edition_meta(source: str, file_name: str, texts: Iterable[str] = ()) -> dict[str, str]:
    """``{"edition": ISO date, "edition_from": clue}`` for a file's meta; empty when nothing says."""
    found = edition_date(source, file_name, texts)
    return {} if found is None else {"edition": found[0].isoformat(), "edition_from": found[1]}


def clue_date(match: re.Match[str]) -> date | None:
    month = month_number(match["month"])
    day = match.groupdict().get("day") or "1"
    try:
        return None if month is None else date(full_year(match["year"]), month, int(day))
    except ValueError:
        return None
