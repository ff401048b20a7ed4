"""The player's own preferences (the Profile page): today, the odds format.

A preference is not money and not a versioned aggregate: one conditional UPDATE of
the user's row, which makes the POST idempotent (setting the same value twice
changes nothing and writes nothing the second time).
"""

from __future__ import annotations

from django.utils import timezone

from accounts.exceptions import UnknownOddsFormat
from accounts.models import User


def set_odds_format(*, player: User, odds_format: str) -> bool:
    """Save how ``player`` reads prices. Returns whether anything changed."""
    if odds_format not in User.OddsFormat.values:
        raise UnknownOddsFormat()
    changed = (
        User.objects.filter(pk=player.pk)
        .exclude(odds_format=odds_format)
        .update(odds_format=odds_format, updated_at=timezone.now())
        == 1
    )
    player.odds_format = odds_format
    return changed
