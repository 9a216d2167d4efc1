"""The written publication: sections of typed blocks, rendered by every renderer the same way."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "NA",
    "Bar",
    "BarChart",
    "Block",
    "Bullets",
    "Chart",
    "ChartSeries",
    "LineChart",
    "LineSeries",
    "Notice",
    "Paragraph",
    "Publication",
    "Section",
    "Table",
]

#: The one phrase for anything the input lacks.
NA = "Data not available in the input."


@dataclass
class Paragraph:
    text: str
    type: str = "paragraph"


@dataclass
class Notice:
    """A prominent statement (e.g. a terminated code), shown before everything else in its section."""

    text: str
    level: str = "warning"
    type: str = "notice"


@dataclass
class Bullets:
    items: list[str]
    type: str = "bullets"


@dataclass
class Table:
    columns: list[str]
    rows: list[list[str]]
    caption: str | None = None
    type: str = "table"


@dataclass
class ChartSeries:
    label: str
    n: int
    min: float
    p10: float
    p25: float
    median: float
    p75: float
    p90: float
    max: float


@dataclass
class Chart:
    """Rate distribution per payer (box: p25-p75, whiskers: p10-p90, dots: min/max), Medicare marked."""

    title: str
    series: list[ChartSeries]
    reference: float | None
    reference_label: str | None  # e.g. "Medicare ASP limit $52.47 (2025-10-01 to 2025-12-31)"
    unit: str
    axis_label: str = ""  # e.g. "Negotiated rate per 10 MG (USD)"
    description: str = ""  # the text alternative: every figure the chart draws, in words
    type: str = "chart"


@dataclass
class Bar:
    label: str
    value: float
    note: str  # shown after the value, e.g. "n=12"


@dataclass
class BarChart:
    """One bar per group (e.g. median rate by state); the same figures are always in a table beside it."""

    title: str
    bars: list[Bar]
    unit: str
    type: str = "bar_chart"


@dataclass
class LineSeries:
    label: str
    values: list[float | None]  # one per label of the chart; None where the series has no value


@dataclass
class LineChart:
    """A figure over time (x: quarters, oldest first), one line per series."""

    title: str
    labels: list[str]
    series: list[LineSeries]
    unit: str
    type: str = "line_chart"


Block = Paragraph | Notice | Bullets | Table | Chart | BarChart | LineChart


@dataclass
class Section:
    id: str
    title: str
    blocks: list[Block] = field(default_factory=list)
    subsections: list[Section] = field(default_factory=list)


@dataclass
class Publication:
    code: str
    title: str
    subtitle: str
    sections: list[Section]
