"""pg_limit: PostgreSQL's own ceiling for the same work, on this machine, in this run.

The SQL of one spin (``casino.services.spin``) and of one redemption
(``promotions.services.redeem``, unlimited bonus code) is captured from the
app itself (``bench/capture.py``) and replayed by ``pgbench`` with the same
statements and transaction shape (BEGIN/COMMIT, savepoints, the versioned
UPDATE reading the version its SELECT saw), one pgbench client per worker
(the same concurrency as the app scenarios). Plus two one-row updates: one
hot row (every client on the same account) and spread rows (random accounts).

Issue 14: the two limit designs replayed the same way, each from its own
captured SQL, for the same players and the same number of redemptions: a
``strict`` redemption (``promotions.services.redeem``: claims a free limit
token with ``FOR UPDATE SKIP LOCKED``) and the single-row-lock baseline
(``bench.baselines.redeem_with_code_lock``: ``SELECT … FOR UPDATE`` on the code
row, count its redemptions, insert). Both codes have room for every replayed
redemption (a limit above the total), so each transaction grants and the ratio
compares the locking designs, not refusals.

The generated scripts are written to ``bench/pgbench/``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db import connections
from django.utils import timezone

from bench import baselines
from bench.capture import capture, to_pgbench
from bench.common import Config, demo_game, make_players, reset_data, set_sequences
from casino import services
from casino.models import GameSession
from promotions.models import PromotionCode
from promotions.services import codes

SCRIPTS = Path(__file__).resolve().parent.parent / "pgbench"
CODE = "PGLIMIT"
STRICT_CODE = "PGSTRICT"
LOCK_CODE = "PGLOCK"
# Distinctive id ranges for each capture (sequences only move up in a run).
REDEEM_IDS = {"unlimited": 8_000_000, "strict": 9_000_000, "lock": 10_000_000}
TOKEN_IDS = 11_000_001


def pgbench_binary() -> str:
    found = shutil.which("pgbench")
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench"), reverse=True):
        return str(candidate)
    raise RuntimeError("pgbench not found: apt-get install postgresql-client (or postgresql-contrib)")


def run(config: Config) -> dict:
    clients = config.workers
    seconds = 10 if not config.quick else 4
    reset_data()
    game = demo_game()
    # The sessions the replay spins on: one per client, like spin_storm's one per worker.
    spinners = make_players(clients, prefix="pgspin", deposit=Decimal("5000.00"))
    sessions = [services.open_session(player=p, game=game) for p in spinners]
    for s in sessions:
        services.feed(session=s, amount=Decimal("4000.00"), idempotency_key=f"seed-{s.pk}")
    if [s.pk for s in sessions] != list(range(sessions[0].pk, sessions[0].pk + clients)):
        raise RuntimeError("bench sessions are not contiguous ids")
    per_client = config.n(600, 60)
    redeemers = make_players(clients * per_client, prefix="pgredeem")
    pids = [p.pk for p in redeemers]
    if pids != list(range(pids[0], pids[0] + len(pids))):
        raise RuntimeError("bench players are not contiguous ids")
    now = timezone.now()
    window = {"starts_at": now - timedelta(hours=1), "ends_at": now + timedelta(days=1)}
    bonus = {"reward_kind": PromotionCode.RewardKind.BONUS, "bonus_amount": Decimal("5.00")}
    codes.issue_code(code=CODE, **bonus, **window)
    room = len(pids) + 10  # every replayed redemption (and the captured one) is granted
    set_sequences({"promotions_limittoken": TOKEN_IDS})
    codes.issue_code(code=STRICT_CODE, limit_policy=PromotionCode.LimitPolicy.STRICT, limit=room, **bonus, **window)
    codes.issue_code(code=LOCK_CODE, limit_policy=PromotionCode.LimitPolicy.OVERBOOK, limit=room, **bonus, **window)

    spin_sql, spin_won = _capture_spin(game)
    (SCRIPTS / "spin.sql").write_text(spin_sql)
    (SCRIPTS / "redeem.sql").write_text(
        _capture_redeem(codes.redeem, CODE, "promotions.services.redeem (unlimited bonus code)", "unlimited")
    )
    (SCRIPTS / "redeem_strict.sql").write_text(
        _capture_redeem(
            codes.redeem, STRICT_CODE, "promotions.services.redeem (strict bonus code: limit token)", "strict"
        )
    )
    (SCRIPTS / "redeem_lock.sql").write_text(
        _capture_redeem(
            baselines.redeem_with_code_lock, LOCK_CODE,
            "bench.baselines.redeem_with_code_lock (the single-row-lock baseline)", "lock",
        )
    )  # fmt: skip
    (SCRIPTS / "hot_update.sql").write_text(
        "-- one hot row: every client updates the same account (version bump, as versioned_update does)\n"
        "UPDATE accounts_account SET version = version + 1, updated_at = now() WHERE id = :hot;\n"
    )
    (SCRIPTS / "spread_update.sql").write_text(
        "-- spread rows: each transaction updates a random account\n"
        "\\set aid random(:amin, :amax)\n"
        "UPDATE accounts_account SET version = version + 1, updated_at = now() WHERE id = :aid;\n"
    )
    from accounts.models import Account

    account_ids = list(Account.objects.order_by("id").values_list("id", flat=True))
    run_id = uuid.uuid4().int % 1_000_000_000
    common = {"run": run_id, "n": 0, "nclients": clients}
    connections.close_all()
    out = {"clients": clients, "seconds": seconds, "spin_captured_won": spin_won}
    out["spin"] = _pgbench(
        "spin.sql", clients, {**common, "smin": sessions[0].pk}, duration=seconds,
        what="replay of one spin's captured SQL (1 session per client)",
    )  # fmt: skip
    out["redeem"] = _pgbench(
        "redeem.sql", clients, {**common, "pmin": pids[0]}, transactions=per_client,
        what="replay of one redemption's captured SQL (a new player each time)",
    )  # fmt: skip
    for name, what in (
        ("redeem_strict", "replay of one strict redemption's captured SQL (free limit token, SKIP LOCKED)"),
        ("redeem_lock", "replay of the single-row-lock baseline's captured SQL (FOR UPDATE on the code, count)"),
    ):
        out[name] = _pgbench(f"{name}.sql", clients, {**common, "pmin": pids[0]}, transactions=per_client, what=what)
    out["hot_update"] = _pgbench(
        "hot_update.sql", clients, {"hot": account_ids[0]}, duration=seconds, what="one row, every client"
    )
    out["spread_update"] = _pgbench(
        "spread_update.sql", clients, {"amin": account_ids[0], "amax": account_ids[-1]}, duration=seconds,
        what=f"random row of {len(account_ids)} accounts",
    )  # fmt: skip
    return out


def _capture_spin(game) -> tuple[str, bool]:
    """One spin on a session with distinctive ids; a losing spin (the common case) is kept."""
    from accounts.models import LedgerTransaction

    set_sequences({"accounts_user": 7100001, "accounts_account": 7200001, "casino_gamesession": 7300001})
    (player,) = make_players(1, prefix="capture", deposit=Decimal("100.00"))
    session = services.open_session(player=player, game=game)
    services.feed(session=session, amount=Decimal("90.00"), idempotency_key="capture-feed")
    # One spin first, not captured: the steady state (per-process caches warm), not a first spin.
    services.spin(session=GameSession(pk=session.pk), stake=game.min_stake, idempotency_key="capturewarmup")
    set_sequences({"casino_spin": 7400001, "accounts_ledgertransaction": 7500001, "accounts_ledgerentry": 7600001})
    for attempt in range(30):
        key = f"capturekey{attempt:04d}"
        spin, statements = capture(
            services.spin, session=GameSession(pk=session.pk), stake=game.min_stake, idempotency_key=key
        )
        if spin.win == 0:
            break
    tx = LedgerTransaction.objects.filter(pk__gte=7500001).order_by("-pk").first()  # the captured spin's
    tokens = {
        str(session.pk): ":sid",
        key: "'k' || :run || '-' || :client_id || '-' || :n",
        str(spin.pk): ":casino_spin_id",
        str(tx.pk): ":accounts_ledgertransaction_id",
    }
    header = [
        f"Captured from casino.services.spin (stake {game.min_stake}, {'winning' if spin.win else 'losing'} spin)",
        "by bench/scenarios/pg_limit.py; regenerated on every run. Variables: -D run=, n=0, smin=.",
    ]
    script = to_pgbench(
        statements, tokens=tokens, returning={"casino_spin", "accounts_ledgertransaction"}, header=header
    )
    # The spin's number (issue 17: the nonce, unique per session) follows the session as replayed,
    # not the captured literal: spin_count read by the first statement, + 1, in the UPDATE and the INSERT.
    nonce = "(:casino_gamesession_spin_count + 1)"
    script = re.sub(r'"spin_count" = \d+', f'"spin_count" = {nonce}', script)
    insert_tail = r"(, (?:true|false)), \d+(, [0-9.]+\) RETURNING \"casino_spin\")"  # free_spin, nonce, boost %
    script, replaced = re.subn(insert_tail, rf"\1, {nonce}\2", script)
    assert replaced == 1, "the captured spin INSERT no longer ends with free_spin, nonce, boost_percent"
    return "\\set n :n + 1\n\\set sid :smin + :client_id\n" + script, spin.win > 0


def _capture_redeem(service, code: str, what: str, ids: str) -> str:
    """One redemption of ``code`` by a new player through ``service``, as a pgbench script
    (a new player each replayed transaction, the same code)."""
    from accounts.models import LedgerTransaction
    from promotions.models import LimitToken, Redemption

    base = REDEEM_IDS[ids]
    set_sequences({"accounts_user": base + 100_001, "accounts_account": base + 200_001,
                   "promotions_redemption": base + 300_001, "accounts_ledgertransaction": base + 400_001})  # fmt: skip
    (player,) = make_players(1, prefix=f"capture-{ids}-")
    redemption, statements = capture(service, player=player, code=code)
    assert isinstance(redemption, Redemption)
    (tx_id,) = LedgerTransaction.objects.filter(pk__gt=base + 400_000).values_list("pk", flat=True)
    tokens = {
        str(player.pk): ":pid",
        str(player.account.pk): ":accounts_account_id",
        str(redemption.pk): ":promotions_redemption_id",
        str(tx_id): ":accounts_ledgertransaction_id",
    }
    token = LimitToken.objects.filter(redemption_id=redemption.pk).values_list("pk", flat=True).first()
    if token is not None:  # a strict code: the claimed token's id comes from the claiming SELECT
        tokens[str(token)] = ":promotions_limittoken_id"
    header = [
        f"Captured from {what}",
        "by bench/scenarios/pg_limit.py; regenerated on every run. Variables: -D n=0, pmin=, nclients=.",
    ]
    script = to_pgbench(
        statements,
        tokens=tokens,
        returning={"promotions_redemption", "accounts_ledgertransaction"},
        header=header,
        keep={r'^SELECT .*\bFROM "?promotions_limittoken"?\b.* FOR UPDATE': "promotions_limittoken_"},
    )
    return "\\set n :n + 1\n\\set pid :pmin + :client_id + :nclients * (:n - 1)\n" + script


def _pgbench(script: str, clients: int, variables: dict, *, what: str, duration=None, transactions=None) -> dict:
    db = settings.DATABASES["default"]
    cmd = [pgbench_binary(), "-n", "-M", "simple", "-c", str(clients), "-j", str(min(clients, os.cpu_count() or 2))]
    cmd += ["-T", str(duration)] if duration else ["-t", str(transactions)]
    for name, value in variables.items():
        cmd += ["-D", f"{name}={value}"]
    cmd += ["-f", str(SCRIPTS / script), db["NAME"]]
    env = os.environ | {
        "PGHOST": db.get("HOST") or "127.0.0.1",
        "PGPORT": str(db.get("PORT") or 5432),
        "PGUSER": db.get("USER") or "postgres",
    }
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    busy_before = _busy_cpu_seconds()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, check=False)
    busy = _busy_cpu_seconds() - busy_before
    text = done.stdout + done.stderr
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", text)
    latency = re.search(r"latency average = ([\d.]+) ms", text)
    failed = re.search(r"number of failed transactions: (\d+)", text)
    processed = re.search(r"number of transactions actually processed: (\d+)", text)
    if done.returncode != 0 or tps is None:
        raise RuntimeError(f"pgbench {script} failed ({done.returncode}):\n{text[-3000:]}")
    return {
        "tps": round(float(tps.group(1)), 1),
        "latency_avg_ms": float(latency.group(1)) if latency else None,
        "transactions": int(processed.group(1)) if processed else None,
        "failed": int(failed.group(1)) if failed else 0,
        # Whole-machine busy CPU per transaction (PostgreSQL + pgbench, and anything else running).
        "machine_cpu_ms_per_tx": round(busy * 1000 / int(processed.group(1)), 2) if processed else None,
        "what": what,
    }


def _busy_cpu_seconds() -> float:
    """Non-idle CPU seconds of the whole machine since boot (/proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")
