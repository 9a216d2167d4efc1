"""How figures are written. Publications show figures exactly as the facts record holds them."""

from __future__ import annotations

from datetime import date

from .model import NA

__all__ = ["iso_date", "num", "or_na", "pct", "period", "signed_usd", "usd"]


def usd(value: float | None, places: int = 2) -> str:
    if value is None:
        return NA
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.{places}f}"


def signed_usd(value: float, places: int = 3) -> str:
    return ("+" if value >= 0 else "-") + usd(abs(value), places)


def pct(value: float | None, places: int = 1) -> str:
    return NA if value is None else f"{value:,.{places}f}%"


def num(value: float | None) -> str:
    if value is None:
        return NA
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.3f}".rstrip("0")


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
