"""The NAIVE design from seeds/002, for the hot_account_baseline scenario only.

Every bet and every win is written straight to the player's account, and a
settled sportsbet's winnings are paid into the account immediately, while the
player may be spinning. It uses the same primitives as the app
(``apply_to_account`` = ``versioned_update`` on the account inside
``retry_on_conflict``, one balanced ``ledger.post`` per movement, the same
slot maths), so the only difference measured is which aggregate the writes
land on. Never used by the app.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts import ledger
from accounts.models import LedgerTransaction, ledger_code_for_player
from accounts.services import apply_to_account
from casino import fair
from casino.models import Game, Payout
from casino.slots import Machine
from core.versioning import retry_on_conflict, versioned_update


def spin(*, player_id: int, game: Game, stake: Decimal, idempotency_key: str) -> Decimal:
    """One spin on the account: the bet is one account write, a win another. Returns the win."""
    # The same slot maths and derivation as the app (casino.fair); the naive design has no
    # session to hold seeds, so each spin derives from a fresh server seed (nonce 1).
    outcome = Machine.for_game(game).play(server_seed=fair.new_server_seed(), client_seed="naive", nonce=1)
    win = outcome.win_for(stake)
    code = ledger_code_for_player(player_id)

    def bet() -> None:
        with transaction.atomic():
            if ledger.find(f"naive-bet:{idempotency_key}"):
                return
            apply_to_account(player_id=player_id, delta=-stake)
            ledger.post(
                kind=LedgerTransaction.Kind.SPIN,
                idempotency_key=f"naive-bet:{idempotency_key}",
                entries=[(code, -stake), (ledger.SYSTEM_HOUSE, stake)],
                description=f"Bet on {game.name}",
            )

    def pay_win() -> None:
        with transaction.atomic():
            if ledger.find(f"naive-win:{idempotency_key}"):
                return
            apply_to_account(player_id=player_id, delta=win)
            ledger.post(
                kind=LedgerTransaction.Kind.SPIN,
                idempotency_key=f"naive-win:{idempotency_key}",
                entries=[(ledger.SYSTEM_HOUSE, -win), (code, win)],
                description=f"Win on {game.name}",
            )

    retry_on_conflict(bet)
    if win > 0:
        retry_on_conflict(pay_win)
    return win


def pay_immediately(*, payout_id: int) -> bool:
    """Pay a queued payout into the account now, whether or not the player is playing."""

    def attempt() -> bool:
        with transaction.atomic():
            payout = Payout.objects.get(pk=payout_id)
            if payout.state != Payout.State.QUEUED:
                return False
            versioned_update(
                Payout, pk=payout.pk, version=payout.version, state=Payout.State.PAID, paid_at=timezone.now()
            )
            apply_to_account(player_id=payout.player_id, delta=payout.amount)
            ledger.post(
                kind=LedgerTransaction.Kind.PAYOUT,
                idempotency_key=payout.ledger_key,
                entries=[
                    (ledger_code_for_player(payout.player_id), payout.amount),
                    (ledger.SYSTEM_SPORTSBOOK, -payout.amount),
                ],
                reference=f"sportsbet:{payout.bet_id}",
            )
            return True

    return retry_on_conflict(attempt)
