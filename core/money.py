"""Parsing and validating money amounts (Decimal, two places, never float)."""

from __future__ import annotations

import functools
import re
from decimal import Decimal, InvalidOperation

from babel.numbers import format_currency
from django.conf import settings

from core.exceptions import InvalidAmount

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
_AMOUNT_RE = re.compile(r"^[0-9]{1,12}(\.[0-9]{1,2})?$")


def parse_amount(value, *, field: str = "Amount", allow_zero: bool = False, maximum: Decimal | None = None) -> Decimal:
    """Turn ``value`` (Decimal, int or a plain ASCII decimal string) into a money Decimal.

    Refuses floats, NaN/inf, exponents, commas, unicode digits, more than two
    decimals, negatives, zero (unless ``allow_zero``) and anything over the
    configured maximum, each with a message a player can act on.
    """
    if isinstance(value, (bool, float)):
        raise InvalidAmount(f"{field} must be a decimal amount, not a float.")
    if isinstance(value, int):
        value = Decimal(value)
    if isinstance(value, str):
        text = value.strip()
        if not _AMOUNT_RE.fullmatch(text):
            raise InvalidAmount(f"{field}: enter a number like 10 or 10.50 (digits, at most two decimals).")
        value = Decimal(text)
    if not isinstance(value, Decimal):
        raise InvalidAmount(f"{field} must be a decimal amount.")
    try:
        if not value.is_finite():
            raise InvalidAmount(f"{field} must be a finite number.")
        if value != value.quantize(CENT):
            raise InvalidAmount(f"{field} can have at most two decimals.")
    except InvalidOperation as exc:
        raise InvalidAmount(f"{field} is out of range.") from exc
    value = value.quantize(CENT)
    if value < 0 or (value == 0 and not allow_zero):
        raise InvalidAmount(f"{field} must be more than zero.")
    limit = settings.MAX_TRANSACTION_AMOUNT if maximum is None else maximum
    if value > limit:
        raise InvalidAmount(f"{field} can be at most {limit}.")
    return value + ZERO  # normalises -0.00 to 0.00


def format_money(amount, *, currency: str | None = None) -> str:
    """``amount`` with its currency, as the players' locale writes it ("€1,234.50").

    Babel knows each currency's symbol, placement and separators (CLDR), so no
    template formats money by hand. ``None`` shows as an empty string.
    """
    if amount is None or amount == "":
        return ""
    # + ZERO: -0.00 shows as €0.00 (and equal amounts share one cache entry either way)
    return _formatted(Decimal(amount) + ZERO, currency or settings.CURRENCY, settings.MONEY_LOCALE)


@functools.lru_cache(maxsize=8192)
def _formatted(amount: Decimal, currency: str, locale: str) -> str:
    # A page shows the same few amounts over and over (stakes, limits, balances): Babel's
    # ~20 µs a call adds up on the spin answer, a cache hit costs well under one.
    return format_currency(amount, currency, locale=locale, currency_digits=True)
