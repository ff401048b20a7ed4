"""Slot symbols on the pages: each symbol's icon with the label that names what it shows."""

from __future__ import annotations

from django import template

from casino.slots import icon, symbol_name

register = template.Library()


@register.filter
def reel_line(symbols) -> list[tuple[str, str]]:
    """``{% for sym_icon, name in spin.symbols|reel_line %}``: (icon, label) per reel."""
    return [(icon(s), symbol_name(s)) for s in symbols or ()]
