"""Provably fair nonces under real concurrency (issue 17): real threads, own connections,
PostgreSQL. Double-submits from several tabs give each spin one nonce, 1..N with no gap
and no repeat, and every spin still derives from its nonce."""

import random

import pytest

from casino import fair, selectors, services
from casino.exceptions import ClientSeedLocked
from casino.models import GameSession, Spin
from tests.conftest import run_in_threads
from tests.factories import PlayerFactory

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 6
KEYS = 30


def test_double_submits_from_several_tabs_give_nonces_without_gaps_or_repeats(fruit):
    player = PlayerFactory(balance="100.00")
    session = services.open_session(player=player, game=fruit)
    services.feed(session=session, amount="50.00", idempotency_key="feed")
    keys = [f"click-{k}" for k in range(KEYS)]

    def tab(i: int) -> dict[str, int]:
        order = keys[:]
        random.Random(i).shuffle(order)  # every key is sent by every tab, in its own order
        mine = GameSession(pk=session.pk, player_id=player.pk)
        return {key: services.spin(session=mine, stake="0.10", idempotency_key=key).nonce for key in order}

    results = run_in_threads(THREADS, tab)
    assert all(isinstance(r, dict) for r in results), results
    for key in keys:
        assert len({r[key] for r in results}) == 1, f"{key}: every tab got the same spin"
    nonces = sorted(Spin.objects.filter(session=session).values_list("nonce", flat=True))
    assert nonces == list(range(1, KEYS + 1))
    session.refresh_from_db()
    assert session.spin_count == KEYS
    services.leave(session=session)
    assert selectors.verify_session(GameSession.objects.get(pk=session.pk)).result.ok


def test_a_seed_change_racing_the_first_spin_is_either_before_it_or_refused(fruit):
    for attempt in range(5):
        player = PlayerFactory(balance="100.00")
        session = services.open_session(player=player, game=fruit)
        services.feed(session=session, amount="10.00", idempotency_key="feed")

        def act(i: int, session=session, attempt=attempt):
            if i == 0:
                return services.set_client_seed(session=session, client_seed=f"racer-{attempt}")
            return services.spin(session=session, stake="0.10", idempotency_key="first")

        seeded, spun = run_in_threads(2, act)
        assert isinstance(spun, Spin), spun
        final = GameSession.objects.get(pk=session.pk)
        if isinstance(seeded, ClientSeedLocked):
            assert final.client_seed != f"racer-{attempt}"
        else:
            assert isinstance(seeded, GameSession), seeded
            assert final.client_seed == f"racer-{attempt}"
        lengths = [len(strip) for strip in fruit.reels]
        assert tuple(spun.stops) == fair.derive_stops(final.server_seed, final.client_seed, 1, lengths)
