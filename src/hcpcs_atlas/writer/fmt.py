"""How figures are written: the only place that rounds. Every renderer and the chart format through here.

The facts record holds exact floats; a publication shows each number one way only. Amounts of $1 or more
show cents; smaller amounts (a drug priced per 0.1 mg) keep three significant digits, so $0.0123 stays
$0.0123. Percentages show one decimal, or two significant digits below 1%. Rounding is half up on the
shortest decimal that round-trips the float (51.565 shows as $51.57, as a reader rounding the file would).
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from .model import NA

__all__ = [
    "decimal",
    "iso_date",
    "num",
    "or_na",
    "pct",
    "period",
    "quarter",
    "signed_pct",
    "signed_usd",
    "usd",
]

_USD_PLACES, _USD_DIGITS = 2, 3
_PCT_PLACES, _PCT_DIGITS = 1, 2


def decimal(value: float, places: int, digits: int) -> Decimal:
    """``value`` to ``places`` decimals, or to ``digits`` significant digits when its magnitude is below 1."""
    exact = Decimal(repr(float(value)))
    scale = places
    if exact and abs(exact) < 1:
        scale = max(places, digits - exact.adjusted() - 1)
    rounded = exact.quantize(Decimal(1).scaleb(-scale), ROUND_HALF_UP)
    # Significant-digit rounding can leave trailing zeros (0.500): drop them, never below ``places``.
    exponent = rounded.normalize().as_tuple().exponent
    needed = max(places, -exponent if isinstance(exponent, int) else places)
    return rounded.quantize(Decimal(1).scaleb(-min(scale, needed)))


def _text(value: float, places: int, digits: int) -> str:
    return f"{abs(decimal(value, places, digits)):,f}"


def usd(value: float | None) -> str:
    if value is None:
        return NA
    return ("-" if value < 0 else "") + "$" + _text(value, _USD_PLACES, _USD_DIGITS)


def usd_limit(value: float | None) -> str:
    """A Medicare payment limit or rate as CMS publishes it, to the tenth of a cent: $52.474, $50.280."""
    if value is None:
        return NA
    return ("-" if value < 0 else "") + "$" + _text(value, 3, _USD_DIGITS)


def signed_usd(value: float) -> str:
    return ("+" if value >= 0 else "-") + usd(abs(value))


def pct(value: float | None) -> str:
    if value is None:
        return NA
    return ("-" if value < 0 else "") + _text(value, _PCT_PLACES, _PCT_DIGITS) + "%"


def signed_pct(value: float) -> str:
    return ("+" if value >= 0 else "-") + pct(abs(value))


def num(value: float | None) -> str:
    """A count or package amount, exactly as the file gave it (no rounding): 1, 2.5, 0.0625, 1,000."""
    if value is None:
        return NA
    return f"{Decimal(repr(float(value))).normalize():,f}"


def iso_date(value: date | None) -> str:
    return NA if value is None else value.isoformat()


def or_na(value: str | None) -> str:
    return value if value not in (None, "") else NA


def period(start: date | None, end: date | None) -> str:
    if start and end:
        return f"{start.isoformat()} to {end.isoformat()}"
    if start:
        return f"from {start.isoformat()}"
    return NA


def quarter(value: date | None) -> str:
    """2025-10-01 -> "2025 Q4" (the calendar quarter a period starts in)."""
    return NA if value is None else f"{value.year} Q{(value.month - 1) // 3 + 1}"
