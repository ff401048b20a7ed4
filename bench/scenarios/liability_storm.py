"""liability_storm (issue 18): bets on ONE hot selection with a liability limit.

Throughput: W workers (``config.workers``) place bets through the real service
(``casino.services.place_sportsbet``) on one selection whose limit is far from reached, in
rounds A B C C B A (A: the app's strict sharded counter, ``casino.services.liability``, K =
``SPORTSBOOK_LIABILITY_SHARDS`` shard rows; B: the naive single-row counter,
``bench.naive_liability``, swapped in for ``liability.reserve`` inside each worker process of
that round; C: the same bets on a selection with no limit at all, the ceiling any counter
design can reach on this machine). Everything else in the bet (gate, event share lock,
account debit, bet row, ledger) is the same code, so A / B is the hot row's cost and A / C
the sharded counter's own. Each side's bets/s is its bets over its time summed across
rounds. After the rounds, each selection's counter must equal its open bets' exposure.

Overshoot: the same W workers bet a fixed stake on a selection whose limit IS reached
(room for about a quarter of the attempts), each until refused, ``TRIALS`` times per mode on
a fresh selection: overbook (an unlocked read of the sum, then an unconditional add) may
pass the limit, measured (largest and total amount beyond the limit over the trials, and in
bets); strict must end at or under the limit (0 over) with its shards equal to the bets.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from accounts.models import User
from bench import naive_liability
from bench.common import Config, WorkerResult, make_players, reset_data, run_pool
from casino import services
from casino.exceptions import LiabilityLimitReached
from casino.models import Selection, Sportsbet
from casino.services import liability
from casino.services.sportsbook import create_match_event

ORDER = ("strict", "naive", "unlimited", "unlimited", "naive", "strict")  # A B C C B A
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
    naive_liability.prepare(selection_id=naive_sel.pk)
    open_sel = _hot_selection("Unlimited", limit=None, mode=Selection.LiabilityMode.STRICT)
    selection_of = {"strict": strict_sel.pk, "naive": naive_sel.pk, "unlimited": open_sel.pk}

    sides = ("strict", "naive", "unlimited")
    elapsed = dict.fromkeys(sides, 0.0)
    done = dict.fromkeys(sides, 0)
    failed = {side: {} for side in sides}
    retries = dict.fromkeys(sides, 0)
    rounds = []
    for side in ORDER:
        selection_id = selection_of[side]

        def work(index: int, result: WorkerResult, side=side, selection_id=selection_id) -> None:
            if side == "naive":  # this worker process only, this round only
                liability.reserve = naive_liability.reserve
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
    naive_counter = liability.liability_of(naive_sel)  # shard 0 only: the naive row

    out = {
        "workers": workers,
        "shards": liability.shard_count(),
        "bets_per_worker_per_round": bets_per_worker,
        "rounds": rounds,
        "bets_strict": done["strict"],
        "bets_naive": done["naive"],
        "bets_unlimited": done["unlimited"],
        "strict_bets_per_s": round(rate["strict"], 1),
        "naive_bets_per_s": round(rate["naive"], 1),
        "unlimited_bets_per_s": round(rate["unlimited"], 1),
        "ratio": round(rate["strict"] / rate["naive"], 2) if rate["naive"] else None,
        "unlimited_over_naive": round(rate["unlimited"] / rate["naive"], 2) if rate["naive"] else None,
        "strict_over_unlimited": round(rate["strict"] / rate["unlimited"], 2) if rate["unlimited"] else None,
        "failed_strict": failed["strict"],
        "failed_naive": failed["naive"],
        "failed_unlimited": failed["unlimited"],
        "retries_strict": retries["strict"],
        "retries_naive": retries["naive"],
        "strict_counter_matches_bets": liability.liability_of(strict_sel) == _exposure_of_bets(strict_sel.pk),
        "naive_counter_matches_bets": naive_counter == _exposure_of_bets(naive_sel.pk),
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
