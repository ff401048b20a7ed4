"""Read-only vendor-promotion badges on the casino's pages (lobby, game page, session page).

The casino's templates load these tags; the casino's Python never imports promotions.
"""

from __future__ import annotations

from django import template
from django.utils import timezone

from core.money import format_money
from promotions.effects import win_boost_percent
from promotions.selectors import active_promotions_for_games

register = template.Library()


@register.simple_tag
def promotions_by_game(games, player=None) -> dict:
    """``{% promotions_by_game games user as by_game %}``: {game id: [running promotions]}, in one
    query; with the player, free spins they have already used up are not advertised."""
    return active_promotions_for_games(games, player=player)


@register.filter
def promotions_of(by_game: dict, game) -> list:
    """``{{ by_game|promotions_of:game }}``: the running promotions of one game."""
    return by_game.get(getattr(game, "pk", game), [])


@register.simple_tag
def win_boost_for(game):
    """``{% win_boost_for game as boost %}``: the win boost (percent) running on ``game`` now; 0 when none."""
    return win_boost_percent(game, timezone.now())


@register.filter
def bonus_terms(promo) -> str:
    """``{{ promo|bonus_terms }}``: a cashback's bonus terms, shown up front ("wager 5x, max stake
    €2.00, 7 days"); empty when it pays cash."""
    describe_terms = getattr(promo, "describe_terms", None)
    return describe_terms(format_money) if describe_terms else ""
