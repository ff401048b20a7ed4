"""Odds arithmetic: pure functions, no database (unit-tested in tests/casino/test_sportsbook_odds.py).

Prices are stored as decimal odds with two places (``Selection.odds``, ``Sportsbet.odds``);
a player may prefer to read them as fractional (UK) or American (moneyline) odds
(``accounts.User.odds_format``). Only the display changes: the slip still posts,
and the bet still freezes, the decimal price.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from fractions import Fraction

DECIMAL = "decimal"
FRACTIONAL = "fractional"
AMERICAN = "american"
FORMATS = (DECIMAL, FRACTIONAL, AMERICAN)

CENT = Decimal("0.01")
# Bookmakers' ladders use small denominators (10/11, 8/13, 4/9, 100/30 = 10/3, 1/14...).
# A price is shown as the simplest fraction with a denominator up to this that rounds
# back to the same two-place decimal price; otherwise as its exact fraction (1.01 -> 1/100).
LADDER_MAX_DENOMINATOR = 20


def _as_decimal(odds) -> Decimal:
    if isinstance(odds, float):
        raise TypeError("odds must be a Decimal or a decimal string, not a float")
    value = odds if isinstance(odds, Decimal) else Decimal(str(odds).strip())
    if not value.is_finite() or value <= 1:
        raise ValueError(f"decimal odds must be above 1.00, not {odds!r}")
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def to_fraction(odds) -> Fraction:
    """The fractional price (profit per unit staked) of decimal ``odds``: 2.50 -> 3/2, 1.91 -> 10/11."""
    value = _as_decimal(odds)
    exact = Fraction(value - 1)  # a Decimal converts exactly: its denominator divides 100
    ladder = exact.limit_denominator(LADDER_MAX_DENOMINATOR)
    if ladder > 0 and _rounds_to(ladder, value):
        return ladder
    return exact


def _rounds_to(profit: Fraction, odds: Decimal) -> bool:
    back = Decimal(profit.numerator) / Decimal(profit.denominator) + 1
    return back.quantize(CENT, rounding=ROUND_HALF_UP) == odds


def to_american(odds) -> int:
    """The moneyline of decimal ``odds``: +150 for 2.50 (profit on 100 staked), -200 for 1.50
    (stake needed to win 100); evens (2.00) is +100. Rounded half up to a whole number."""
    value = _as_decimal(odds)
    line = (value - 1) * 100 if value >= 2 else -(Decimal(100) / (value - 1))
    return int(line.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def format_odds(odds, style: str = DECIMAL) -> str:
    """``odds`` as the player reads them: "2.50", "3/2" or "+150". Unknown styles read as decimal."""
    value = _as_decimal(odds)
    if style == FRACTIONAL:
        fraction = to_fraction(value)
        return f"{fraction.numerator}/{fraction.denominator}"
    if style == AMERICAN:
        line = to_american(value)
        return f"+{line}" if line > 0 else str(line)
    return f"{value:.2f}"


def potential_return(stake, odds) -> Decimal:
    """Stake x odds, half-up to the cent: what a winning bet pays back (stake included).

    The same rounding as settlement (PostgreSQL ``round(stake * odds, 2)``).
    """
    if isinstance(stake, float) or isinstance(odds, float):
        raise TypeError("money is Decimal, never float")
    try:
        return (Decimal(stake) * Decimal(odds)).quantize(CENT, rounding=ROUND_HALF_UP)
    except (InvalidOperation, TypeError) as exc:
        raise ValueError("stake and odds must be decimal numbers") from exc
