"""The bonus columns have database defaults: raw SQL written before them (the bench's
yardsticks and bulk loads, an operator's script) still inserts valid rows."""

from decimal import Decimal

import pytest
from django.db import connection

from casino import services
from casino.models import Spin

pytestmark = pytest.mark.django_db


def test_a_spin_inserted_without_the_bonus_columns_gets_zero_bonus_parts(player, fruit):
    session = services.open_session(player=player, game=fruit)
    with connection.cursor() as cur:
        # session_month (issue 20: the partition key, no default) is the one column raw SQL must add.
        cur.execute(
            "INSERT INTO casino_spin (created_at, updated_at, session_id, session_month, idempotency_key, stake, "
            "win, boost, stops, symbols, balance_after, free_spin) VALUES (now(), now(), %s, %s, 'raw', 1, 0, 0, "
            '\'[0, 0, 0]\', \'["a", "b", "c"]\', 0, false) RETURNING id',
            [session.pk, Spin.month_of_session(session.created_at)],
        )
        spin = Spin.objects.get(pk=cur.fetchone()[0])
    assert (spin.bonus_stake, spin.bonus_win, spin.bonus_balance_after) == (Decimal("0"),) * 3


def test_a_session_and_a_game_inserted_without_the_bonus_columns_get_their_defaults(player, fruit):
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO casino_game (created_at, updated_at, slug, name, description, min_stake, max_stake, reels, "
            "paytable, is_active) SELECT now(), now(), 'raw-game', 'Raw', '', min_stake, max_stake, reels, paytable, "
            "true FROM casino_game WHERE id = %s RETURNING wagering_contribution",
            [fruit.pk],
        )
        assert cur.fetchone() == (100,)
        cur.execute(
            "INSERT INTO casino_gamesession (created_at, updated_at, version, player_id, game_id, status, balance, "
            "total_fed, total_staked, total_won, cashed_out, spin_count, last_activity_at, close_reason) "
            "VALUES (now(), now(), 1, %s, %s, 'open', 0, 0, 0, 0, 0, 0, now(), '') "
            "RETURNING bonus_balance, bonus_returned, wagering_contribution, bonus_source",
            [player.pk, fruit.pk],
        )
        assert cur.fetchone() == (Decimal("0.00"), Decimal("0.00"), Decimal("0"), None)
