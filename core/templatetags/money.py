"""``{{ amount|money }}``: an amount with the site's currency, formatted by Babel (core.money)."""

from django import template

from core.money import format_money

register = template.Library()


@register.filter(name="money")
def money(value) -> str:
    try:
        return format_money(value)
    except (TypeError, ArithmeticError, ValueError):
        return ""
