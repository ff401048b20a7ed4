"""A seeded, Jepsen-bank-style workload against the whole system, and its invariant checks.

Many worker threads (each with its own database connection) act as players:
deposits, withdrawals, game sessions (open / feed / spin / free spin / leave),
sportsbets, payouts and bet cash-outs, promotion-code redemptions (unlimited,
strict, free-spin and bonus-funds codes), bonus money (issue 16: grants with small
random terms, some capped, some expiring within seconds; feeds that play bonus
money; forfeits), plus statement reads. One more worker is the "trader": it settles
events and opens new ones, sweeps idle sessions in-process, expires bonus grants and
sends the beat tasks (``sweep_payouts``, ``close_idle_sessions``,
``expire_bonus_grants``) to Celery. Leaving a machine (the player, the idle sweep,
the final leave) folds its wagering into the grants and converts those whose small
requirement (1-2x) is met. A checker thread samples the database every ~0.5 s in one
REPEATABLE READ snapshot and records any state that breaks an invariant.

Each worker's schedule of operations comes from ``random.Random(f"{seed}:{worker}")``,
so a seed replays the same operations with the same arguments and keys; only
the interleaving (threads) and the slot outcomes (``secrets``) differ.

Reproduce a failure against the configured database (``DATABASE_URL``/``REDIS_URL``;
migrations applied; a Celery worker running on the payouts and default queues,
or ``--eager`` to run tasks in-process)::

    python -m tests.system.workload --seed 7 --ops 10000 --workers 32
"""

from __future__ import annotations

import argparse
import os
import random
import threading
import time
import traceback
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

EXPECTED_ERRORS = (
    "InsufficientFunds",
    "InsufficientSessionFunds",
    "ConcurrencyConflict",
    "DuplicateTransaction",
    "SessionAlreadyOpen",
    "SessionClosed",
    "BettingClosed",
    "AlreadySettled",
    "AlreadyRedeemed",
    "LimitReached",
    "PlayerInSession",
    "NotCashable",
    "NoFreeSpins",
    # Bonus money (issue 16): a feed the bonus cannot make up, a stake above an active bonus's
    # maximum, a forfeit while the bonus is in a machine, a forfeit of a grant that has ended.
    "BonusNotPlayable",
    "StakeAboveBonusMaximum",
    "BonusInPlay",
    "BonusNotActive",
    # Sportsbook depth (issue 18): the trader moved a price or suspended a market between the
    # player reading it and betting; an offer moved or went (a settlement, a suspension) before
    # the player accepted it.
    "OddsChanged",
    "MarketSuspended",
    "CashOutOfferChanged",
    "CashOutUnavailable",
)
STAKES = [Decimal(s) for s in ("0.10", "0.20", "0.50", "1.00", "2.00")]
PLAYER_OPS = {  # weights of a player worker's operations
    "deposit": 8,
    "withdraw": 5,
    "open": 3,
    "feed": 12,
    "spin": 34,
    "free_spin": 3,
    "leave": 8,
    "bet": 10,
    "cash_out_bet": 3,
    "pay_out": 2,
    "redeem": 5,
    "read": 3,
    "grant": 3,  # bonus funds with small random terms (grant_bonus)
    "feed_bonus": 4,  # feed more than the player's cash: bonus money makes up the rest
    "forfeit": 1,
    "acca": 4,  # an accumulator of 2-4 legs from different open events (issue 18)
    "cash_out_early": 3,  # accept the offer shown for one of the player's open bets
}
TRADER_OPS = {
    "settle": 5,
    "idle_sweep": 2,
    "sweep_task": 2,
    "idle_task": 1,
    "expire": 2,
    "expire_task": 1,
    "odds": 3,  # a trader moves a price (issue 18: slips and cash-out offers holding it are re-asked)
    "suspend": 2,
    "reopen": 2,
}
# A grant's terms: small amounts and 1-2x wagering so that some convert within the run; some
# expire within seconds (the trader's expiry, the beat task and the lazy expiry race play on them).
GRANT_LIFETIMES = (3, 6, 3600, 3600)  # seconds
GRANT_MAX_STAKES = [Decimal(s) for s in ("1.00", "2.00", "5.00")]
# Bonus operations go to a quarter of the players (the "bonus players"), so that their cash runs
# low and their machines really stake bonus money (cash is always staked first).
BONUS_OPS = ("grant", "feed_bonus", "forfeit")
REPLAY_PROBABILITY = 0.05  # a player resubmits the previous form (same idempotency key)


def cents(rng: random.Random, low: int, high: int) -> Decimal:
    return Decimal(rng.randint(low, high)) / 100


@dataclass
class Tally:
    """What one worker did; merged at the end (no shared lock in the hot path)."""

    outcomes: Counter = field(default_factory=Counter)  # (op, "ok" | error class name)
    deposits: dict = field(default_factory=dict)  # idempotency key -> amount (distinct keys)
    withdrawals: dict = field(default_factory=dict)
    unexpected: list = field(default_factory=list)  # (op, repr, traceback)
    redeems: Counter = field(default_factory=Counter)  # (code, "ok" | error class name)
    replays_checked: int = 0
    done: int = 0

    def merge(self, other: Tally) -> None:
        self.outcomes.update(other.outcomes)
        self.deposits.update(other.deposits)
        self.withdrawals.update(other.withdrawals)
        self.unexpected += other.unexpected
        self.redeems.update(other.redeems)
        self.replays_checked += other.replays_checked
        self.done += other.done


@dataclass
class CheckerLog:
    samples: int = 0
    statement_reads: int = 0
    violations: list = field(default_factory=list)


class Workload:
    """Set up a fresh world (players, game, events, codes), run it, finish it, check it."""

    def __init__(
        self,
        *,
        seed: int,
        ops: int = 10_000,
        workers: int = 32,
        players: int = 48,
        idle_seconds: float = 2.0,
        check_interval: float = 0.5,
        log=print,
    ):
        if workers < 2:
            raise ValueError("need at least one player worker and the trader")
        self.seed, self.ops, self.workers, self.player_count = seed, ops, workers, players
        self.idle_seconds, self.check_interval, self.log = idle_seconds, check_interval, log
        self.run_id = uuid.uuid4().hex[:6].upper()
        self.tally = Tally()
        self.checker = CheckerLog()
        self.elapsed = 0.0
        self.trader_ops = max(40, ops // 50)
        self.player_ops_total = ops - self.trader_ops
        self._worker_tallies: list[Tally] = []
        self._stop = threading.Event()
        self.bonus_counts: dict[str, int] = {}  # by final_problems: granted, converted, expired, ...

    # --- setup -------------------------------------------------------------------------------------
    def setup(self) -> None:
        from django.utils import timezone

        from accounts import services as accounts
        from casino.demo import load_demo_games
        from promotions.services.codes import issue_code

        self.game = load_demo_games()[0]
        self.players = []
        for i in range(self.player_count):
            player = accounts.create_player(
                username=f"wl-{self.run_id}-{i}", password=f"Wl-{uuid.uuid4().hex}", email=""
            )
            key = f"wl-seed-{self.run_id}-{i}"
            amount = Decimal("200.00")
            accounts.deposit(player=player, amount=amount, idempotency_key=key)
            self.tally.deposits[f"deposit:{player.pk}:{key}"] = amount
            self.players.append(player)
        self.player_ids = [p.pk for p in self.players]
        self.bonus_players = self.players[: max(1, len(self.players) // 4)]
        now = timezone.now()
        window = {"starts_at": now - timedelta(minutes=1), "ends_at": now + timedelta(days=1)}
        self.codes = {
            f"WL{self.run_id}U1": issue_code(
                code=f"WL{self.run_id}U1", reward_kind="bonus", bonus_amount="5.00", **window
            ),
            f"WL{self.run_id}U2": issue_code(
                code=f"WL{self.run_id}U2", reward_kind="bonus", bonus_amount="2.50", **window
            ),
            f"WL{self.run_id}S1": issue_code(
                code=f"WL{self.run_id}S1",
                reward_kind="bonus",
                bonus_amount="3.00",
                limit_policy="strict",
                limit=10,
                **window,
            ),
            f"WL{self.run_id}S2": issue_code(
                code=f"WL{self.run_id}S2",
                reward_kind="bonus",
                bonus_amount="1.00",
                limit_policy="strict",
                limit=max(1, self.player_count // 2),
                **window,
            ),
            f"WL{self.run_id}B1": issue_code(  # bonus funds: a grant per redemption, converting capped
                code=f"WL{self.run_id}B1",
                reward_kind="bonus",
                bonus_amount="4.00",
                pays_as="bonus",
                wagering_multiple=1,
                bonus_max_stake="2.00",
                bonus_valid_days=1,
                bonus_conversion_cap="3.00",
                **window,
            ),
            f"WL{self.run_id}F1": issue_code(
                code=f"WL{self.run_id}F1",
                reward_kind="free_spins",
                free_spins_game=self.game,
                free_spins_count=5,
                free_spin_stake=self.game.min_stake,
                **window,
            ),
        }
        self.code_names = sorted(self.codes)
        self._events_made = 0
        for _ in range(3):
            self._new_event()

    def _new_event(self):
        from django.utils import timezone

        from casino.services.sportsbook import create_match_event

        self._events_made += 1
        return create_match_event(
            name=f"WL {self.run_id} match {self._events_made}",
            home=f"Home {self._events_made}",
            away=f"Away {self._events_made}",
            odds=("2.10", "3.40", "3.20"),
            starts_at=timezone.now() + timedelta(days=1),
            max_stake=Decimal("500.00"),
            extra_markets={"over_under": ("1.90", "1.90"), "btts": ("1.80", "2.00")},
        )

    def _open_events(self):
        from casino.models import SportEvent

        return SportEvent.objects.filter(name__startswith=f"WL {self.run_id} ", status=SportEvent.Status.OPEN)

    # --- running -----------------------------------------------------------------------------------
    def run(self) -> Tally:
        """All workers at once (released together) plus the checker; returns the merged tally."""
        from django.db import connection

        player_workers = self.workers - 1
        per_worker = [self.player_ops_total // player_workers] * player_workers
        for i in range(self.player_ops_total % player_workers):
            per_worker[i] += 1
        self._worker_tallies = [Tally() for _ in range(self.workers)]
        barrier = threading.Barrier(self.workers + 1)

        def guarded(target, *args):
            def body():
                try:
                    barrier.wait()
                    target(*args)
                except BaseException as exc:  # noqa: BLE001 - reported as an unexpected error
                    self._worker_tallies[args[0]].unexpected.append(("worker", repr(exc), traceback.format_exc()))
                finally:
                    connection.close()

            return threading.Thread(target=body, daemon=True)

        threads = [guarded(self._trader, 0)]
        threads += [guarded(self._player_worker, w, per_worker[w - 1]) for w in range(1, self.workers)]
        checker = threading.Thread(target=self._checker_loop, daemon=True)
        started = time.monotonic()
        for thread in threads:
            thread.start()
        checker.start()
        barrier.wait()
        for thread in threads:
            thread.join(timeout=900)
        self._stop.set()
        checker.join(timeout=60)
        self.elapsed = time.monotonic() - started
        for worker_tally in self._worker_tallies:
            self.tally.merge(worker_tally)
        return self.tally

    def _player_worker(self, worker: int, count: int) -> None:
        rng = random.Random(f"{self.seed}:{worker}")
        tally = self._worker_tallies[worker]
        names, weights = list(PLAYER_OPS), list(PLAYER_OPS.values())
        last: dict[str, tuple] = {}
        for i in range(count):
            op = rng.choices(names, weights)[0]
            pool = self.bonus_players if op in BONUS_OPS else self.players
            player = pool[rng.randrange(len(pool))]
            run = lambda op=op, player=player, i=i: self._player_op(rng, worker, i, op, player, last)  # noqa: E731
            self._attempt(tally, op, run)
            tally.done += 1

    def _attempt(self, tally: Tally, op: str, fn) -> None:
        from core.exceptions import DomainError

        try:
            label = fn() or op
            tally.outcomes[(label, "ok")] += 1
        except DomainError as exc:
            name = type(exc).__name__
            tally.outcomes[(op, name)] += 1
            if name not in EXPECTED_ERRORS:
                tally.unexpected.append((op, repr(exc), traceback.format_exc()))
        except Exception as exc:  # noqa: BLE001 - every other type is a finding
            tally.outcomes[(op, type(exc).__name__)] += 1
            tally.unexpected.append((op, repr(exc), traceback.format_exc()))

    def _player_op(self, rng: random.Random, worker: int, i: int, op: str, player, last: dict) -> str | None:
        from accounts import services as accounts
        from accounts.models import Account
        from casino import services
        from casino.models import GameSession, Payout, Selection, SportEvent, Sportsbet
        from promotions.models import BonusGrant
        from promotions.services.codes import redeem

        key = f"{self.run_id}-{worker}-{i}"
        replay = op in last and rng.random() < REPLAY_PROBABILITY
        if op in ("deposit", "withdraw"):
            if replay:
                player, key, amount, first_id = last[op]
            else:
                amount = cents(rng, 100, 5000) if op == "deposit" else cents(rng, 100, 3000)
            service = accounts.deposit if op == "deposit" else accounts.withdraw
            tx = service(player=player, amount=amount, idempotency_key=key)
            if replay:
                assert tx.pk == first_id, f"replayed {op} {key} made a second transaction"
                self._worker_tallies[worker].replays_checked += 1
                return f"{op}_replay"
            last[op] = (player, key, amount, tx.pk)
            mine = self._worker_tallies[worker]
            book = mine.deposits if op == "deposit" else mine.withdrawals
            book[f"{'deposit' if op == 'deposit' else 'withdrawal'}:{player.pk}:{key}"] = amount
            return None
        if op == "redeem":
            name = rng.choice(self.code_names)
            try:
                redeem(player=player, code=f"  {name.lower()} ")  # as typed: any case, stray spaces
            except Exception as exc:
                self._worker_tallies[worker].redeems[(name, type(exc).__name__)] += 1
                raise
            self._worker_tallies[worker].redeems[(name, "ok")] += 1
            return None
        if op == "bet":
            selections = list(
                Selection.objects.filter(
                    market__event__name__startswith=f"WL {self.run_id} ",
                    market__event__status=SportEvent.Status.OPEN,
                ).order_by("id")
            )
            if not selections:
                return "bet_none_open"
            choice = selections[rng.randrange(len(selections))]
            services.place_sportsbet(
                player=player, selection=choice, stake=cents(rng, 50, 1000), idempotency_key=key,
                expected_odds=choice.odds,
            )  # fmt: skip
            return None
        if op == "acca":
            from casino.services.accumulators import place_accumulator

            events = list(self._open_events().order_by("id")[:8])
            if len(events) < 2:
                return "acca_none_open"
            legs = []
            for event in rng.sample(events, min(len(events), rng.randint(2, 4))):
                options = list(Selection.objects.filter(market__event=event).order_by("id"))
                legs.append(options[rng.randrange(len(options))])
            place_accumulator(
                player=player,
                selections=legs,
                stake=cents(rng, 50, 500),
                idempotency_key=key,
                expected_odds={leg.pk: leg.odds for leg in legs},
            )
            return None
        if op == "cash_out_early":
            from casino.services.cashout import cash_out_early, cash_out_offer

            bet = Sportsbet.objects.filter(player=player, status=Sportsbet.Status.OPEN).order_by("?").first()
            if bet is None:
                return "cash_out_early_none"
            offer = cash_out_offer(bet)
            if offer is None:
                return "cash_out_early_no_offer"
            cash_out_early(bet=bet, expected_offer=offer, idempotency_key=key)
            return None
        if op == "cash_out_bet":
            bet = (
                Sportsbet.objects.filter(player=player, payout__state=Payout.State.QUEUED).order_by("id").first()
                or Sportsbet.objects.filter(player=player).exclude(status=Sportsbet.Status.OPEN).order_by("?").first()
            )
            if bet is None:
                return "cash_out_bet_none"
            services.cash_out_bet(bet=bet)
            return None
        if op == "pay_out":
            services.pay_out_player(player=player)
            return None
        if op == "read":
            self._read_statement(player)
            return None
        if op in ("grant", "forfeit"):
            return self._bonus_op(rng, worker, key, op, player, replay, last)

        session = GameSession.objects.filter(player=player, status=GameSession.Status.OPEN).first()
        if op == "open" or session is None:
            if op == "leave":
                return "leave_none_open"
            services.open_session(player=player, game=self.game)
            return "open"
        if op == "feed":
            if replay and last["feed"][0].pk == session.pk:
                session, key, amount, first_id = last["feed"]
                tx = services.feed(session=session, amount=amount, idempotency_key=key)
                assert tx.pk == first_id, f"replayed feed {key} made a second transaction"
                self._worker_tallies[worker].replays_checked += 1
                return "feed_replay"
            amount = cents(rng, 100, 4000)
            tx = services.feed(session=session, amount=amount, idempotency_key=key)
            last["feed"] = (session, key, amount, tx.pk)
            return None
        if op == "feed_bonus":
            # The player plays their bonus with bonus money opted in: the feed takes their cash first
            # and the bonus makes up the rest. Half the time they take their cash out first (always
            # withdrawable, whatever bonus is active), so that the machine holds bonus money only and
            # the spins stake it. Then a few spins at most the bonus's maximum stake (and what is left).
            cash = Account.objects.filter(user=player).values_list("balance", flat=True).get()
            if cash > 0 and rng.random() < 0.5:
                accounts.withdraw(player=player, amount=cash, idempotency_key=f"{key}-out")
                self._worker_tallies[worker].withdrawals[f"withdrawal:{player.pk}:{key}-out"] = cash
                cash = Decimal("0.00")
            # The grant the feed draws on: the one already in the machine, else the oldest with money.
            grants = BonusGrant.objects.filter(player=player, status=BonusGrant.Status.ACTIVE, balance__gt=0)
            if session.bonus_source:
                grants = BonusGrant.objects.filter(pk=session.bonus_source)
            held = grants.order_by("created_at", "id").values_list("balance", flat=True).first()
            if held or not session.bonus_balance:  # else: play the bonus already in the machine
                bonus = min(cents(rng, 100, 800), held) if held and rng.random() < 0.3 else held
                amount = cash + (bonus or Decimal("1.00"))
                services.feed(session=session, amount=amount, idempotency_key=key, use_bonus=True)
                session = GameSession.objects.get(pk=session.pk)  # as fed: its maximum stake
            for n in range(rng.randint(2, 6)):  # down to the last cents: a bonus lost in play is spent
                stake = min(rng.choice(STAKES), session.bonus_max_stake or STAKES[-1], session.playable)
                if stake < self.game.min_stake:
                    break
                session = services.spin(session=session, stake=stake, idempotency_key=f"{key}-{n}").session
            return None
        if op in ("spin", "free_spin"):
            if op == "spin" and replay and last["spin"][0].pk == session.pk:
                session, key, stake, first_id = last["spin"]
                result = services.spin(session=session, stake=stake, idempotency_key=key)
                assert result.pk == first_id, f"replayed spin {key} made a second spin"
                self._worker_tallies[worker].replays_checked += 1
                return "spin_replay"
            stake = rng.choice(STAKES)
            if op == "spin" and session.playable < stake:  # an empty machine: the player feeds it first
                amount = cents(rng, 500, 4000)
                tx = services.feed(session=session, amount=amount, idempotency_key=key)
                last["feed"] = (session, key, amount, tx.pk)
                return "feed"
            result = services.spin(session=session, stake=stake, idempotency_key=key, free_spin=op == "free_spin")
            if op == "spin":
                last["spin"] = (session, key, stake, result.pk)
            return None
        if op == "leave":
            services.leave(session=session)
            return None
        raise AssertionError(f"unknown op {op}")

    def _bonus_op(self, rng: random.Random, worker: int, key: str, op: str, player, replay: bool, last: dict) -> str:
        """Grant bonus funds (small random terms) or forfeit one of the player's grants."""
        from django.utils import timezone

        from promotions.models import BonusGrant
        from promotions.services.bonus import forfeit_bonus, grant_bonus

        if op == "grant":
            if replay:  # the same source key again: the first grant, no second payment
                terms, first_id = last["grant"]
                # (a fresh expiry: grant_bonus checks its terms before it looks the key up)
                terms = {**terms, "expires_at": timezone.now() + timedelta(hours=1)}
                assert grant_bonus(**terms).pk == first_id, f"replayed grant {terms['source_key']} made a second grant"
                self._worker_tallies[worker].replays_checked += 1
                return "grant_replay"
            amount = cents(rng, 100, 800)
            terms = {
                "player": player,
                "amount": amount,
                # 1-2x convert within the run; 5x grants are mostly lost in play first (spent).
                "wagering_multiple": rng.choice((1, 1, 2, 5)),
                "expires_at": timezone.now() + timedelta(seconds=rng.choice(GRANT_LIFETIMES)),
                "max_stake": rng.choice(GRANT_MAX_STAKES),
                "conversion_cap": rng.choice((None, None, (amount / 2).quantize(Decimal("0.01")))),
                "source_key": f"wl-grant:{key}",
                "source": f"workload {self.run_id}",
            }
            last["grant"] = (terms, grant_bonus(**terms).pk)
            return "grant"
        # Mostly an active grant; sometimes one that has ended (refused: BonusNotActive).
        grants = BonusGrant.objects.filter(player=player).order_by("id")
        if rng.random() < 0.8:
            grants = grants.filter(status=BonusGrant.Status.ACTIVE)
        ids = list(grants.values_list("id", flat=True))
        if not ids:
            return "forfeit_none"
        forfeit_bonus(grant=BonusGrant.objects.get(pk=ids[rng.randrange(len(ids))]))
        return "forfeit"

    def _read_statement(self, player) -> None:
        """What the balance page and the statement show, read in one snapshot, must agree."""
        from django.db import connection, transaction

        from accounts.selectors import balance_of, statement

        with transaction.atomic():
            with connection.cursor() as cur:
                cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            balance = balance_of(player=player)
            amounts = list(statement(player=player).order_by("id").values_list("amount", flat=True))
        running, lowest = Decimal("0.00"), Decimal("0.00")
        for amount in amounts:
            running += amount
            lowest = min(lowest, running)
        problems = []
        if balance < 0:
            problems.append(f"balance page shows {balance} for player {player.pk}")
        if running != balance:
            problems.append(f"statement of player {player.pk} sums to {running}, balance shows {balance}")
        if lowest < 0:
            problems.append(f"statement of player {player.pk} has a running balance of {lowest}")
        self.checker.statement_reads += 1
        if problems:
            self.checker.violations += problems

    # --- the trader ----------------------------------------------------------------------------------
    def _trader(self, worker: int) -> None:
        rng = random.Random(f"{self.seed}:trader")
        tally = self._worker_tallies[worker]
        names, weights = list(TRADER_OPS), list(TRADER_OPS.values())
        for k in range(1, self.trader_ops + 1):
            target = k * self.player_ops_total / (self.trader_ops + 1)
            while self._player_progress() < target and self._players_running():
                time.sleep(0.02)
            op = rng.choices(names, weights)[0]
            self._attempt(tally, op, lambda op=op: self._trader_op(rng, op))
            tally.done += 1

    def _player_progress(self) -> int:
        return sum(t.done for t in self._worker_tallies[1:])

    def _players_running(self) -> bool:
        return self._player_progress() < self.player_ops_total and not self._stop.is_set()

    def _trader_op(self, rng: random.Random, op: str) -> str | None:
        from casino import services, tasks
        from promotions import tasks as promotion_tasks
        from promotions.services.bonus import expire_bonus_grants

        if op == "settle":
            event = self._open_events().order_by("id").first()
            self._new_event()
            if event is None:
                return "settle_none_open"
            result = {}
            for market in event.markets.order_by("id"):
                picks = list(market.selections.order_by("id").values_list("pk", flat=True))
                result[market.pk] = rng.choices([*picks, "void"], [*[3] * len(picks), 1])[0]
            services.settle_event(event=event, result=result)
            return None
        if op in ("odds", "suspend", "reopen"):
            from casino.models import Market, Selection
            from casino.services import markets

            open_markets = Market.objects.filter(event__in=self._open_events())
            if op == "odds":
                selection = Selection.objects.filter(market__in=open_markets).order_by("?").first()
                if selection is None:
                    return "odds_none_open"
                moved = max(Decimal("1.05"), selection.odds + rng.choice([Decimal("-0.10"), Decimal("0.10")]))
                markets.change_odds(selection=selection, odds=moved, actor=None)
                return None
            status = Market.Status.OPEN if op == "suspend" else Market.Status.SUSPENDED
            market = open_markets.filter(status=status).order_by("?").first()
            if market is None:
                return f"{op}_none"
            (markets.suspend_market if op == "suspend" else markets.reopen_market)(market=market, actor=None)
            return None
        if op == "idle_sweep":
            services.close_idle_sessions(idle_for=timedelta(seconds=self.idle_seconds))
            return None
        if op == "sweep_task":
            tasks.sweep_payouts.delay()
            return None
        if op == "idle_task":
            tasks.close_idle_sessions.delay()
            return None
        if op == "expire":
            expire_bonus_grants()
            return None
        if op == "expire_task":
            promotion_tasks.expire_bonus_grants.delay()
            return None
        raise AssertionError(f"unknown trader op {op}")

    # --- the checker -----------------------------------------------------------------------------------
    def _checker_loop(self) -> None:
        from django.db import connection

        rng = random.Random(f"{self.seed}:checker")
        try:
            while not self._stop.wait(self.check_interval):
                try:
                    self.checker.violations += self.snapshot_violations()
                    self.checker.samples += 1
                    self._read_statement(self.players[rng.randrange(len(self.players))])
                except Exception as exc:  # noqa: BLE001 - a failing check is a finding
                    self.checker.violations.append(f"checker raised {exc!r}")
        finally:
            connection.close()

    def snapshot_violations(self) -> list[str]:
        """Invariants that must hold in every committed state (one REPEATABLE READ snapshot)."""
        from django.db import connection, transaction

        from accounts.reconcile import reconcile

        with transaction.atomic():
            with connection.cursor() as cur:
                cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                problems = self._sql_violations(cur)
                problems += self._ledger_class_violations(cur)
            report = reconcile()
            if not report.ok:
                problems.append("reconcile failed mid-run: " + "; ".join(report.lines()[-5:]))
        return problems

    def _sql_violations(self, cur) -> list[str]:
        checks = {
            "negative account balance": "SELECT count(*) FROM accounts_account WHERE balance < 0",
            "negative session balance": "SELECT count(*) FROM casino_gamesession WHERE balance < 0",
            "closed session still holding money": """
                SELECT count(*) FROM casino_gamesession
                WHERE status <> 'open' AND (balance <> 0 OR bonus_balance <> 0)""",
            # Bonus money (issue 16).
            "negative session bonus part": "SELECT count(*) FROM casino_gamesession WHERE bonus_balance < 0",
            "session bonus part with no grant": (
                "SELECT count(*) FROM casino_gamesession WHERE bonus_balance <> 0 AND bonus_source IS NULL"
            ),
            "negative bonus grant balance": "SELECT count(*) FROM promotions_bonusgrant WHERE balance < 0",
            "ended bonus grant holding money": (
                "SELECT count(*) FROM promotions_bonusgrant WHERE status <> 'active' AND balance <> 0"
            ),
            "bonus grant wagered past its requirement": (
                "SELECT count(*) FROM promotions_bonusgrant WHERE wagering_done > wagering_required"
            ),
            "bonus grant met its requirement without converting": """
                SELECT count(*) FROM promotions_bonusgrant
                WHERE status <> 'completed' AND wagering_done >= wagering_required""",
            "bonus grant converted short of its requirement": """
                SELECT count(*) FROM promotions_bonusgrant
                WHERE status = 'completed' AND wagering_done < wagering_required""",
            "bonus grant converted more than once": """
                SELECT count(*) FROM (SELECT reference FROM accounts_ledgertransaction
                WHERE kind = 'bonus_conversion' OR idempotency_key LIKE 'bonus-convert:%'
                GROUP BY reference HAVING count(*) > 1) d""",
            "bonus conversion of a grant that did not complete": """
                SELECT count(*) FROM accounts_ledgertransaction t
                JOIN promotions_bonusgrant g ON t.reference = 'bonus:' || g.id
                WHERE t.kind = 'bonus_conversion' AND g.status <> 'completed'""",
            "bonus grant both converted and ended": """
                SELECT count(*) FROM promotions_bonusgrant g WHERE EXISTS (
                    SELECT 1 FROM accounts_ledgertransaction t WHERE t.idempotency_key = 'bonus-convert:' || g.id)
                AND EXISTS (
                    SELECT 1 FROM accounts_ledgertransaction t WHERE t.idempotency_key = 'bonus-end:' || g.id)""",
            "bonus grant converted to other cash than its conversion credited": """
                SELECT count(*) FROM promotions_bonusgrant g
                JOIN accounts_ledgertransaction t ON t.idempotency_key = 'bonus-convert:' || g.id
                WHERE g.converted <> coalesce((SELECT sum(e.amount) FROM accounts_ledgerentry e
                    WHERE e.transaction_id = t.id AND e.account = 'player:' || g.player_id), 0)""",
            "paid payout without exactly one ledger credit": """
                SELECT count(*) FROM casino_payout p WHERE p.state = 'paid' AND (
                    SELECT count(*) FROM accounts_ledgertransaction t
                    WHERE t.idempotency_key = 'payout:' || p.id) <> 1""",
            "queued payout with a ledger credit": """
                SELECT count(*) FROM casino_payout p JOIN accounts_ledgertransaction t
                ON t.idempotency_key = 'payout:' || p.id WHERE p.state = 'queued'""",
            "payout on a bet that did not win, void or cash out": """
                SELECT count(*) FROM casino_payout p JOIN casino_sportsbet b ON b.id = p.bet_id
                WHERE b.status NOT IN ('won', 'void', 'cashed_out')
                   OR (b.status = 'cashed_out') <> (p.kind = 'cash_out')
                   OR (p.kind = 'cash_out' AND p.amount <> b.cash_out_amount)""",
            "strict code over its limit": """
                SELECT count(*) FROM promotions_promotioncode c WHERE c.limit_policy = 'strict'
                AND (SELECT count(*) FROM promotions_redemption r WHERE r.code_id = c.id) > c."limit" """,
            "code redeemed twice by one player": """
                SELECT count(*) FROM (SELECT 1 FROM promotions_redemption GROUP BY code_id, player_id
                HAVING count(*) > 1) d""",
        }
        problems = []
        for what, sql in checks.items():
            cur.execute(sql)
            count = cur.fetchone()[0]
            if count:
                problems.append(f"{what}: {count}")
        return problems

    def _ledger_class_violations(self, cur) -> list[str]:
        """Cash + bonus + house + promotions conservation in one snapshot: over every ledger
        transaction that touches this run's players, their sessions (cash and bonus parts) or
        their grants, each account class (``player:``, ``session:``, ``sessionbonus:``,
        ``bonus:``) sums to the stored balances of its rows, no other account is touched, and
        the classes with the system accounts sum to zero."""
        cur.execute(
            """
            WITH mine AS (
                SELECT 'player:' || u AS code, 'player' AS class FROM unnest(%(pids)s::int[]) u
                UNION ALL SELECT 'session:' || s.id, 'session' FROM casino_gamesession s
                    WHERE s.player_id = ANY(%(pids)s)
                UNION ALL SELECT 'sessionbonus:' || s.id, 'sessionbonus' FROM casino_gamesession s
                    WHERE s.player_id = ANY(%(pids)s)
                UNION ALL SELECT 'bonus:' || g.id, 'bonus' FROM promotions_bonusgrant g
                    WHERE g.player_id = ANY(%(pids)s)
            ), txs AS (
                SELECT DISTINCT e.transaction_id FROM accounts_ledgerentry e JOIN mine ON mine.code = e.account
            )
            SELECT coalesce(mine.class, CASE WHEN e.account LIKE 'system:%%' THEN e.account ELSE 'other' END),
                   sum(e.amount)
            FROM accounts_ledgerentry e JOIN txs ON txs.transaction_id = e.transaction_id
            LEFT JOIN mine ON mine.code = e.account GROUP BY 1
            """,
            {"pids": self.player_ids},
        )
        ledger = dict(cur.fetchall())
        cur.execute(
            """
            SELECT (SELECT coalesce(sum(balance), 0) FROM accounts_account WHERE user_id = ANY(%(pids)s)),
                   (SELECT coalesce(sum(balance), 0) FROM casino_gamesession WHERE player_id = ANY(%(pids)s)),
                   (SELECT coalesce(sum(bonus_balance), 0) FROM casino_gamesession WHERE player_id = ANY(%(pids)s)),
                   (SELECT coalesce(sum(balance), 0) FROM promotions_bonusgrant WHERE player_id = ANY(%(pids)s))
            """,
            {"pids": self.player_ids},
        )
        stored = dict(zip(("player", "session", "sessionbonus", "bonus"), cur.fetchone(), strict=True))
        problems = []
        for name, held in stored.items():
            booked = ledger.get(name, Decimal("0.00"))
            if booked != held:
                problems.append(f"ledger class {name}: entries sum to {booked}, stored balances to {held}")
        if ledger.get("other"):
            problems.append(f"this run's transactions touch other accounts: {ledger['other']}")
        if sum(ledger.values(), Decimal("0.00")) != 0:
            problems.append(f"cash + bonus + house + promotions do not sum to zero: {ledger}")
        return problems

    # --- finishing ----------------------------------------------------------------------------------------
    def finish(self, *, payout_timeout: float = 90.0) -> dict:
        """Leave every session, settle every event, let the sweep pay everything; returns timings."""
        from casino import services, tasks
        from casino.models import GameSession, Payout

        started = time.monotonic()
        for session in GameSession.objects.filter(player_id__in=self.player_ids, status=GameSession.Status.OPEN):
            services.leave(session=session)
        for event in self._open_events():
            result = {m.pk: m.selections.order_by("id").first().pk for m in event.markets.order_by("id")}
            services.settle_event(event=event, result=result)
        tasks.sweep_payouts.delay()
        queued = Payout.objects.filter(player_id__in=self.player_ids, state=Payout.State.QUEUED)
        deadline = time.monotonic() + payout_timeout
        while queued.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        return {"drained_in": time.monotonic() - started, "still_queued": queued.count()}

    # --- final checks -----------------------------------------------------------------------------------
    def final_problems(self) -> tuple[list[str], dict]:
        """Every invariant, at the end; returns (problems, figures)."""
        from django.db import connection
        from django.db.models import Count, Q, Sum

        from accounts.reconcile import reconcile
        from casino.models import GameSession, Payout, Spin, SportEvent, Sportsbet
        from promotions.models import BonusGrant, PromotionCode, Redemption

        problems: list[str] = []
        report = reconcile()
        if not report.ok:
            problems.append("reconcile failed: " + "; ".join(report.lines()))
        with connection.cursor() as cur:
            problems += self._sql_violations(cur)
            problems += self._ledger_class_violations(cur)
        pids = self.player_ids
        zero = Decimal("0.00")

        def total(qs, name: str) -> Decimal:
            return qs.aggregate(s=Sum(name))["s"] or zero

        from accounts.models import Account

        accounts_total = total(Account.objects.filter(user_id__in=pids), "balance")
        sessions = GameSession.objects.filter(player_id__in=pids)
        open_sessions = sessions.filter(status=GameSession.Status.OPEN)
        open_total = total(open_sessions, "balance")
        # Bonus money is the players' too until it converts or goes back: in grants and in machines.
        grants = BonusGrant.objects.filter(player_id__in=pids)
        bonus_held = total(grants, "balance") + total(open_sessions, "bonus_balance")
        player_money = accounts_total + open_total + bonus_held
        deposits = sum(self.tally.deposits.values(), zero)
        withdrawals = sum(self.tally.withdrawals.values(), zero)
        spins = Spin.objects.filter(session__player_id__in=pids)
        paid_spins = spins.filter(free_spin=False)
        house_net = total(paid_spins, "stake") - total(paid_spins, "win")
        bets = Sportsbet.objects.filter(player_id__in=pids)
        paid_payouts = Payout.objects.filter(player_id__in=pids, state=Payout.State.PAID)
        sportsbook_net = total(bets, "stake") - total(paid_payouts, "amount")
        granted, returned = total(grants, "amount"), total(grants, "returned")
        promotions_cost = (
            # Codes paying cash; a code paying bonus funds made a grant (counted with the grants).
            total(
                Redemption.objects.filter(player_id__in=pids, code__pays_as=PromotionCode.PaysAs.CASH), "bonus_amount"
            )
            + total(spins.filter(free_spin=True), "win")
            + total(spins, "boost")
            + granted
            - returned  # expired, forfeited, over a conversion cap, or back from a machine after the end
        )
        ledger = self._ledger_totals(pids)
        promotions_cost += ledger["promotion_effects"]
        expected = deposits - withdrawals - house_net - sportsbook_net + promotions_cost
        if player_money != expected:
            problems.append(
                f"money not conserved: players hold {player_money} (bonus {bonus_held}), deposits {deposits}"
                f" - withdrawals {withdrawals} - house {house_net} - sportsbook {sportsbook_net}"
                f" + promotions given {promotions_cost} = {expected}"
            )
        for what, mine, booked in (
            ("cash", withdrawals - deposits, ledger["system:cash"]),
            ("house", house_net, ledger["system:house"]),
            ("sportsbook", sportsbook_net, ledger["system:sportsbook"]),
            ("promotions", -promotions_cost, ledger["system:promotions"]),
        ):
            if mine != booked:
                problems.append(f"system:{what} booked {booked} against the players, their records say {mine}")
        if player_money + sum(ledger[c] for c in ledger if c.startswith("system:")) != 0:
            problems.append("the players' money and the system accounts do not sum to zero")

        # Every winning bet paid exactly once, with the right amount.
        paying = [Sportsbet.Status.WON, Sportsbet.Status.VOID, Sportsbet.Status.CASHED_OUT]
        bad_bets = bets.annotate(n=Count("payout")).filter(
            (Q(status__in=paying) & ~Q(n=1)) | Q(status__in=[Sportsbet.Status.LOST, Sportsbet.Status.OPEN], n__gt=0)
        )
        if bad_bets.exists():
            problems.append(f"bets with a wrong number of payouts: {list(bad_bets.values_list('id', flat=True)[:20])}")
        with connection.cursor() as cur:
            cur.execute(
                """
                SELECT p.id, p.amount, b.status, b.stake, b.odds, coalesce(sum(e.amount), 0), count(DISTINCT t.id)
                FROM casino_payout p JOIN casino_sportsbet b ON b.id = p.bet_id
                LEFT JOIN accounts_ledgertransaction t ON t.idempotency_key = 'payout:' || p.id
                LEFT JOIN accounts_ledgerentry e ON e.transaction_id = t.id AND e.account = 'player:' || p.player_id
                WHERE p.player_id = ANY(%s) GROUP BY p.id, b.id
                """,
                [pids],
            )
            settled_prices = self._accumulator_prices(cur, pids)
            cashed = dict(bets.filter(status=Sportsbet.Status.CASHED_OUT).values_list("payout__id", "cash_out_amount"))
            for payout_id, amount, status, stake, odds, credited, txs in cur.fetchall():
                price = settled_prices.get(payout_id, odds)  # an accumulator pays its won legs' price
                owed = (stake * price).quantize(Decimal("0.01"), ROUND_HALF_UP) if status == "won" else stake
                if status == Sportsbet.Status.CASHED_OUT:
                    owed = cashed.get(payout_id)
                if amount != owed or credited != amount or txs != 1:
                    problems.append(
                        f"payout {payout_id}: amount {amount} (owed {owed}), credited {credited} in {txs} transactions"
                    )
        still_queued = Payout.objects.filter(player_id__in=pids, state=Payout.State.QUEUED).count()
        if still_queued:
            problems.append(
                f"{still_queued} payouts still queued after the final sweep (is a Celery worker running? else --eager)"
            )
        if sessions.filter(status=GameSession.Status.OPEN).exists():
            problems.append("sessions still open after the final leave")
        if SportEvent.objects.filter(name__startswith=f"WL {self.run_id} ", status=SportEvent.Status.OPEN).exists():
            problems.append("events still open after the final settlement")

        # Codes: once per player (also a constraint), strict limits exactly met, tokens match.
        redemptions = Redemption.objects.filter(code__in=self.codes.values())
        per_code = dict(redemptions.values_list("code__code").annotate(n=Count("id")))
        for name, promo in self.codes.items():
            count = per_code.get(name, 0)
            if promo.limit_policy == "strict":
                tokens = promo.limit_tokens.filter(redemption__isnull=False).count()
                if count > promo.limit or tokens != count:
                    problems.append(f"strict code {name}: {count} redemptions, {tokens} tokens, limit {promo.limit}")
                if count < promo.limit and self.tally.redeems[(name, "LimitReached")]:
                    problems.append(f"strict code {name} refused a redeemer with only {count}/{promo.limit} used")
        # Every grant's money is accounted for: what it holds, what became cash, what went back.
        # (A grant's money lost in play went to the house, counted in the house's net.)
        bonus_status = dict(grants.values_list("status").annotate(n=Count("id")))
        self.bonus_counts = {"granted": sum(bonus_status.values())} | {
            name: bonus_status.get(status, 0)
            for name, status in (
                ("converted", BonusGrant.Status.COMPLETED),
                ("expired", BonusGrant.Status.EXPIRED),
                ("forfeited", BonusGrant.Status.FORFEITED),
                ("spent", BonusGrant.Status.SPENT),
                ("cancelled", BonusGrant.Status.CANCELLED),
                ("active", BonusGrant.Status.ACTIVE),
            )
        }
        ended_with_money = grants.exclude(status=BonusGrant.Status.ACTIVE).exclude(balance=0).count()
        if ended_with_money:
            problems.append(f"{ended_with_money} ended bonus grants still hold money")
        mine = [g.ledger_code for g in grants.only("id")]
        with connection.cursor() as cur:
            cur.execute(
                "SELECT count(*) FROM accounts_ledgertransaction WHERE idempotency_key LIKE 'bonus-grant:%%' "
                "AND reference = ANY(%s)",
                [mine],
            )
            paid_in = cur.fetchone()[0]
        if paid_in != len(mine):
            problems.append(f"{len(mine)} bonus grants, {paid_in} bonus-grant ledger transactions")
        fair_checked = self._fair_problems(problems, sessions)
        figures = {
            "player_money": player_money,
            "bonus_held": bonus_held,
            "bonus_granted": granted,
            "bonus_returned": returned,
            "bonus_converted": total(grants, "converted"),
            "bonus_staked": total(sessions, "bonus_staked"),
            "bonus_counts": self.bonus_counts,
            "deposits": deposits,
            "withdrawals": withdrawals,
            "house_net": house_net,
            "sportsbook_net": sportsbook_net,
            "promotions_cost": promotions_cost,
            "spins": spins.count(),
            "bets": bets.count(),
            "payouts": Payout.objects.filter(player_id__in=pids).count(),
            "redemptions": per_code,
            "sessions": sessions.count(),
            "fair_sessions_verified": fair_checked,
        }
        return problems, figures

    @staticmethod
    def _accumulator_prices(cur, pids) -> dict:
        """{payout id: the price a won accumulator pays}: its won legs' odds (void 1.00), rounded
        as ``casino.services.accumulators.settled_odds`` does."""
        from casino.services.accumulators import settled_odds

        cur.execute(
            """
            SELECT p.id, l.result, l.odds FROM casino_payout p
            JOIN casino_sportsbet b ON b.id = p.bet_id AND b.kind = 'accumulator' AND b.status = 'won'
            JOIN casino_betleg l ON l.bet_id = b.id
            WHERE p.player_id = ANY(%s) ORDER BY p.id, l.id
            """,
            [pids],
        )
        legs: dict[int, list] = {}
        for payout_id, result, odds in cur.fetchall():
            legs.setdefault(payout_id, []).append((result, odds))
        return {payout_id: settled_odds(results) for payout_id, results in legs.items()}

    @staticmethod
    def _fair_problems(problems: list[str], sessions) -> int:
        """Provably fair (issue 17): every session's spins have the nonces 1..N (no gap, no
        repeat, whatever raced), and every closed session recomputes from its revealed seeds."""
        from django.db import connection

        from casino import selectors
        from casino.models import GameSession

        with connection.cursor() as cur:
            cur.execute(
                """
                SELECT s.id FROM casino_gamesession s LEFT JOIN casino_spin sp ON sp.session_id = s.id
                WHERE s.id = ANY(%s)
                GROUP BY s.id, s.spin_count
                HAVING count(sp.id) <> s.spin_count OR count(DISTINCT sp.nonce) <> s.spin_count
                    OR coalesce(min(sp.nonce), 1) <> 1 OR coalesce(max(sp.nonce), 0) <> s.spin_count
                """,
                [list(sessions.values_list("id", flat=True))],
            )
            problems += [f"session {row[0]}: nonces are not 1..spin_count" for row in cur.fetchall()]
        verified = 0
        for session in sessions.filter(status=GameSession.Status.CLOSED).select_related("game", "game_version"):
            result = selectors.verify_session(session).result
            if not result.ok:
                problems.append(f"session {session.pk} does not verify: {result.problems or result.failed_spins}")
            verified += 1
        return verified

    def _ledger_totals(self, pids: list[int]) -> dict:
        """System-account legs of every transaction that touches this run's players or sessions."""
        from django.db import connection

        totals = {code: Decimal("0.00") for code in ("system:cash", "system:house", "system:sportsbook")}
        totals["system:promotions"] = Decimal("0.00")
        with connection.cursor() as cur:
            cur.execute(
                """
                WITH mine AS (
                    SELECT 'player:' || u AS code FROM unnest(%s::int[]) u
                    UNION ALL SELECT 'session:' || s.id FROM casino_gamesession s WHERE s.player_id = ANY(%s)
                    UNION ALL SELECT 'sessionbonus:' || s.id FROM casino_gamesession s WHERE s.player_id = ANY(%s)
                    UNION ALL SELECT 'bonus:' || g.id FROM promotions_bonusgrant g WHERE g.player_id = ANY(%s)
                ), txs AS (
                    SELECT DISTINCT e.transaction_id FROM accounts_ledgerentry e JOIN mine ON mine.code = e.account
                )
                SELECT e.account, t.kind, sum(e.amount) FROM accounts_ledgerentry e
                JOIN txs ON txs.transaction_id = e.transaction_id
                JOIN accounts_ledgertransaction t ON t.id = e.transaction_id
                WHERE e.account LIKE 'system:%%' GROUP BY e.account, t.kind
                """,
                [pids, pids, pids, pids],
            )
            effects = Decimal("0.00")
            for account, kind, amount in cur.fetchall():
                totals[account] = totals.get(account, Decimal("0.00")) + amount
                if kind == "promotion":
                    effects -= amount
        totals["promotion_effects"] = effects
        return totals

    # --- reporting -------------------------------------------------------------------------------------------
    def assert_held(self, problems: list[str]) -> set[str]:
        """The invariants every run must hold (AssertionError otherwise): no unexpected error (deadlocks
        included: retry_on_conflict re-runs a deadlock victim, so none may reach a player), no checker
        violation, none of ``final_problems``' problems, every operation done, and money moved every
        way. Returns the operations that succeeded at least once, for a caller's own checks."""
        unexpected = self.tally.unexpected
        shown = [f"{op}: {error}\n{trace}" for op, error, trace in unexpected[:5]]
        assert not unexpected, f"{len(unexpected)} unexpected errors:\n" + "\n".join(shown)
        assert not self.checker.violations, self.checker.violations[:20]
        assert not problems, problems
        assert sum(self.tally.outcomes.values()) >= self.ops
        done = {op for (op, result) in self.tally.outcomes if result == "ok"}
        assert {"deposit", "withdraw", "open", "feed", "spin", "leave", "bet", "redeem", "settle"} <= done, done
        return done

    def summary(self) -> str:
        outcomes = self.tally.outcomes
        total = sum(outcomes.values())
        ok = sum(n for (_, result), n in outcomes.items() if result == "ok")
        by_op: Counter = Counter()
        for (op, _), n in outcomes.items():
            by_op[op.replace("_replay", "").removesuffix("_none_open").removesuffix("_none")] += n
        errors: Counter = Counter()
        for (_, result), n in outcomes.items():
            if result != "ok":
                errors[result] += n
        rate = total / self.elapsed if self.elapsed else 0.0
        return (
            f"workload seed={self.seed} run={self.run_id}: {total} ops by {self.workers} workers in "
            f"{self.elapsed:.1f}s ({rate:.0f}/s); ok {ok}, expected errors {dict(errors.most_common())}; "
            f"by op {dict(by_op.most_common())}; replays checked {self.tally.replays_checked}; "
            f"checker {self.checker.samples} snapshots + {self.checker.statement_reads} statement reads, "
            f"{len(self.checker.violations)} violations; unexpected {len(self.tally.unexpected)}; "
            f"bonus grants {self.bonus_counts or 'not counted yet (final_problems)'}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--ops", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=32)
    parser.add_argument("--players", type=int, default=48)
    parser.add_argument("--eager", action="store_true", help="run Celery tasks in-process (no worker needed)")
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "casino.settings")
    import django

    django.setup()
    from casino.celery import app

    app.conf.task_always_eager = args.eager
    workload = Workload(seed=args.seed, ops=args.ops, workers=args.workers, players=args.players)
    workload.setup()
    workload.run()
    finished = workload.finish()
    problems, figures = workload.final_problems()
    print(workload.summary())
    print(f"finish: {finished}; figures: {figures}")
    for op, error, trace in workload.tally.unexpected[:10]:
        print(f"UNEXPECTED in {op}: {error}\n{trace}")
    for line in workload.checker.violations[:20] + problems:
        print(f"VIOLATION: {line}")
    failed = bool(problems or workload.checker.violations or workload.tally.unexpected)
    print("FAILED" if failed else "OK: every invariant held")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
