"""Bonus money on the casino's pages (issue 16): the lobby, a game page, the session page.

The casino's templates load these tags; the casino's Python never imports promotions.
Read-only: the rules (what a feed may take, the stake limit, wagering) are the services'.
"""

from __future__ import annotations

from decimal import Decimal

from django import template

from casino.forms.games import quick_feeds
from promotions.selectors.bonus_play import BonusPlay, bonus_play, meter_from_token

register = template.Library()


@register.simple_tag
def bonus_play_for(player, session=None) -> BonusPlay:
    """``{% bonus_play_for user session as bonus %}``: the player's bonus money (one query):
    ``bonus.has_money``, ``bonus.feedable``, ``bonus.in_machine``, ``bonus.max_stake``,
    ``bonus.meter`` (with ``session``: its wagering meter)."""
    return bonus_play(player=player, session=session)


@register.simple_tag
def bonus_after_spin(token, session) -> BonusPlay:
    """``{% bonus_after_spin meter_token session as bonus %}``: the spin answer's view of the
    bonus, with no query: the machine's bonus part and the meter from the page's token."""
    meter = meter_from_token(token, session=session)
    return BonusPlay(
        grants=[],
        feedable=Decimal("0.00"),
        in_machine=session.bonus_balance,
        max_stake=session.bonus_max_stake,
        meter=meter,
    )


@register.simple_tag
def bonus_feed_amounts(cash_feeds, cash, bonus: BonusPlay | None, game) -> list[Decimal]:
    """``{% bonus_feed_amounts quick_feeds balance bonus game as feeds %}``: the quick amounts
    of a feed form. With bonus money the game accepts, up to the player's cash plus the bonus
    money one feed can take (cash goes first); else ``cash_feeds`` (what the cash can pay)."""
    feedable = getattr(bonus, "feedable", None)  # a page without ``bonus``: cash only
    if not feedable or not game.wagering_contribution:
        return cash_feeds
    return quick_feeds((cash or Decimal("0.00")) + feedable)


@register.filter
def wagering_note(game) -> str:
    """``{{ game|wagering_note }}``: how the game counts towards bonus wagering."""
    percent = game.wagering_contribution
    if percent == 0:
        return "Does not count towards bonus wagering; bonus money cannot be played here."
    return f"counts {percent} %"
