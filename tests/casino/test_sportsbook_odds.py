"""Odds arithmetic (casino.odds): pure functions, no database."""

from decimal import Decimal
from fractions import Fraction

import pytest

from accounts.models import User
from casino.odds import AMERICAN, DECIMAL, FORMATS, FRACTIONAL, format_odds, potential_return, to_american, to_fraction


@pytest.mark.parametrize(
    ("odds", "fractional", "american"),
    [
        ("2.00", "1/1", "+100"),  # evens
        ("2.50", "3/2", "+150"),
        ("1.50", "1/2", "-200"),
        ("1.01", "1/100", "-10000"),  # the shortest price: no ladder fraction rounds back to it
        ("101.00", "100/1", "+10000"),
        ("1.91", "10/11", "-110"),  # the ladder's 10/11, not 91/100
        ("4.33", "10/3", "+333"),  # "100/30"
        ("1.62", "8/13", "-161"),
        ("3.40", "12/5", "+240"),
        ("4.00", "3/1", "+300"),
        ("1.05", "1/20", "-2000"),
    ],
)
def test_formats(odds, fractional, american):
    assert format_odds(Decimal(odds), DECIMAL) == odds
    assert format_odds(Decimal(odds), FRACTIONAL) == fractional
    assert format_odds(Decimal(odds), AMERICAN) == american


def test_a_fraction_always_rounds_back_to_the_price():
    for hundredths in range(101, 10_001):
        odds = Decimal(hundredths) / 100
        profit = to_fraction(odds)
        back = Decimal(profit.numerator) / Decimal(profit.denominator) + 1
        assert back.quantize(Decimal("0.01"), rounding="ROUND_HALF_UP") == odds, odds
        assert profit.denominator <= 100 and profit > 0


def test_american_rounds_half_up_away_from_zero():
    assert to_american("1.80") == -125
    assert to_american("1.30") == -333  # -333.33
    assert to_american("1.40") == -250
    assert to_american("2.01") == 101


def test_fraction_is_a_fraction():
    assert to_fraction("2.50") == Fraction(3, 2)


@pytest.mark.parametrize("bad", ["1.00", "0.5", "-2", "NaN", "Infinity", "abc", ""])
def test_prices_that_are_no_prices_are_refused(bad):
    with pytest.raises((ValueError, ArithmeticError)):
        format_odds(bad, FRACTIONAL)


def test_floats_are_refused():
    with pytest.raises(TypeError):
        format_odds(2.5, DECIMAL)
    with pytest.raises(TypeError):
        potential_return(10.0, Decimal("2.50"))


def test_unknown_style_reads_as_decimal():
    assert format_odds("2.5", "roman") == "2.50"


def test_every_profile_choice_is_a_format():
    assert set(User.OddsFormat.values) == set(FORMATS)


@pytest.mark.parametrize(
    ("stake", "odds", "expected"),
    [
        ("10.00", "2.00", "20.00"),
        ("0.01", "1.01", "0.01"),  # 0.0101
        ("0.05", "1.01", "0.05"),  # 0.0505 -> half up
        ("0.50", "1.01", "0.51"),  # 0.505 -> half up (a float would give 0.5049999...)
        ("999999999999.99", "101.00", "100999999999998.99"),
        ("3.33", "3.33", "11.09"),  # 11.0889
    ],
)
def test_potential_return_is_decimal_exact_half_up(stake, odds, expected):
    assert potential_return(Decimal(stake), Decimal(odds)) == Decimal(expected)
