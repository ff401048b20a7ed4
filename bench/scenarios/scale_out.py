"""scale_out: 2 web processes and 2 Celery workers against the same database.

Two gunicorn instances (each half the workers of the ``http`` scenario's
one), the load generator spreading its clients round-robin over both (the
load balancer), spinning over HTTP; meanwhile other players leave their
sessions at a steady rate and two Celery workers (solo pool, ``payouts`` and
``default`` queues) pay their queued sportsbet winnings. Reported: spins/s and
p99 over HTTP, payout latency under that load, and the CPU share of each
tier (which one saturates first is the next bottleneck).
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal

from bench.celery_worker import Worker
from bench.common import Config, demo_game, make_players, percentile, reset_data
from bench.scenarios.http import WEB_THREADS, WEB_WORKERS, measure, prepare
from bench.web import CpuMeter, Gunicorn, bench_backends, process_tree
from casino import services
from casino.models import GameSession, Payout
from casino.services.sportsbook import create_match_event

LEAVE_RATE = 10.0


@dataclass
class Leavers:
    """Players who will leave a game session while the load runs, each with a winning bet queued to pay
    once the match is settled (``settle``): the payouts the Celery workers pay under load."""

    players: list
    sessions: list
    event: object
    market: object
    home: object

    def settle(self) -> None:
        services.settle_event(event=self.event, result={self.market.pk: self.home.pk})


def prepare_leavers(seconds: float) -> Leavers:
    game = demo_game()
    players = make_players(int(seconds * LEAVE_RATE), prefix="leaver", deposit=Decimal("50.00"))
    event = create_match_event(name="Scale match", home="Home", away="Away", odds=("2.00", "3.00", "4.00"))
    market = event.markets.get()
    home = market.selections.order_by("id").first()
    sessions = []
    for player in players:
        services.place_sportsbet(player=player, selection=home, stake=Decimal("5.00"), idempotency_key=uuid.uuid4().hex)
        sessions.append(services.open_session(player=player, game=game))
    return Leavers(players, sessions, event, market, home)


def leave_steadily(sessions: list) -> None:
    """Leave the sessions one after another, LEAVE_RATE a second."""
    t0 = time.monotonic()
    for i, session in enumerate(sessions):
        delay = t0 + i / LEAVE_RATE - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        services.leave(session=session)


def wait_for_payouts(timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while Payout.objects.filter(state=Payout.State.QUEUED).exists() and time.monotonic() < deadline:
        time.sleep(0.1)


def payout_latencies(players: list) -> list[float]:
    """Seconds from each player's leave to their payout being paid."""
    closed = dict(GameSession.objects.filter(player__in=players).values_list("player_id", "closed_at"))
    return [
        (paid_at - closed[pid]).total_seconds()
        for pid, paid_at in Payout.objects.filter(state=Payout.State.PAID, player__in=players).values_list(
            "player_id", "paid_at"
        )
    ]


def run(config: Config) -> dict:
    seconds = 4 if config.quick else 12
    reset_data()
    specs = prepare(config, config.workers, with_codes=False)
    leavers = prepare_leavers(seconds)
    sessions = leavers.sessions
    webs = [Gunicorn(workers=WEB_WORKERS // 2, threads=WEB_THREADS).start() for _ in range(2)]
    workers = [Worker(concurrency=1).start() for _ in range(2)]
    try:
        leavers.settle()
        time.sleep(1.0)
        meter = CpuMeter(
            {
                "web": lambda: [p for w in webs for p in process_tree(w.process.pid)],
                "celery": lambda: [p for w in workers for p in process_tree(w.process.pid)],
                "postgres": bench_backends,
            }
        )
        result: dict = {}
        load = threading.Thread(
            target=lambda: result.update(measure("spin", specs, [w.base for w in webs], seconds, meter))
        )
        load.start()
        time.sleep(2.0 + 0.05 * len(specs))  # the load generator's warm-up
        leave_steadily(sessions)
        load.join()
        wait_for_payouts()
    finally:
        for w in workers:
            w.stop()
        for w in webs:
            w.stop()
    latencies = payout_latencies(leavers.players)
    return {
        "web": f"2 gunicorn, {WEB_WORKERS // 2} workers x {WEB_THREADS} threads each",
        "celery": "2 workers, solo pool",
        "spin_rps": result.get("ok_rps"),
        "spin_p50_ms": result.get("p50_ms"),
        "spin_p99_ms": result.get("p99_ms"),
        "spin_errors": result.get("errors"),
        "cpu_seconds": result.get("cpu_seconds", {}),
        "cpu_share": result.get("cpu_share", {}),
        "payouts": len(sessions),
        "paid": len(latencies),
        "left_queued": Payout.objects.filter(state=Payout.State.QUEUED).count(),
        "payout_p50_s": None if not latencies else round(percentile(latencies, 50), 3),
        "payout_p99_s": None if not latencies else round(percentile(latencies, 99), 3),
    }
