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
