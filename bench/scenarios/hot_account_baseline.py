"""hot_account_baseline: the split design against the naive one, same workload.

Workload (identical for both designs, same seed): W players, one worker
each, playing R rounds of S spins at the minimum stake and placing a
sportsbet every B spins; meanwhile one background thread plays the
sportsbook office: every ``SETTLE_EVERY`` seconds it settles the oldest open
event (random result) and opens a new one, then pays the winnings.

- split (the app): a round is open_session, feed, S x spin, leave; winnings
  are queued and paid by ``pay_out_player`` for players not at a machine
  (what the beat sweep and the Celery worker do).
- naive (``bench/naive.py``): each spin writes the bet, and a win, straight to
  the account; every winning bet is paid into the account as soon as its
  event is settled, whether or not the player is spinning.

Counted: optimistic conflicts and retries on the account (from the
versioning primitive's own counters, summed over every process), failed
operations (retries exhausted or errors), spins/s, and how many ledger
transactions touched a player account.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections import Counter
from decimal import Decimal

from accounts.models import LedgerEntry, User
from bench import naive
from bench.common import Config, WorkerResult, count, demo_game, make_players, reset_data, run_pool
from casino import services
from casino.exceptions import InsufficientSessionFunds
from casino.models import GameSession, Payout, Selection, SportEvent
from casino.selectors import players_due_payout
from casino.services.sportsbook import create_match_event
from core.exceptions import ConcurrencyConflict, DomainError

SETTLE_EVERY = 0.25  # seconds between two settled events
OPEN_EVENTS = 3
FEED = Decimal("10.00")
BET = Decimal("1.00")


def run(config: Config) -> dict:
    rounds, spins, bet_every = config.n(4, 2), 30, 10
    workload = (
        f"{config.workers} players x {rounds} rounds x {spins} spins, a sportsbet every {bet_every} spins, "
        f"an event settled every {SETTLE_EVERY} s with its winnings paid"
    )
    out = {"workload": workload}
    for design in ("split", "naive"):
        out[design] = _run_design(design, config, rounds=rounds, spins=spins, bet_every=bet_every)
    return out


def _new_event(index: int) -> SportEvent:
    return create_match_event(
        name=f"Bench match {index}", home=f"Home {index}", away=f"Away {index}", odds=("2.10", "3.40", "3.20")
    )


def _run_design(design: str, config: Config, *, rounds: int, spins: int, bet_every: int) -> dict:
    reset_data()
    game = demo_game()
    players = make_players(config.workers, prefix=f"{design}", deposit=Decimal("10000.00"))
    player_ids = [p.pk for p in players]
    for i in range(OPEN_EVENTS):
        _new_event(i)
    seeded_writes = LedgerEntry.objects.filter(account__startswith="player:").count()
    stake = game.min_stake

    def work(index: int, result: WorkerResult) -> None:
        rng = random.Random(config.seed * 1000 + index)
        player = User(pk=player_ids[index])
        outcomes = Counter()

        def attempt(label: str, fn, **kwargs):
            try:
                value = fn(**kwargs)
            except ConcurrencyConflict:
                outcomes[f"failed:{label}"] += 1
                return None
            except DomainError as exc:
                outcomes[f"refused:{label}:{type(exc).__name__}"] += 1
                return exc
            except Exception as exc:  # noqa: BLE001 - measured, and reported
                outcomes[f"failed:{label}:{type(exc).__name__}"] += 1
                return None
            outcomes[label] += 1
            return value

        def bet() -> None:
            selection_ids = list(
                Selection.objects.filter(market__event__status=SportEvent.Status.OPEN).values_list("id", flat=True)
            )
            if selection_ids:
                attempt(
                    "bet",
                    services.place_sportsbet,
                    player=player,
                    selection=Selection(pk=rng.choice(selection_ids)),
                    stake=BET,
                    idempotency_key=uuid.uuid4().hex,
                )

        for _ in range(rounds):
            session = None
            if design == "split":
                session = attempt("open", services.open_session, player=player, game=game)
                if not isinstance(session, GameSession):
                    continue
                attempt("feed", services.feed, session=session, amount=FEED, idempotency_key=uuid.uuid4().hex)
            for n in range(1, spins + 1):
                if design == "split":
                    value = result.timed(services.spin, session=session, stake=stake, idempotency_key=uuid.uuid4().hex)
                    if isinstance(value, InsufficientSessionFunds):
                        result.errors.pop("InsufficientSessionFunds")
                        attempt("feed", services.feed, session=session, amount=FEED, idempotency_key=uuid.uuid4().hex)
                else:
                    result.timed(
                        naive.spin, player_id=player.pk, game=game, stake=stake, idempotency_key=uuid.uuid4().hex
                    )
                if n % bet_every == 0:
                    bet()
            if design == "split":
                attempt("leave", services.leave, session=session)
        result.extra["outcomes"] = dict(outcomes)

    office = Counter()

    def sportsbook_office(stop: threading.Event) -> None:
        rng = random.Random(config.seed)
        index = OPEN_EVENTS
        while not stop.wait(SETTLE_EVERY):
            event = SportEvent.objects.filter(status=SportEvent.Status.OPEN).order_by("id").first()
            if event is not None:
                market = event.markets.get()
                winner = rng.choice(list(market.selections.values_list("id", flat=True)))
                services.settle_event(event=event, result={market.pk: winner})
                office["settled"] += 1
            _new_event(index)
            index += 1
            _pay_out(design, office)
        _pay_out(design, office)  # what is left once the players stop

    pool = run_pool(work, config=config, background=sportsbook_office)
    if design == "split":
        _pay_out(design, office)  # players have all left: the sweep pays the rest
    outcomes = Counter()
    for r in pool.results:
        outcomes.update(r.extra.get("outcomes", {}))
    failed = sum(v for k, v in outcomes.items() if k.startswith("failed:")) + sum(pool.errors.values())
    return {
        "spins": pool.ops,
        "elapsed_s": round(pool.elapsed, 2),
        "spins_per_s": round(pool.throughput(), 1),
        **pool.latency_ms(),
        "account_conflicts": count(pool.counts, "conflict", "accounts.account"),
        "account_retries": count(pool.counts, "retry", "accounts.account"),
        "account_exhausted": count(pool.counts, "exhausted", "accounts.account"),
        "session_conflicts": count(pool.counts, "conflict", "casino.gamesession"),
        "failed": failed,
        "errors": pool.errors,
        "operations": dict(sorted(outcomes.items())),
        "events_settled": office["settled"],
        "payouts_paid": office["paid"],
        "payouts_left_queued": Payout.objects.filter(state=Payout.State.QUEUED).count(),
        "account_writes": LedgerEntry.objects.filter(account__startswith="player:").count() - seeded_writes,
    }


def _pay_out(design: str, office: Counter) -> None:
    if design == "split":
        for player_id in list(players_due_payout()):
            office["paid"] += len(services.pay_out_player(player=User(pk=player_id)))
    else:
        for payout_id in Payout.objects.filter(state=Payout.State.QUEUED).values_list("id", flat=True):
            office["paid"] += naive.pay_immediately(payout_id=payout_id)
