"""http: the spin and redeem endpoints under load from a separate process, next to a
trivial Django view on the same gunicorn (same middleware, no database work).

One client per worker (32 by default), each a logged-in player on one
keep-alive connection: spin POSTs to the player's open, fed session;
redeem POSTs a new unlimited code each time (every request grants a bonus).
Reported: requests/s, p50/p99 and errors per endpoint, and each app endpoint
as a ratio of the trivial view's requests/s, plus where the CPU went.
"""

from __future__ import annotations

import os
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from bench.common import Config, demo_game, make_players, reset_data
from bench.web import CpuMeter, Gunicorn, bench_backends, process_tree, run_loadgen, session_cookie
from casino import services
from promotions.models import PromotionCode
from promotions.services import codes

WEB_WORKERS, WEB_THREADS = 4, 2


def prepare(config: Config, clients: int, *, with_codes: bool = True) -> list[dict]:
    game = demo_game()
    players = make_players(clients, prefix="http", deposit=Decimal("5000.00"))
    now = timezone.now()
    issued = []
    if with_codes:
        issued = codes.issue_codes_bulk(
            count=config.n(1500, 150),
            prefix="HTTP",
            campaign="bench",
            reward_kind=PromotionCode.RewardKind.BONUS,
            bonus_amount=Decimal("1.00"),
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(days=1),
        )
    code_names = [c.code for c in issued]
    specs = []
    for player in players:
        session = services.open_session(player=player, game=game)
        services.feed(session=session, amount=Decimal("4000.00"), idempotency_key=f"seed-{session.pk}")
        specs.append(
            {
                "sessionid": session_cookie(player),
                "session": session.pk,
                "stake": str(game.min_stake),
                "codes": code_names,
            }
        )
    return specs


def measure(kind: str, specs: list[dict], bases: list[str], seconds: float, meter: CpuMeter | None = None) -> dict:
    plan = {
        "kind": kind,
        "bases": bases,
        "seconds": seconds,
        "procs": 2,
        "warmup_path": "/sessions/{session}/" if kind == "spin" else "/redeem/",
        "clients": specs,
    }
    if meter:
        meter.start()
    figures, _ = run_loadgen(plan)
    if meter:
        used = meter.stop()
        used["loadgen"] = figures.pop("cpu_s")
        capacity = figures["elapsed_s"] * (os.cpu_count() or 1)
        figures["cpu_seconds"] = used
        figures["cpu_share"] = {k: f"{v / capacity:.0%}" for k, v in used.items()} if capacity else {}
    return figures


def run(config: Config) -> dict:
    seconds = 3 if config.quick else 10
    reset_data()
    specs = prepare(config, config.workers)
    web = Gunicorn(workers=WEB_WORKERS, threads=WEB_THREADS).start()
    try:
        meter = CpuMeter({"web": lambda: process_tree(web.process.pid), "postgres": bench_backends})
        out = {"web": f"1 gunicorn, {WEB_WORKERS} workers x {WEB_THREADS} threads", "clients": len(specs)}
        for kind in ("trivial", "spin", "redeem"):
            out[kind] = measure(kind, specs, [web.base], seconds, meter)
    finally:
        web.stop()
    return out
