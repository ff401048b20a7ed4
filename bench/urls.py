"""The app's URLs plus the HTTP scenario's yardsticks, served by the same gunicorn,
middleware and process as the app's endpoints:

- ``bench/trivial/``: no database work at all (the stack's ceiling);
- ``bench/raw-spin/<session id>/`` and ``bench/raw-redeem/``: the fastest answer
  this stack can give to a spin and to a redemption (issue 14). POST,
  ``login_required`` (database sessions) and CSRF exactly as the real endpoints,
  so the load generator posts to them the same way; then ONE SQL statement (a
  CTE doing the whole write: no ORM, no retry loop, no savepoint) and a ~200-byte
  fragment (no template).

The yardsticks keep the books valid (``manage.py reconcile`` passes on the
bench database): every money movement is one balanced ledger transaction with
the service's idempotency key, written in the statement that moves the balance.
They take the same decisions as the services in SQL (the session is the
player's and open, the stake is within the game's range and the balance, no
active self-exclusion or break; the code is active, unlimited, a bonus, and not
redeemed yet by this player), but a refusal is one 422 without saying which
check failed. Never used by the app.
"""

from decimal import Decimal, InvalidOperation

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpResponse
from django.urls import include, path
from django.utils.html import escape
from django.views.decorators.http import require_http_methods

# A losing spin (win 0): stake from the session to the house. Versioned update of the
# session (version + 1 under its row lock: no read-then-write, so no conflict to retry),
# the spin row, the ledger transaction and its two entries, in one statement.
RAW_SPIN_SQL = """
WITH s AS (
    UPDATE casino_gamesession gs
       SET version = gs.version + 1,
           balance = gs.balance - %(stake)s,
           total_staked = gs.total_staked + %(stake)s,
           spin_count = gs.spin_count + 1,
           last_activity_at = now()
      FROM casino_game g
     WHERE gs.id = %(session)s AND gs.player_id = %(player)s AND gs.status = 'open'
       AND g.id = gs.game_id AND %(stake)s BETWEEN g.min_stake AND g.max_stake
       AND gs.balance >= %(stake)s
       AND NOT EXISTS (
           SELECT 1 FROM accounts_selfexclusion x
            WHERE x.player_id = %(player)s AND x.starts_at <= now() AND x.ends_at > now())
 RETURNING gs.id, gs.balance, g.name, gs.created_at
), sp AS (
    INSERT INTO casino_spin
           (created_at, updated_at, session_id, session_month, idempotency_key, stake, win, boost, stops, symbols,
            balance_after, free_spin)
    SELECT now(), now(), s.id, date_trunc('month', s.created_at AT TIME ZONE 'UTC')::date, %(key)s, %(stake)s, 0, 0,
           '[0, 0, 0]', '["raw", "raw", "raw"]', s.balance, false
      FROM s
 RETURNING id, session_id
), tx AS (
    INSERT INTO accounts_ledgertransaction (kind, idempotency_key, reference, description, created_at, updated_at)
    SELECT 'spin', 'spin:' || sp.session_id || ':' || %(key)s, 'spin:' || sp.id, 'Spin on ' || s.name, now(), now()
      FROM sp, s
 RETURNING id
), legs AS (
    INSERT INTO accounts_ledgerentry (transaction_id, account, amount, created_at, updated_at)
    SELECT tx.id, leg.account, leg.amount, now(), now()
      FROM tx, (VALUES ('session:' || %(session)s, -%(stake)s::numeric),
                       ('system:house', %(stake)s::numeric)) AS leg(account, amount)
)
SELECT sp.id, s.balance FROM sp, s
"""

# An unlimited bonus code: the code row share-locked as the service does (a concurrent
# deactivation waits), the redemption (the (code, player) unique constraint decides), the
# account's versioned balance update, the ledger transaction and its two entries.
RAW_REDEEM_SQL = """
WITH c AS (
    SELECT id, code, bonus_amount FROM promotions_promotioncode
     WHERE upper(code) = %(code)s AND is_active AND starts_at <= now() AND ends_at > now()
       AND reward_kind = 'bonus' AND limit_policy = 'unlimited'
       AND NOT EXISTS (
           SELECT 1 FROM accounts_selfexclusion x
            WHERE x.player_id = %(player)s AND x.starts_at <= now() AND x.ends_at > now())
       FOR SHARE
), r AS (
    INSERT INTO promotions_redemption
           (created_at, updated_at, code_id, player_id, reward_kind, bonus_amount, free_spins_count)
    SELECT now(), now(), c.id, %(player)s, 'bonus', c.bonus_amount, 0 FROM c
        ON CONFLICT (code_id, player_id) DO NOTHING
 RETURNING id, bonus_amount
), a AS (
    UPDATE accounts_account SET version = version + 1, balance = balance + r.bonus_amount
      FROM r WHERE user_id = %(player)s
 RETURNING balance
), tx AS (
    INSERT INTO accounts_ledgertransaction (kind, idempotency_key, reference, description, created_at, updated_at)
    SELECT 'redemption', 'redemption:' || c.code || ':' || %(player)s, 'redemption:' || r.id,
           'Promotion code ' || c.code, now(), now()
      FROM r, c, a
 RETURNING id
), legs AS (
    INSERT INTO accounts_ledgerentry (transaction_id, account, amount, created_at, updated_at)
    SELECT tx.id, leg.account, leg.amount, now(), now()
      FROM tx, r, LATERAL (VALUES ('player:' || %(player)s, r.bonus_amount),
                                  ('system:promotions', -r.bonus_amount)) AS leg(account, amount)
)
SELECT r.id, a.balance, c.code, r.bonus_amount FROM r, a, c
"""


@require_http_methods(["GET"])
def trivial(request):
    return HttpResponse("ok", content_type="text/plain")


def _fragment(body: str, status: int = 200) -> HttpResponse:
    return HttpResponse(body, status=status, content_type="text/html; charset=utf-8")


@login_required
@require_http_methods(["POST"])
def raw_spin(request, pk: int):
    """Yardstick: one losing spin as one statement (same form fields as ``session_spin``)."""
    try:
        stake = Decimal(request.POST.get("spin-stake", ""))
    except InvalidOperation:
        return _fragment('<p class="error">Enter a stake.</p>', 422)
    key = request.POST.get("spin-idempotency_key", "")[:64]
    if not key or not stake.is_finite() or stake <= 0:
        return _fragment('<p class="error">A stake and a key are needed.</p>', 422)
    with connection.cursor() as cur:
        cur.execute(RAW_SPIN_SQL, {"session": pk, "player": request.user.pk, "stake": stake, "key": key})
        row = cur.fetchone()
    if row is None:
        return _fragment('<p class="error">Spin refused: not your open session, or the stake is out of range.</p>', 422)
    spin_id, balance = row
    return _fragment(
        f'<div id="play" class="raw"><p class="reels">raw &middot; raw &middot; raw</p>'
        f'<p class="result">Spin #{spin_id}: stake {stake}, no win this time.</p>'
        f'<p class="balance">Session balance <strong>{balance}</strong></p></div>'
    )


@login_required
@require_http_methods(["POST"])
def raw_redeem(request):
    """Yardstick: one unlimited bonus code redeemed as one statement (same form field as ``redeem``)."""
    code = "".join(request.POST.get("code", "").split()).upper()[:40]
    if not code:
        return _fragment('<p class="error">Enter a code.</p>', 422)
    with connection.cursor() as cur:
        cur.execute(RAW_REDEEM_SQL, {"code": code, "player": request.user.pk})
        row = cur.fetchone()
    if row is None:
        return _fragment(f'<p class="error">{escape(code)}: unknown, inactive or already redeemed.</p>', 422)
    redemption_id, balance, code, amount = row
    return _fragment(
        f'<div id="redeem-panel" class="raw"><p class="ok">{escape(code)} redeemed: {amount} bonus money '
        f'(redemption #{redemption_id}).</p><p class="balance">Account balance <strong>{balance}</strong></p></div>'
    )


urlpatterns = [
    path("bench/trivial/", trivial, name="bench_trivial"),
    path("bench/raw-spin/<int:pk>/", raw_spin, name="bench_raw_spin"),
    path("bench/raw-redeem/", raw_redeem, name="bench_raw_redeem"),
    path("", include("casino.urls")),
]
