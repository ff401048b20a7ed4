"""spin_storm: P players x S spins with W workers, through ``casino.services.spin``.

Each worker plays one player's open, fed session (P = W by default: one
player per worker, like a real player who cannot click two buttons at once;
``--players`` lower than the worker count puts several workers on one
session and shows session conflicts). Spins never touch the account, so
account conflicts must be 0.

Then the same storm again on machines holding bonus money (issue 16): each
player has an active grant (maximum stake above the bench stake) and no cash,
and fed the machine from the grant, so every spin stakes bonus money and splits
its win. The figure is spins/s with an active bonus / without (target >= 0.9):
a spin must not read or write the grant (wagering accumulates on the session),
which the storm checks (the grants' versions do not move while it runs).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from bench.common import Config, WorkerResult, count, demo_game, make_players, reset_data, run_pool
from casino import services

MACHINE = Decimal("4000.00")
BONUS_MAX_STAKE = Decimal("1.00")  # above the bench stake (the game's minimum, 0.10)


def setup(config: Config, players: int, *, bonus: bool = False):
    from casino.models import GameSession
    from promotions.services.bonus import grant_bonus

    reset_data()
    game = demo_game()
    users = make_players(players, prefix="spin", deposit=None if bonus else MACHINE + 1000)
    sessions = []
    for user in users:
        if bonus:  # bonus money only: no cash, so the machine stakes the grant's money
            grant_bonus(
                player=user,
                amount=MACHINE,
                wagering_multiple=10,
                expires_at=timezone.now() + timedelta(days=1),
                max_stake=BONUS_MAX_STAKE,
                source_key=f"bench-bonus-{user.pk}",
                source="bench",
            )
        session = services.open_session(player=user, game=game)
        services.feed(session=session, amount=MACHINE, idempotency_key=f"seed-{session.pk}", use_bonus=bonus)
        sessions.append(session.pk)
    return game, [GameSession(pk=pk) for pk in sessions]


def storm(config: Config, players: int, *, bonus: bool = False) -> dict:
    from casino.models import GameSession
    from promotions.models import BonusGrant

    spins_per_worker = config.n(100, 10)
    game, sessions = setup(config, players, bonus=bonus)
    stake = game.min_stake
    versions_before = dict(BonusGrant.objects.values_list("id", "version"))

    def work(index: int, result: WorkerResult) -> None:
        session = sessions[index % len(sessions)]
        for _ in range(spins_per_worker):
            result.timed(services.spin, session=session, stake=stake, idempotency_key=uuid.uuid4().hex)

    pool = run_pool(work, config=config)
    versions_after = dict(BonusGrant.objects.values_list("id", "version"))
    staked = GameSession.objects.aggregate(bonus=Sum("bonus_staked"), all=Sum("total_staked"))
    for session in sessions:
        services.leave(session=session)
    return {
        "workers": config.workers,
        "players": players,
        "spins": pool.ops,
        "elapsed_s": round(pool.elapsed, 2),
        "spins_per_s": round(pool.throughput(), 1),
        **pool.latency_ms(),
        "worker_cpu_ms_per_spin": pool.cpu_ms_per(pool.ops),
        "account_conflicts": count(pool.counts, "conflict", "accounts.account"),
        "session_conflicts": count(pool.counts, "conflict", "casino.gamesession"),
        "session_retries": count(pool.counts, "retry", "casino.gamesession"),
        "failed": sum(pool.errors.values()),
        "errors": pool.errors,
        "bonus_staked": str(staked["bonus"] or Decimal("0.00")),
        "total_staked": str(staked["all"] or Decimal("0.00")),
        "grants": len(versions_before),
        "grant_writes": sum(versions_after.get(pk, v) != v for pk, v in versions_before.items()),
    }


def run(config: Config, *, players: int | None = None) -> dict:
    """The plain storm, then the bonus one, then in the opposite order (A B B A): on this noisy
    machine a fixed order measured the drift between the two runs (0.79 and 0.93 in two
    consecutive full runs of the same code), so each figure is the mean of its two runs."""
    players = players or config.workers
    first, bonus_first = storm(config, players), storm(config, players, bonus=True)
    bonus_second, second = storm(config, players, bonus=True), storm(config, players)
    plain, with_bonus = dict(first), dict(bonus_first)
    plain["spins_per_s"] = round((first["spins_per_s"] + second["spins_per_s"]) / 2, 1)
    with_bonus["spins_per_s"] = round((bonus_first["spins_per_s"] + bonus_second["spins_per_s"]) / 2, 1)
    with_bonus["runs_spins_per_s"] = [bonus_first["spins_per_s"], bonus_second["spins_per_s"]]
    plain["runs_spins_per_s"] = [first["spins_per_s"], second["spins_per_s"]]
    ratio = with_bonus["spins_per_s"] / plain["spins_per_s"] if plain["spins_per_s"] else None
    return {**plain, "bonus": with_bonus, "bonus_ratio": None if ratio is None else round(ratio, 3)}
