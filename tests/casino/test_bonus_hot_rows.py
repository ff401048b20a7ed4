"""No new hot row (issue 16): a spin never writes a bonus grant, nor the player's account.

PostgreSQL's ``xmin`` names the transaction that wrote a row's current version: any UPDATE
of the row (even one that changes nothing) gives it a new one. So a grant whose ``xmin``
and ``version`` are the same after 1,000 spins with its money in the machine was not
written by any of them (like the code-row proof in tests/promotions/test_codes_concurrency.py).
"""

from decimal import Decimal

import pytest
from django.db import connection

from accounts.models import Account
from casino import services
from casino.models import GameSession, Spin
from promotions.models import BonusGrant
from tests.factories import PlayerFactory
from tests.promotions.test_bonus_rules import LOSS, force_reels, give_bonus, sit

D = Decimal
SPINS = 1000


def row_stamp(table: str, where: str, pk: int) -> tuple[int, int]:
    """(xmin, version) of one row: xmin changes on any write to the row."""
    with connection.cursor() as cur:
        cur.execute(f"SELECT xmin::text::bigint, version FROM {table} WHERE {where} = %s", [pk])  # noqa: S608 - constants
        return cur.fetchone()


def grant_stamp(grant: BonusGrant) -> tuple[int, int]:
    return row_stamp(BonusGrant._meta.db_table, "id", grant.pk)


def account_stamp(player) -> tuple[int, int]:
    return row_stamp(Account._meta.db_table, "user_id", player.pk)


@pytest.fixture
def bonus_session(fruit):
    """A player with 1 cash and a 500 bonus grant, 1 cash + 99 bonus in the machine."""
    player = PlayerFactory(balance=D("1.00"))
    grant = give_bonus(player, "500.00", multiple=10, max_stake="1.00")
    session = sit(player, fruit, "100.00")
    assert (session.balance, session.bonus_balance, session.bonus_source) == (D("1"), D("99"), grant.pk)
    return player, grant, session


@pytest.mark.slow
def test_a_thousand_spins_never_write_the_grant_or_the_account(bonus_session, monkeypatch, assert_reconciles):
    """1,000 spins of 0.10 (at most 100 staked: the machine's 100 always covers them)."""
    player, grant, session = bonus_session
    grant_before, account_before = grant_stamp(grant), account_stamp(player)

    force_reels(monkeypatch, *LOSS)
    for n in range(15):  # the cash part is spent: the next stakes play bonus money
        services.spin(session=session, stake="0.10", idempotency_key=f"s{n}")
    monkeypatch.undo()
    for n in range(15, SPINS):  # the real RNG: wins and losses, cash and bonus parts
        services.spin(session=session, stake="0.10", idempotency_key=f"s{n}")

    session = GameSession.objects.get(pk=session.pk)
    assert session.spin_count == SPINS and session.wagering_contribution == D("100")
    assert session.bonus_staked > 0, "the spins must have played bonus money too"
    assert Spin.objects.filter(session=session, bonus_stake__gt=0).exists()
    assert grant_stamp(grant) == grant_before  # same xmin, same version: no spin wrote the grant
    assert account_stamp(player) == account_before  # nor the account
    assert BonusGrant.objects.get(pk=grant.pk).wagering_done == 0  # progress waits for the leave
    assert_reconciles()


def test_leaving_writes_the_grant_once(bonus_session, monkeypatch, assert_reconciles):
    """The leave gives the bonus part back and folds the wagering into the grant in one write.

    Fails today with version + 2: ``return_bonus`` (promotions/services/bonus.py) writes the
    grant's balance, then ``fold_session`` writes its ``wagering_done`` in a second versioned
    UPDATE of the same row (two row versions per leave). Proposed fix: ``return_bonus``
    only locks the grant (``select_for_update``) and answers its ledger code; ``fold_session``
    adds ``session.bonus_returned`` to the balance of ``session.bonus_source`` in the one
    UPDATE it makes (or in ``_convert``/``_end`` when the grant completes or ends)."""
    player, grant, session = bonus_session
    force_reels(monkeypatch, *LOSS)
    for n in range(20):  # 1 cash, then 19 bonus
        services.spin(session=session, stake="1.00", idempotency_key=f"s{n}")
    before = grant_stamp(grant)

    services.leave(session=session)

    after = grant_stamp(grant)
    grant = BonusGrant.objects.get(pk=grant.pk)
    assert after[0] != before[0]  # written by the leave's transaction
    assert (grant.balance, grant.wagering_done) == (D("481.00"), D("20"))  # 401 + the 80 bonus back
    assert after[1] == before[1] + 1, f"the leave wrote the grant {after[1] - before[1]} times"
    assert_reconciles()
