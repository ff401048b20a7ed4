"""promo_storm: N players x one code, per limit policy, through ``promotions.services.redeem``.

Every player is tried once, and one in ten a second time by another worker,
in a shuffled order (so those players race themselves): a second redemption
must be refused by the (code, player) unique constraint. Policies: ``unlimited``; ``overbook`` and
``strict`` with a limit of half the players; and the single-row-lock
baseline (``bench.baselines.redeem_with_code_lock``: ``SELECT … FOR UPDATE`` on the code,
then count) with the same limit.

Reported per policy: redemptions/s (granted), attempts/s (every decision,
grant or refusal, over the whole storm), duplicates (a player with more than
one redemption or more than one bonus credit: must be 0), overshoot
(redemptions beyond the limit: 0 for strict and the baseline, bounded and
reported for overbook), and optimistic retries.
"""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

from django.db.models import Count
from django.utils import timezone

from accounts.models import LedgerTransaction, User
from bench import baselines
from bench.common import Config, WorkerResult, make_players, reset_data, run_pool
from promotions.models import PromotionCode, Redemption
from promotions.services import codes

DUPLICATE_SHARE = 10  # one player in 10 is tried twice (by two workers)
POLICIES = {
    "unlimited": (PromotionCode.LimitPolicy.UNLIMITED, codes.redeem),
    "overbook": (PromotionCode.LimitPolicy.OVERBOOK, codes.redeem),
    "strict": (PromotionCode.LimitPolicy.STRICT, codes.redeem),
    "baseline_lock": (PromotionCode.LimitPolicy.OVERBOOK, baselines.redeem_with_code_lock),
}


def run(config: Config) -> dict:
    players = config.n(2000, 200)
    out = {"players": players, "workers": config.workers}
    for name, (policy, service) in POLICIES.items():
        out[name] = _storm(config, name=name, policy=policy, service=service, players=players)
    return out


def _storm(config: Config, *, name: str, policy: str, service, players: int) -> dict:
    reset_data()
    users = make_players(players, prefix="promo")
    limit = None if policy == PromotionCode.LimitPolicy.UNLIMITED else players // 2
    now = timezone.now()
    code = f"STORM{name.upper().replace('_', '')}"
    codes.issue_code(
        code=code,
        reward_kind=PromotionCode.RewardKind.BONUS,
        bonus_amount=Decimal("5.00"),
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=1),
        limit_policy=policy,
        limit=limit,
    )
    rng = random.Random(config.seed)
    twice = rng.sample([u.pk for u in users], max(1, players // DUPLICATE_SHARE))
    attempts = [u.pk for u in users] + twice
    rng.shuffle(attempts)
    # The two tries of one player land on different workers (and usually processes).
    slices = [attempts[i :: config.workers] for i in range(config.workers)]

    def work(index: int, result: WorkerResult) -> None:
        granted = refused = 0
        for player_id in slices[index]:
            value = result.timed(service, player=User(pk=player_id), code=code)
            if isinstance(value, Redemption):
                granted += 1
            else:
                refused += 1
        result.extra.update(granted=granted, refused=refused)

    pool = run_pool(work, config=config)
    redeemed = Redemption.objects.filter(code__code=code).count()
    duplicate_rows = (
        Redemption.objects.filter(code__code=code).values("player").annotate(n=Count("id")).filter(n__gt=1).count()
    )
    credits = LedgerTransaction.objects.filter(idempotency_key__startswith=f"redemption:{code}:").count()
    attempts_made = sum(r.extra.get("granted", 0) + r.extra.get("refused", 0) for r in pool.results)
    # Every attempt gets a decision; errors from the domain (AlreadyRedeemed, LimitReached) are refusals.
    domain_refusals = {k: v for k, v in pool.errors.items() if k in ("AlreadyRedeemed", "LimitReached")}
    unexpected = {k: v for k, v in pool.errors.items() if k not in domain_refusals}
    return {
        "policy": policy,
        "limit": limit,
        "attempts": attempts_made,
        "redeemed": redeemed,
        "elapsed_s": round(pool.elapsed, 2),
        "redemptions_per_s": round(redeemed / pool.elapsed, 1) if pool.elapsed else None,
        "attempts_per_s": round(attempts_made / pool.elapsed, 1) if pool.elapsed else None,
        "worker_cpu_ms_per_attempt": pool.cpu_ms_per(attempts_made),
        "p50_ms": _pct(pool, 50),
        "p99_ms": _pct(pool, 99),
        "refusals": domain_refusals,
        "unexpected_errors": unexpected,
        "duplicates": duplicate_rows + max(0, credits - redeemed),
        "overshoot": max(0, redeemed - limit) if limit else 0,
        "retries": sum(v for k, v in pool.counts.items() if k.startswith("retry:")),
    }


def _pct(pool, p):
    from bench.common import ms, percentile

    return ms(percentile(pool.latencies, p))
