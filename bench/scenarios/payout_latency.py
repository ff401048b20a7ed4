"""payout_latency: from a player leaving the machine to the payout paid by a real Celery worker.

M players each hold a winning sportsbet whose event is settled while they sit
at a machine, so the payout is queued (the settlement's sweep skips them).
They then leave at a steady rate; ``leave`` enqueues ``pay_out_player`` on
commit and ONE worker (solo pool, ``payouts`` and ``default`` queues) pays.
Latency = ``Payout.paid_at`` - ``GameSession.closed_at``.
"""

from __future__ import annotations

import time
import uuid
from decimal import Decimal

from django.db.models import Count

from accounts.models import LedgerTransaction
from bench.celery_worker import Worker
from bench.common import Config, demo_game, make_players, percentile, reset_data
from casino import services
from casino.models import GameSession, Payout
from casino.services.sportsbook import create_match_event

LEAVE_RATE = 20.0  # leaves per second offered to the one worker


def run(config: Config) -> dict:
    players_n = config.n(300, 40)
    reset_data()
    game = demo_game()
    players = make_players(players_n, prefix="payout", deposit=Decimal("100.00"))
    event = create_match_event(name="Latency match", home="Home", away="Away", odds=("2.00", "3.00", "4.00"))
    market = event.markets.get()
    home = market.selections.order_by("id").first()
    sessions = []
    for player in players:
        services.place_sportsbet(player=player, selection=home, stake=Decimal("5.00"), idempotency_key=uuid.uuid4().hex)
        sessions.append(services.open_session(player=player, game=game))
    worker = Worker(concurrency=1).start()
    try:
        services.settle_event(event=event, result={market.pk: home.pk})
        time.sleep(1.0)  # the settlement's sweep runs and skips everybody (all at a machine)
        queued_before = Payout.objects.filter(state=Payout.State.QUEUED).count()
        t_start = time.monotonic()
        for i, session in enumerate(sessions):
            delay = t_start + i / LEAVE_RATE - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            services.leave(session=session)
        deadline = time.monotonic() + 120
        while Payout.objects.filter(state=Payout.State.QUEUED).exists() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        worker.stop()
    closed = dict(GameSession.objects.values_list("player_id", "closed_at"))
    latencies = [
        (paid_at - closed[player_id]).total_seconds()
        for player_id, paid_at in Payout.objects.filter(state=Payout.State.PAID).values_list("player_id", "paid_at")
    ]
    keys = [p.ledger_key for p in Payout.objects.all()]
    per_key = (
        LedgerTransaction.objects.filter(idempotency_key__in=keys).values("idempotency_key").annotate(n=Count("id"))
    )
    return {
        "payouts": len(keys),
        "queued_before_leaving": queued_before,
        "paid": len(latencies),
        "left_queued": Payout.objects.filter(state=Payout.State.QUEUED).count(),
        "paid_once": len(latencies) == len(keys)
        and all(row["n"] == 1 for row in per_key)
        and len(per_key) == len(keys),
        "leave_rate": LEAVE_RATE,
        "workers": 1,
        "p50_s": _round(percentile(latencies, 50)),
        "p99_s": _round(percentile(latencies, 99)),
        "max_s": _round(max(latencies, default=None)),
    }


def _round(value):
    return None if value is None else round(value, 3)
