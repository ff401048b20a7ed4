"""The one idempotency recipe (core.idempotency): keys, replays, lost double-submits."""

from decimal import Decimal

import pytest

from accounts import ledger, selectors, services
from accounts.exceptions import InsufficientFunds
from core.exceptions import InvalidIdempotencyKey
from core.idempotency import KEY_MAX_LENGTH, client_key, idempotent, scoped_key

pytestmark = pytest.mark.django_db


def test_idempotent_answers_a_lost_double_submit_with_the_first_result(player):
    first = services.withdraw(player=player, amount="60", idempotency_key="twin")
    key = first.idempotency_key

    def twin_that_saw_no_key_yet():  # its rule check now fails on the balance the first one left
        raise InsufficientFunds()

    lookups = []

    def find_after_the_twin_checked():  # the twin's own key lookup ran before the first committed
        lookups.append(key)
        return None if len(lookups) == 1 else ledger.find(key)

    assert idempotent(find=find_after_the_twin_checked, attempt=twin_that_saw_no_key_yet).pk == first.pk
    with pytest.raises(InsufficientFunds):  # no committed twin: the rule's answer stands
        idempotent(find=lambda: ledger.find("never-used"), attempt=twin_that_saw_no_key_yet)


def test_a_replayed_key_returns_the_first_result_and_moves_nothing(player):
    first = services.deposit(player=player, amount="5", idempotency_key="again")
    assert services.deposit(player=player, amount="5", idempotency_key="again").pk == first.pk
    assert selectors.balance_of(player=player) == Decimal("105.00")


def test_keys_have_one_maximum_length_and_are_never_shortened():
    assert client_key("k" * KEY_MAX_LENGTH) == "k" * KEY_MAX_LENGTH
    with pytest.raises(InvalidIdempotencyKey):
        client_key("k" * (KEY_MAX_LENGTH + 1))
    assert scoped_key("deposit", 7, " abc ") == "deposit:7:abc"


def test_two_players_with_the_same_key_move_money_twice(player, other_player):
    a = services.deposit(player=player, amount="1", idempotency_key="same")
    b = services.deposit(player=other_player, amount="1", idempotency_key="same")
    assert a.pk != b.pk


# --- Stripe's rule: a key names one request ------------------------------------------------
def test_a_key_reused_with_another_amount_is_refused_and_moves_nothing(player):
    from core.exceptions import IdempotencyKeyReused

    services.deposit(player=player, amount="10", idempotency_key="k")
    with pytest.raises(IdempotencyKeyReused):
        services.deposit(player=player, amount="99", idempotency_key="k")
    services.withdraw(player=player, amount="10", idempotency_key="k2")
    with pytest.raises(IdempotencyKeyReused):
        services.withdraw(player=player, amount="11", idempotency_key="k2")
    assert selectors.balance_of(player=player) == Decimal("100.00")


def test_the_wallet_form_answers_a_reused_key_with_422_and_a_replay_with_the_first_amount(player_client, player):
    from django.urls import reverse

    url = reverse("deposit")
    first = player_client.post(url, {"deposit-amount": "10", "deposit-idempotency_key": "same"}, follow=True)
    assert "Deposited €10.00." in first.content.decode()
    reused = player_client.post(url, {"deposit-amount": "99", "deposit-idempotency_key": "same"})
    assert reused.status_code == 422
    assert "already used for a different request" in reused.content.decode()
    replay = player_client.post(url, {"deposit-amount": "10.00", "deposit-idempotency_key": "same"}, follow=True)
    assert "Deposited €10.00." in replay.content.decode()
    assert selectors.balance_of(player=player) == Decimal("110.00")


def test_spin_feed_and_bet_keys_reused_with_other_parameters_are_refused(player):
    from casino import services as casino
    from casino.demo import load_demo_games
    from core.exceptions import IdempotencyKeyReused
    from tests.helpers.sportsbook import make_event, selections

    game = next(g for g in load_demo_games() if g.min_stake == Decimal("0.10"))
    session = casino.open_session(player=player, game=game)
    casino.feed(session=session, amount="20", idempotency_key="f")
    with pytest.raises(IdempotencyKeyReused):
        casino.feed(session=session, amount="21", idempotency_key="f")
    casino.spin(session=session, stake="0.10", idempotency_key="s")
    with pytest.raises(IdempotencyKeyReused):
        casino.spin(session=session, stake="0.20", idempotency_key="s")
    casino.leave(session=session)
    home, draw, _ = selections(make_event())
    casino.place_sportsbet(player=player, selection=home, stake="5", idempotency_key="b")
    with pytest.raises(IdempotencyKeyReused):
        casino.place_sportsbet(player=player, selection=draw, stake="5", idempotency_key="b")
    with pytest.raises(IdempotencyKeyReused):
        casino.place_sportsbet(player=player, selection=home, stake="6", idempotency_key="b")
