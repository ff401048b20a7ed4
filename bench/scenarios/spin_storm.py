"""spin_storm: P players x S spins with W workers, through ``casino.services.spin``.

Each worker plays one player's open, fed session (P = W by default: one
player per worker, like a real player who cannot click two buttons at once;
``--players`` lower than the worker count puts several workers on one
session and shows session conflicts). Spins never touch the account, so
account conflicts must be 0.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from bench.common import Config, WorkerResult, count, demo_game, make_players, reset_data, run_pool
from casino import services


def setup(config: Config, players: int):
    from casino.models import GameSession

    reset_data()
    game = demo_game()
    users = make_players(players, prefix="spin", deposit=Decimal("5000.00"))
    sessions = []
    for user in users:
        session = services.open_session(player=user, game=game)
        services.feed(session=session, amount=Decimal("4000.00"), idempotency_key=f"seed-{session.pk}")
        sessions.append(session.pk)
    return game, [GameSession(pk=pk) for pk in sessions]


def run(config: Config, *, players: int | None = None) -> dict:
    players = players or config.workers
    spins_per_worker = config.n(100, 10)
    game, sessions = setup(config, players)
    stake = game.min_stake

    def work(index: int, result: WorkerResult) -> None:
        session = sessions[index % len(sessions)]
        for _ in range(spins_per_worker):
            result.timed(services.spin, session=session, stake=stake, idempotency_key=uuid.uuid4().hex)

    pool = run_pool(work, config=config)
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
    }
