"""liability_storm (issue 18): bets on ONE hot selection with a liability limit.

Throughput: W workers (``config.workers``) place bets through the real service
(``casino.services.place_sportsbet``) on one selection whose limit is far from reached, in
rounds A B L C C L B A:

* A: the app's strict sharded counter (``casino.services.liability``, K =
  ``SPORTSBOOK_LIABILITY_SHARDS`` shard rows);
* B: THE naive single-row counter, the target's baseline (``bench.naive_liability
  .reserve_versioned``): the house's optimistic write on one row (read, check, compare-and-set;
  a lost race is a conflict and the bet is retried whole), the seeds' hot aggregate;
* L: the strongest single-row design (``reserve_locked``): one in-place conditional UPDATE, every
  bet queued on the row lock, no lost race;
* C: the same bets on a selection with no limit at all: the ceiling any counter design can
  reach on this machine.

B and L are swapped in for ``liability.reserve`` inside each worker process of their round.
Everything else in the bet (gate, event share lock, account debit, bet row, ledger) is the
same code, so A / B and A / L are the hot row's cost and A / C the sharded counter's own. Each
side's bets/s is its placed bets over its time summed across rounds; a bet that lost
``CONFLICT_RETRY_ATTEMPTS`` races in a row is a failed bet (counted, not in bets/s). After the
rounds, each selection's counter must equal its open bets' exposure.

Overshoot: the same W workers bet a fixed stake on a selection whose limit IS reached
(room for about a quarter of the attempts), each until refused, ``TRIALS`` times per mode on
a fresh selection: overbook (an unlocked read of the sum, then an unconditional add) may
pass the limit, measured (largest and total amount beyond the limit over the trials, and in
bets); strict must end at or under the limit (0 over) with its shards equal to the bets.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings

from accounts.models import User
from bench import naive_liability
from bench.common import Config, WorkerResult, make_players, reset_data, run_pool
from casino import services
from casino.exceptions import LiabilityLimitReached
from casino.models import Selection, Sportsbet
from casino.services import liability
from casino.services.sportsbook import create_match_event

ORDER = ("strict", "naive", "locked", "unlimited", "unlimited", "locked", "naive", "strict")  # A B L C C L B A
SIDES = ("strict", "naive", "locked", "unlimited")
ODDS = Decimal("2.00")
STAKE = Decimal("1.00")  # throughput phase: exposure 1.00 per bet
STORM_STAKE = Decimal("5.00")  # overshoot phase: exposure 5.00 per bet
BIG_LIMIT = Decimal("1000000000.00")  # never reached in the throughput phase
TRIALS = 3


def _hot_selection(name: str, *, limit: Decimal | None, mode: str) -> Selection:
    event = create_match_event(name=name, home=f"{name} home", away=f"{name} away", odds=(ODDS, "3.40", "3.20"))
    home = Selection.objects.filter(market__event=event).order_by("id").first()
    return liability.set_max_liability(selection=home, max_liability=limit, mode=mode)


def _exposure_of_bets(selection_id: int) -> Decimal:
    bets = Sportsbet.objects.filter(selection_id=selection_id, status=Sportsbet.Status.OPEN)
    return sum((liability.exposure_of(stake=b.stake, odds=b.odds) for b in bets), Decimal("0.00"))


def run(config: Config) -> dict:
    reset_data()
    workers = config.workers
    bets_per_worker = config.n(40, 6)
    users = make_players(workers, prefix="liab", deposit=Decimal("5000.00"))
    player_ids = [u.pk for u in users]
    strict_sel = _hot_selection("Strict", limit=BIG_LIMIT, mode=Selection.LiabilityMode.STRICT)
    naive_sel = _hot_selection("Naive", limit=BIG_LIMIT, mode=Selection.LiabilityMode.STRICT)
    locked_sel = _hot_selection("Locked", limit=BIG_LIMIT, mode=Selection.LiabilityMode.STRICT)
    for single in (naive_sel, locked_sel):
        naive_liability.prepare(selection_id=single.pk)
    open_sel = _hot_selection("Unlimited", limit=None, mode=Selection.LiabilityMode.STRICT)
    selection_of = {"strict": strict_sel.pk, "naive": naive_sel.pk, "locked": locked_sel.pk, "unlimited": open_sel.pk}

    sides = SIDES
    elapsed = dict.fromkeys(sides, 0.0)
    done = dict.fromkeys(sides, 0)
    failed = {side: {} for side in sides}
    retries = dict.fromkeys(sides, 0)
    rounds = []
    for side in ORDER:
        selection_id = selection_of[side]

        def work(index: int, result: WorkerResult, side=side, selection_id=selection_id) -> None:
            if side in naive_liability.RESERVE:  # this worker process only, this round only
                liability.reserve = naive_liability.RESERVE[side]
            player = User(pk=player_ids[index])
            selection = Selection(pk=selection_id)
            for _ in range(bets_per_worker):
                result.timed(
                    services.place_sportsbet,
                    player=player,
                    selection=selection,
                    stake=STAKE,
                    idempotency_key=uuid.uuid4().hex,
                )

        pool = run_pool(work, config=config)
        elapsed[side] += pool.elapsed
        done[side] += pool.ops
        for name, n in pool.errors.items():
            failed[side][name] = failed[side].get(name, 0) + n
        retries[side] += sum(v for k, v in pool.counts.items() if k.startswith("retry:"))
        rounds.append({"side": side, "bets_per_s": round(pool.throughput(), 1), **pool.latency_ms()})
    rate = {side: done[side] / elapsed[side] if elapsed[side] else 0.0 for side in sides}

    def per_s(side: str, over: str) -> float | None:
        return round(rate[side] / rate[over], 2) if rate[over] else None

    out = {
        "workers": workers,
        "shards": liability.shard_count(),
        "bets_per_worker_per_round": bets_per_worker,
        "retry_attempts": settings.CONFLICT_RETRY_ATTEMPTS,
        "rounds": rounds,
        "bets_strict": done["strict"],
        "bets_naive": done["naive"],
        "bets_locked": done["locked"],
        "bets_unlimited": done["unlimited"],
        **{f"{side}_bets_per_s": round(rate[side], 1) for side in sides},
        "ratio": per_s("strict", "naive"),
        "strict_over_locked": per_s("strict", "locked"),
        "unlimited_over_locked": per_s("unlimited", "locked"),
        "strict_over_unlimited": per_s("strict", "unlimited"),
        **{f"failed_{side}": failed[side] for side in sides},
        **{f"retries_{side}": retries[side] for side in sides},
        # liability_of sums the shards: the single-row sides have only shard 0, their one row.
        **{
            f"{side}_counter_matches_bets": liability.liability_of(sel) == _exposure_of_bets(sel.pk)
            for side, sel in (("strict", strict_sel), ("naive", naive_sel), ("locked", locked_sel))
        },
    }
    out["overbook"] = _overshoot(config, player_ids, mode=Selection.LiabilityMode.OVERBOOK)
    out["strict_limit"] = _overshoot(config, player_ids, mode=Selection.LiabilityMode.STRICT)
    return out


def _overshoot(config: Config, player_ids: list[int], *, mode: str) -> dict:
    workers = config.workers
    attempts_per_worker = 4
    exposure = liability.exposure_of(stake=STORM_STAKE, odds=ODDS)
    # Room for a quarter of the attempts: reached early in the storm, with every worker racing.
    limit = exposure * (workers * attempts_per_worker // 4)
    trials = []
    for trial in range(TRIALS):
        selection = _hot_selection(f"{mode} storm {trial}", limit=limit, mode=mode)

        def work(index: int, result: WorkerResult, selection_id=selection.pk) -> None:
            player = User(pk=player_ids[index])
            for _ in range(attempts_per_worker):
                value = result.timed(
                    services.place_sportsbet,
                    player=player,
                    selection=Selection(pk=selection_id),
                    stake=STORM_STAKE,
                    idempotency_key=uuid.uuid4().hex,
                )
                if isinstance(value, LiabilityLimitReached):
                    break

        pool = run_pool(work, config=config)
        reserved = liability.liability_of(selection)
        over = max(Decimal("0.00"), reserved - limit)
        unexpected = {k: v for k, v in pool.errors.items() if k != "LiabilityLimitReached"}
        trials.append(
            {
                "accepted": pool.ops,
                "refused": pool.errors.get("LiabilityLimitReached", 0),
                "unexpected_errors": unexpected,
                "liability": str(reserved),
                "over": str(over),
                "over_bets": int(over / exposure),
                "counter_matches_bets": reserved == _exposure_of_bets(selection.pk),
            }
        )
    overs = [Decimal(t["over"]) for t in trials]
    return {
        "mode": mode,
        "limit": str(limit),
        "exposure_per_bet": str(exposure),
        "trials": trials,
        "max_over": str(max(overs)),
        "total_over": str(sum(overs, Decimal("0.00"))),
        "max_over_bets": max(t["over_bets"] for t in trials),
        "bound": str(exposure * (workers - 1)),
        "counters_match_bets": all(t["counter_matches_bets"] for t in trials),
        "unexpected_errors": sum(sum(t["unexpected_errors"].values()) for t in trials),
    }
