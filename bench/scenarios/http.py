"""http: the spin and redeem endpoints under load from a separate process, each next to
its yardstick, on the same gunicorn in the same run (issue 14).

Measured one after the other on one gunicorn (4 workers x 2 threads, persistent
database connections): the trivial view (no database), the raw-spin yardstick,
the htmx spin (``session_spin``), the raw-redeem yardstick and the htmx redeem
(``redeem``). The yardsticks (``bench/urls.py``) are the fastest answer this stack
can give: same login (database sessions), CSRF and form fields as the real
endpoints, then one SQL statement doing the whole write and a ~200-byte fragment.

One client per worker (32 by default), each a logged-in player on one
keep-alive connection: spin POSTs to the player's open, fed session; redeem
POSTs a new unlimited code each time (every request grants a bonus; the raw
yardstick has its own codes). Then one client alone, no contention: the spin
latency p50 (and the raw spin's, for scale).

Reported: requests/s, p50/p99 and errors per endpoint, each endpoint as a ratio
of its yardstick and of the trivial view, where the CPU went, and whether the
ledger still reconciles afterwards (the yardsticks write valid books).
"""

from __future__ import annotations

import os
from datetime import timedelta
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone

from bench.common import Config, demo_game, make_players, reset_data
from bench.web import CpuMeter, Gunicorn, bench_backends, process_tree, run_loadgen, session_cookie
from casino import services
from promotions.models import PromotionCode
from promotions.services import codes

WEB_WORKERS, WEB_THREADS = 4, 2
KINDS = ("trivial", "raw_spin", "spin", "raw_redeem", "redeem")
WARMUP = {"trivial": "redeem", "redeem": "redeem", "raw_redeem": "redeem"}  # others: the session page


def shared_paths() -> dict[str, str]:
    """The paths every client uses, by URL name (the load generator imports no Django)."""
    return {"trivial": reverse("bench_trivial"), "redeem": reverse("redeem"), "raw_redeem": reverse("bench_raw_redeem")}


def _issue(config: Config, prefix: str, count: int) -> list[str]:
    now = timezone.now()
    issued = codes.issue_codes_bulk(
        count=config.n(count, count // 10),
        prefix=prefix,
        campaign="bench",
        reward_kind=PromotionCode.RewardKind.BONUS,
        bonus_amount=Decimal("1.00"),
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=1),
    )
    return [c.code for c in issued]


def prepare(config: Config, clients: int, *, with_codes: bool = True) -> list[dict]:
    game = demo_game()
    players = make_players(clients, prefix="http", deposit=Decimal("5000.00"))
    # Each client redeems every code of its list once, in order (a new unlimited code per request).
    code_names = _issue(config, "HTTP", 1500) if with_codes else []
    raw_names = _issue(config, "RAW", 3000) if with_codes else []
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
                "raw_codes": raw_names,
                "paths": {
                    "spin": reverse("session_spin", args=[session.pk]),
                    "raw_spin": reverse("bench_raw_spin", args=[session.pk]),
                    "page": reverse("session_detail", args=[session.pk]),
                },
            }
        )
    return specs


def measure(
    kind: str,
    specs: list[dict],
    bases: list[str],
    seconds: float,
    meter: CpuMeter | None = None,
    *,
    requests_per_client: int | None = None,
) -> dict:
    plan = {
        "kind": kind,
        "bases": bases,
        "seconds": seconds,
        "procs": min(2, len(specs)),
        "paths": shared_paths(),
        "warmup": WARMUP.get(kind, "page"),
        "clients": specs,
    }
    if requests_per_client is not None:
        plan["requests_per_client"] = requests_per_client
    if meter:
        meter.start()
    figures, _ = run_loadgen(plan)
    cpu = figures.pop("cpu_s")
    if meter:
        used = meter.stop()
        used["loadgen"] = cpu
        capacity = figures["elapsed_s"] * (os.cpu_count() or 1)
        figures["cpu_seconds"] = used
        figures["cpu_share"] = {k: f"{v / capacity:.0%}" for k, v in used.items()} if capacity else {}
    return figures


def reconciles() -> bool:
    """The books after the run: every transaction balanced, every stored balance = its entries."""
    from accounts.reconcile import reconcile

    return reconcile().ok


def run(config: Config) -> dict:
    seconds = 3 if config.quick else 10
    reset_data()
    specs = prepare(config, config.workers)
    web = Gunicorn(workers=WEB_WORKERS, threads=WEB_THREADS).start()
    try:
        meter = CpuMeter({"web": lambda: process_tree(web.process.pid), "postgres": bench_backends})
        out = {"web": f"1 gunicorn, {WEB_WORKERS} workers x {WEB_THREADS} threads", "clients": len(specs)}
        for kind in KINDS:
            out[kind] = measure(kind, specs, [web.base], seconds, meter)
        # One client, no contention: what one player waits for a spin.
        out["spin_1client"] = measure("spin", specs[:1], [web.base], seconds)
        out["raw_spin_1client"] = measure("raw_spin", specs[:1], [web.base], seconds)
        # The floor under both: one request through this gunicorn and load generator with no database.
        out["trivial_1client"] = measure("trivial", specs[:1], [web.base], seconds)
    finally:
        web.stop()
    out["ledger_reconciles"] = reconciles()
    return out
