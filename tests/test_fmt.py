"""The one formatting module: cents from $1, significant digits below $1, half up, one display per number."""

from __future__ import annotations

import pytest

from hcpcs_atlas.writer.fmt import num, pct, signed_pct, signed_usd, usd
from hcpcs_atlas.writer.model import NA


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (51.565, "$51.57"),  # half up on the decimal the file wrote, although the float is 51.56499...
        (61.785, "$61.79"),
        (52.474, "$52.47"),
        (1234567.891, "$1,234,567.89"),
        (1.0, "$1.00"),
        (0.9996, "$1.00"),
        (0.5, "$0.50"),
        (0.0123, "$0.0123"),
        (0.012, "$0.012"),
        (0.123456, "$0.123"),
        (0.00012345, "$0.000123"),
        (0.0, "$0.00"),
        (-0.0123, "-$0.0123"),
        (-5.555, "-$5.56"),
    ],
)
def test_usd(value: float, shown: str) -> None:
    assert usd(value) == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [(98.26688, "98.3%"), (19.738, "19.7%"), (20.0, "20.0%"), (0.0456, "0.046%"), (1234.56, "1,234.6%")],
)
def test_pct(value: float, shown: str) -> None:
    assert pct(value) == shown


def test_signed_figures_use_the_same_rules() -> None:
    assert signed_usd(50.0 - 52.474) == "-$2.47"
    assert signed_usd(0.0042) == "+$0.0042"
    assert signed_pct((50.0 - 52.474) / 52.474 * 100) == "-4.7%"
    assert signed_pct(0.0123) == "+0.012%"


def test_missing_and_exact_counts() -> None:
    assert usd(None) == pct(None) == num(None) == NA
    assert [num(v) for v in (1.0, 2.5, 0.0625, 1000.0, 12.125)] == ["1", "2.5", "0.0625", "1,000", "12.125"]
