"""Bonus money with wagering requirements (issue 16).

The money: a grant's bonus sits in ``bonus:<grant id>`` (``BonusGrant.balance``), paid in
from ``system:promotions``. Feeding a machine moves some of it into the session's own bonus
part (``sessionbonus:<id>``, from one grant: ``GameSession.bonus_source``); leaving moves
what is left back. Converting moves a grant's balance into the player's cash (the excess
over an optional cap back to the promotions pot); expiry, a player's forfeit and a staff
cancel move it back to the pot. The player's cash is never touched by any of these.

The wagering: a spin never writes a grant (no new hot row). The session adds up its
stakes x the game's contribution; leaving folds that into the player's grants, oldest
first, inside the cash-out's transaction (``fold_session``, on ``casino.hooks.session_closed``),
and converts the grants whose requirement is met. A grant counts the play of sessions
opened after it was granted and of the session its money was fed into.

Every write of a grant is versioned (``versioned_update``): a leave, a feed, an expiry, a
forfeit and a cancel racing on one grant serialise on its version, and the loser re-reads
(``retry_on_conflict``). Each money movement is one balanced ledger transaction with a
key naming the grant (``bonus-grant:``, ``bonus-convert:``, ``bonus-end:``), so a grant
converts or ends once.

Stable names: ``grant_bonus``, ``forfeit_bonus``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Min
from django.utils import timezone

from accounts import ledger
from accounts.models import LedgerTransaction, User, ledger_code_for_player
from accounts.services import apply_to_account
from casino.exceptions import BonusNotPlayable
from casino.hooks import BonusDraw
from casino.models import GameSession
from core.audit import audit
from core.exceptions import DomainError, InvalidAmount
from core.money import ZERO, format_money, parse_amount
from core.versioning import retry_on_conflict, versioned_update
from promotions.exceptions import BonusChanged, BonusInPlay, BonusNotActive, InvalidBonusTerms
from promotions.models import BonusGrant

log = logging.getLogger(__name__)

Status = BonusGrant.Status
# The regulator's cap (UK, from 19 January 2026): wagering at most 10x the bonus. The
# setting may lower it, never raise it (the database refuses more than 10 as well).
HARD_MAX_WAGERING_MULTIPLE = 10
BONUS_MAX_VALID_DAYS = 365  # the longest validity a promotion may give its bonus funds


def max_wagering_multiple() -> int:
    return min(
        int(getattr(settings, "BONUS_MAX_WAGERING_MULTIPLE", HARD_MAX_WAGERING_MULTIPLE)), HARD_MAX_WAGERING_MULTIPLE
    )


def validate_bonus_terms(*, wagering_multiple, max_stake, conversion_cap=None) -> tuple[int, Decimal, Decimal | None]:
    """Check bonus terms; raise ``InvalidBonusTerms`` naming the rule. The admin forms
    (codes, vendor cashback) call it too, so staff see the same refusal."""
    limit = max_wagering_multiple()
    if isinstance(wagering_multiple, bool) or not isinstance(wagering_multiple, int):
        raise InvalidBonusTerms("The wagering multiple is a whole number.", field="wagering_multiple")
    if not 1 <= wagering_multiple <= limit:
        raise InvalidBonusTerms(
            f"The wagering multiple must be between 1 and {limit} (wagering may not exceed {limit}x the bonus).",
            field="wagering_multiple",
        )
    try:
        max_stake = parse_amount(max_stake, field="Maximum stake")
    except InvalidAmount as exc:
        raise InvalidBonusTerms(exc.message, field="max_stake") from exc
    if conversion_cap not in (None, ""):
        try:
            conversion_cap = parse_amount(conversion_cap, field="Conversion cap")
        except InvalidAmount as exc:
            raise InvalidBonusTerms(exc.message, field="conversion_cap") from exc
    else:
        conversion_cap = None
    return wagering_multiple, max_stake, conversion_cap


def validate_valid_days(days) -> int:
    """A promotion's bonus validity: a whole number of days, 1 to ``BONUS_MAX_VALID_DAYS``;
    ``InvalidBonusTerms`` naming the rule otherwise (codes, vendor cashback and their forms)."""
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= BONUS_MAX_VALID_DAYS:
        raise InvalidBonusTerms(f"A bonus is valid for 1 to {BONUS_MAX_VALID_DAYS} days.", field="valid_days")
    return days


# --- granting -------------------------------------------------------------------------------
def grant_bonus(
    *,
    player: User,
    amount,
    wagering_multiple: int,
    expires_at: datetime,
    max_stake,
    source_key: str,
    conversion_cap=None,
    source: str = "",
) -> BonusGrant:
    """Pay ``amount`` of bonus funds to ``player`` with these terms (stable name).

    Made once per ``source_key``: a second call (or a racing twin) returns the first
    grant. Runs inside the caller's transaction when there is one (a redemption, a
    cashback), else in its own. The money comes from ``system:promotions``.
    """
    if existing := BonusGrant.objects.filter(source_key=source_key).first():
        return existing  # a replay returns the first grant, even once its terms would be refused now
    amount = parse_amount(amount, field="Bonus amount")
    wagering_multiple, max_stake, conversion_cap = validate_bonus_terms(
        wagering_multiple=wagering_multiple, max_stake=max_stake, conversion_cap=conversion_cap
    )
    if not isinstance(expires_at, datetime) or timezone.is_naive(expires_at):
        raise InvalidBonusTerms("A bonus needs an expiry (date and time with a time zone).", field="expires_at")
    if expires_at <= timezone.now():
        raise InvalidBonusTerms("A bonus must expire in the future.", field="expires_at")
    if not source_key or len(source_key) > 200:
        raise ValueError("grant_bonus needs a source_key of at most 200 characters")
    try:
        with transaction.atomic():
            grant = BonusGrant.objects.create(
                player=player,
                amount=amount,
                balance=amount,
                wagering_multiple=wagering_multiple,
                wagering_required=amount * wagering_multiple,
                max_stake=max_stake,
                conversion_cap=conversion_cap,
                expires_at=expires_at,
                source_key=source_key,
                source=source[:200],
            )
            ledger.post(
                kind=LedgerTransaction.Kind.BONUS_GRANT,
                idempotency_key=f"bonus-grant:{grant.pk}",
                entries=[(ledger.SYSTEM_PROMOTIONS, -amount), (grant.ledger_code, amount)],
                reference=grant.ledger_code,
                description=f"Bonus funds: {source}"[:200],
            )
            return grant
    except IntegrityError:
        if existing := BonusGrant.objects.filter(source_key=source_key).first():
            return existing
        raise


# --- the casino's hook points ------------------------------------------------------------------
def expire_due(player_id: int, at: datetime) -> None:
    """``casino.hooks.bonus_expire_due``: before a feed with bonus, expire the player's grants
    past their expiry in their own transactions, so a refused feed does not undo the expiry."""
    expire_bonus_grants(now=at, player_id=player_id)


def max_stake_for(player_id: int, at: datetime) -> Decimal | None:
    """``casino.hooks.bonus_max_stake``: the lowest maximum stake of the player's active,
    unexpired grants (None: no bonus active)."""
    return BonusGrant.objects.filter(player_id=player_id, status=Status.ACTIVE, expires_at__gt=at).aggregate(
        low=Min("max_stake")
    )["low"]


def draw_bonus(session: GameSession, amount: Decimal, at: datetime) -> BonusDraw:
    """``casino.hooks.bonus_draw``: take ``amount`` of bonus money for a feed.

    From the grant already in the machine, else the player's oldest active grant with
    money. Grants found expired on the way are expired here (lazily, in this transaction).
    """
    if session.bonus_source:
        grant = BonusGrant.objects.filter(pk=session.bonus_source).first()
        if grant is None or not grant.is_active:
            raise BonusNotPlayable("The bonus in this machine has ended: feed cash only.")
        if grant.expires_at <= at:
            _end(grant, status=Status.EXPIRED, at=at, reason="expired")
            raise BonusNotPlayable("The bonus in this machine has expired: feed cash only.")
    else:
        grant = None
        for candidate in _active_grants(session.player_id):
            if candidate.expires_at <= at:
                _end(candidate, status=Status.EXPIRED, at=at, reason="expired")
            elif candidate.balance > 0:
                grant = candidate
                break
        if grant is None:
            raise BonusNotPlayable("You have no bonus money to feed: feed cash only.")
    if grant.balance < amount:
        raise BonusNotPlayable(
            f"Your bonus holds {format_money(grant.balance)}: not enough to make up {format_money(amount)} "
            "after your cash. Feed less.",
        )
    versioned_update(BonusGrant, pk=grant.pk, version=grant.version, balance=grant.balance - amount)
    return BonusDraw(grant_id=grant.pk, ledger_code=grant.ledger_code)


def return_bonus(session: GameSession, amount: Decimal, at: datetime) -> str:
    """``casino.hooks.bonus_return``: a machine gives ``amount`` of bonus money back on leaving.

    Back to its grant if the grant is still active; if it ended meanwhile (expired,
    forfeited, cancelled), to the promotions pot, counted on the grant as returned.
    """
    # Locked until the leave commits: ``fold_session`` (same transaction, right after) credits
    # ``balance`` in the one versioned write a leave makes on the grant, and no expiry, forfeit
    # or cancel may end the grant in between (theirs wait, then see the new version and re-read).
    grant = BonusGrant.objects.select_for_update().get(pk=session.bonus_source)
    if grant.is_active:
        return grant.ledger_code
    versioned_update(BonusGrant, pk=grant.pk, version=grant.version, returned=grant.returned + amount)
    return ledger.SYSTEM_PROMOTIONS


def fold_session(session: GameSession) -> None:
    """``casino.hooks.session_closed``: fold the session's wagering into the player's grants.

    Runs in the cash-out's transaction, which posted the session's bonus part back to its
    grant's account: the grant's balance takes it here, in the one write a leave makes on
    each grant it changes. Oldest grant first: each takes what it still needs of the session's contribution;
    a grant whose requirement is met converts; one past its expiry expires; one whose
    money is all lost (balance 0, none in a machine: the session just closed) is spent.
    """
    at = session.closed_at or timezone.now()
    left = session.wagering_contribution
    for grant in _active_grants(session.player_id):
        if grant.pk == session.bonus_source:
            grant.balance += session.bonus_returned  # posted to its account by the cash-out
        if grant.expires_at <= at:
            _end(grant, status=Status.EXPIRED, at=at, reason="expired")
            continue
        done = grant.wagering_done
        if left > 0 and (grant.created_at <= session.created_at or grant.pk == session.bonus_source):
            take = min(grant.wagering_left, left)
            done, left = done + take, left - take
        if done >= grant.wagering_required:
            _convert(grant, wagering_done=done, at=at)
        elif grant.balance == 0:
            _end(grant, status=Status.SPENT, at=at, reason="the bonus money was lost in play", wagering_done=done)
        elif done != grant.wagering_done or (grant.pk == session.bonus_source and session.bonus_returned):
            versioned_update(BonusGrant, pk=grant.pk, version=grant.version, wagering_done=done, balance=grant.balance)


# --- ending a grant ------------------------------------------------------------------------
def forfeit_bonus(*, grant: BonusGrant, actor: User | None = None, expected_version: int | None = None) -> BonusGrant:
    """The player gives the bonus up (stable name): its remaining bonus money goes back to
    the promotions pot; the player's cash is untouched. Refused while the grant's money is
    in an open machine (``BonusInPlay``: leave it first), so what the preview showed is
    exactly what is lost. ``actor`` (staff acting for the player) is audited.
    ``expected_version``: the grant's version the player's preview showed; if the grant has
    changed since (play folded in, money came back), ``BonusChanged`` and nothing moves."""

    def attempt() -> BonusGrant:
        with transaction.atomic():
            current = BonusGrant.objects.get(pk=grant.pk)
            now = timezone.now()
            if _check_can_end(current, now=now):
                return _end(current, status=Status.EXPIRED, at=now, reason="expired")
            if expected_version is not None and current.version != expected_version:
                raise BonusChanged()
            in_play = _in_play(current)
            if in_play is not None:
                raise BonusInPlay(
                    f"Your bonus is in play at {in_play.game.name}: leave the machine first, then forfeit it."
                )
            lost = current.balance
            ended = _end(current, status=Status.FORFEITED, at=now, reason="forfeited by the player")
            if actor is not None:
                audit(
                    actor=actor,
                    action="bonus.forfeit",
                    target=ended.ledger_code,
                    player=ended.player_id,
                    returned=str(lost),
                )
            return ended

    return retry_on_conflict(attempt)


def cancel_bonus(*, grant: BonusGrant, actor: User, reason: str) -> BonusGrant:
    """Staff cancel a grant (audited). Its bonus money goes back to the promotions pot now;
    a part in an open machine goes back when the player leaves it."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidBonusTerms("Say why the bonus is cancelled.", field="reason")

    def attempt() -> BonusGrant:
        with transaction.atomic():
            current = BonusGrant.objects.get(pk=grant.pk)
            now = timezone.now()
            if _check_can_end(current, now=now):
                return _end(current, status=Status.EXPIRED, at=now, reason="expired")
            lost = current.balance
            ended = _end(current, status=Status.CANCELLED, at=now, reason=f"cancelled by staff: {reason}")
            audit(
                actor=actor,
                action="bonus.cancel",
                target=ended.ledger_code,
                player=ended.player_id,
                returned=str(lost),
                reason=reason,
            )
            return ended

    return retry_on_conflict(attempt)


def expire_bonus_grants(*, now: datetime | None = None, player_id: int | None = None) -> int:
    """Beat: end every active grant past its expiry (each in its own transaction), or only
    ``player_id``'s. A grant a concurrent leave or forfeit ended first is skipped. Returns
    how many expired."""
    now = now or timezone.now()
    expired = 0
    due = BonusGrant.objects.filter(status=Status.ACTIVE, expires_at__lte=now).order_by("id")
    if player_id is not None:
        due = due.filter(player_id=player_id)
    for grant_id in due.values_list("id", flat=True):

        def attempt(grant_id=grant_id) -> bool:
            with transaction.atomic():
                current = BonusGrant.objects.get(pk=grant_id)
                if not current.is_active or current.expires_at > now:
                    return False
                _end(current, status=Status.EXPIRED, at=now, reason="expired")
                return True

        try:
            expired += retry_on_conflict(attempt)
        except DomainError:
            log.exception("could not expire bonus grant %s; the next run retries", grant_id)
    return expired


# --- reading ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class ForfeitPreview:
    grant: BonusGrant
    lost: Decimal  # bonus money that goes back to the promotions pot
    wagering_done: Decimal
    in_play_at: str  # the game holding the grant's money ("" when none): forfeit refused


def forfeit_preview(grant: BonusGrant) -> ForfeitPreview:
    in_play = _in_play(grant) if grant.is_active else None
    return ForfeitPreview(
        grant=grant,
        lost=grant.balance,
        wagering_done=grant.wagering_done,
        in_play_at=in_play.game.name if in_play is not None else "",
    )


# --- internals --------------------------------------------------------------------------------
def _active_grants(player_id: int) -> list[BonusGrant]:
    return list(BonusGrant.objects.filter(player_id=player_id, status=Status.ACTIVE).order_by("created_at", "id"))


def _in_play(grant: BonusGrant) -> GameSession | None:
    return (
        GameSession.objects.filter(
            player_id=grant.player_id, status=GameSession.Status.OPEN, bonus_source=grant.pk, bonus_balance__gt=0
        )
        .select_related("game")
        .first()
    )


def _check_can_end(grant: BonusGrant, *, now: datetime) -> bool:
    """``BonusNotActive`` if the grant has ended; True if it is past its expiry (the
    caller then expires it instead of what it was asked: the result says so)."""
    if not grant.is_active:
        raise BonusNotActive(f"This bonus has already ended ({grant.get_status_display().lower()}).")
    return grant.expires_at <= now


def _end(
    grant: BonusGrant, *, status: str, at: datetime, reason: str, wagering_done: Decimal | None = None
) -> BonusGrant:
    """End ``grant``: its remaining bonus money goes back to the promotions pot."""
    amount = grant.balance
    values = {
        "status": status,
        "balance": ZERO,
        "returned": grant.returned + amount,
        "ended_at": at,
        "end_reason": reason[:200],
        "wagering_done": grant.wagering_done if wagering_done is None else wagering_done,
    }
    grant.version = versioned_update(BonusGrant, pk=grant.pk, version=grant.version, **values)
    if amount > 0:
        ledger.post(
            kind=LedgerTransaction.Kind.BONUS_END,
            idempotency_key=f"bonus-end:{grant.pk}",
            entries=[(grant.ledger_code, -amount), (ledger.SYSTEM_PROMOTIONS, amount)],
            reference=grant.ledger_code,
            description=f"Bonus #{grant.pk} {status}",
        )
    for name, value in values.items():
        setattr(grant, name, value)
    return grant


def _convert(grant: BonusGrant, *, wagering_done: Decimal, at: datetime) -> BonusGrant:
    """The requirement is met: the bonus money becomes cash (up to the cap; the rest back
    to the promotions pot), in one ledger transaction."""
    amount = grant.balance
    cash = min(amount, grant.conversion_cap) if grant.conversion_cap is not None else amount
    excess = amount - cash
    values = {
        "status": Status.COMPLETED,
        "balance": ZERO,
        "converted": cash,
        "returned": grant.returned + excess,
        "wagering_done": wagering_done,
        "ended_at": at,
        "end_reason": "wagering completed",
    }
    grant.version = versioned_update(BonusGrant, pk=grant.pk, version=grant.version, **values)
    if amount > 0:
        if cash > 0:
            apply_to_account(player_id=grant.player_id, delta=cash)
        ledger.post(
            kind=LedgerTransaction.Kind.BONUS_CONVERSION,
            idempotency_key=f"bonus-convert:{grant.pk}",
            entries=[
                (grant.ledger_code, -amount),
                (ledger_code_for_player(grant.player_id), cash),
                (ledger.SYSTEM_PROMOTIONS, excess),
            ],
            reference=grant.ledger_code,
            description=f"Bonus #{grant.pk} converted to cash",
        )
    for name, value in values.items():
        setattr(grant, name, value)
    return grant
