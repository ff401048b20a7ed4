"""Game sessions: open, feed, spin, leave, idle sweep, free-spin grants.

The point of the session (seeds/002): the player's account is the hot
aggregate, so play never writes it. ``feed`` moves money account -> session
(one account write), ``spin`` moves money only between the session and the
house (or the promotions pot for free spins and win boosts), and ``leave``
moves the whole session balance back in one credit. Every write to a session
or a free-spin grant is a versioned (optimistic) update inside
``retry_on_conflict``; every money movement is one balanced ledger transaction
in the same database transaction.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from accounts import ledger
from accounts.models import Account, LedgerTransaction, User, ledger_code_for_player
from accounts.services import apply_to_account, check_can_play, gate_sql, move_money, raise_blocked
from casino import fair, hooks
from casino.exceptions import (
    BonusNotPlayable,
    ClientSeedLocked,
    GameUnavailable,
    InsufficientSessionFunds,
    InvalidClientSeed,
    InvalidStake,
    MachineNotFed,
    NoFreeSpins,
    SessionAlreadyOpen,
    SessionClosed,
    SessionNotFound,
    SessionNotVerifiable,
    StakeAboveBonusMaximum,
)
from casino.models import FreeSpinGrant, Game, GameSession, GameVersion, Spin
from casino.slots import Machine
from core.audit import audit
from core.exceptions import DomainError, DuplicateTransaction, InvalidAmount
from core.idempotency import Replay, client_key, idempotent, scoped_key
from core.money import CENT, ZERO, parse_amount
from core.versioning import retry_on_conflict, versioned_update

log = logging.getLogger(__name__)

MAX_FREE_SPINS_PER_GRANT = 1000


def open_session(*, player: User, game: Game) -> GameSession:
    """Sit the player at ``game``. At most one open session per player (a DB constraint).

    The exclusion check runs inside the transaction that inserts the session; the
    ``casino.hooks.session_opened`` hooks (vendor free spins) run in it too.

    Provably fair (issue 17): the session gets a fresh secret server seed and a random
    client seed (model defaults) and the game version it is played on, read in the same
    transaction with the game row held (FOR KEY SHARE), so the reels cannot change between
    that read and the session's insert (then the database refuses the change: 0004).
    """
    with transaction.atomic():
        check_can_play(player=player)
        version_id = _game_version_id(game)
        now = timezone.now()
        try:
            with transaction.atomic():
                session = GameSession.objects.create(
                    player=player,
                    game=game,
                    game_version_id=version_id,
                    last_activity_at=now,
                    bonus_max_stake=_bonus_max_stake(player.pk, now),
                )
        except IntegrityError as exc:
            raise SessionAlreadyOpen() from exc
        for hook in hooks.session_opened:
            hook(session)
    return session


def open_and_feed(*, player: User, game: Game, amount, idempotency_key: str, use_bonus: bool = False) -> GameSession:
    """Sit the player at ``game`` and feed it ``amount`` in one step, so the first spin has
    money to play (the lobby's Play form). ``amount`` may be empty: the machine opens unfed
    (e.g. to play free spins).

    Safe to send twice: a second send finds the session it opened (same game) and the feed
    replays on ``idempotency_key``, so money moves once. A session open on another game
    is refused (``SessionAlreadyOpen``). If the feed is refused (a limit, the balance), the
    session stays open and the feed's error is raised as ``MachineNotFed`` carrying it.
    """
    try:
        session = open_session(player=player, game=game)
    except SessionAlreadyOpen:
        session = GameSession.objects.filter(player=player, status=GameSession.Status.OPEN).first()
        if session is None or session.game_id != game.pk or not amount:
            raise
    if amount:
        try:
            feed(session=session, amount=amount, idempotency_key=idempotency_key, use_bonus=use_bonus)
        except DomainError as exc:
            raise MachineNotFed(session=session, reason=exc) from exc
    return session


def feed(*, session: GameSession, amount, idempotency_key: str, use_bonus: bool = False) -> LedgerTransaction:
    """Move ``amount`` from the player's account into the machine (one account debit).

    With ``use_bonus`` the player's cash goes first and bonus money makes up the rest
    (issue 16): from the grant already in the machine, else the player's oldest active
    grant. Bonus money is never fed into a game that does not count towards wagering.
    Cash and bonus move in one ledger transaction; the session keeps them apart.
    """
    amount = parse_amount(amount, field="Amount to feed")
    key = scoped_key("feed", session.pk, idempotency_key)
    if use_bonus:
        player_id = session.player_id or GameSession.objects.values_list("player_id", flat=True).get(pk=session.pk)
        for hook in hooks.bonus_expire_due:
            hook(player_id, timezone.now())

    def attempt() -> LedgerTransaction:
        check_can_play(player=User(pk=session.player_id))  # no query for the user row
        current = _reread(session)
        if not current.is_open:
            raise SessionClosed("This game session is closed: open a new one to play.")
        now = timezone.now()
        cash, bonus = amount, ZERO
        if use_bonus:
            available = Account.objects.filter(user_id=current.player_id).values_list("balance", flat=True).first()
            cash = min(amount, available or ZERO)
            bonus = amount - cash
        draw = None
        if bonus > 0:
            if current.game.wagering_contribution == 0:
                raise BonusNotPlayable(
                    f"Bonus money cannot be played on {current.game.name}: it does not count towards "
                    "wagering. Feed cash only, or pick another game."
                )
            if not hooks.bonus_draw:
                raise BonusNotPlayable()
            draw = hooks.bonus_draw[0](current, bonus, now)
        versioned_update(
            GameSession,
            pk=current.pk,
            version=current.version,
            balance=current.balance + cash,
            bonus_balance=current.bonus_balance + bonus,
            bonus_source=draw.grant_id if draw else current.bonus_source,
            bonus_fed=current.bonus_fed + bonus,
            total_fed=current.total_fed + amount,
            bonus_max_stake=_bonus_max_stake(current.player_id, now),
            last_activity_at=now,
        )
        if draw is None:
            return move_money(
                player_id=current.player_id,
                delta=-amount,
                counterparty=current.ledger_code,
                kind=LedgerTransaction.Kind.FEED,
                idempotency_key=key,
                reference=current.ledger_code,
                description=f"Fed {current.game.name}",
            )
        if cash > 0:
            apply_to_account(player_id=current.player_id, delta=-cash)
        return ledger.post(
            kind=LedgerTransaction.Kind.FEED,
            idempotency_key=key,
            entries=[
                (ledger_code_for_player(current.player_id), -cash),
                (current.ledger_code, cash),
                (draw.ledger_code, -bonus),
                (current.bonus_ledger_code, bonus),
            ],
            reference=current.ledger_code,
            description=f"Fed {current.game.name} ({bonus} bonus)",
        )

    def same(tx: LedgerTransaction) -> bool:
        return ledger.moved(tx, session.ledger_code) + ledger.moved(tx, f"sessionbonus:{session.pk}") == amount

    return idempotent(find=lambda: ledger.find(key), attempt=attempt, same=same)


def spin(*, session: GameSession, stake=None, idempotency_key: str, free_spin: bool = False) -> Spin:
    """One spin. Stake and win move only between the session and the house.

    The player's exclusion is checked inside the spin's transaction (the player's gate),
    so a session left open by a failed close still cannot be played.

    A free spin plays at the grant's stake (``stake`` is ignored), costs the
    session nothing and is paid from the promotions pot. A replayed
    ``idempotency_key`` returns the first spin and moves nothing.
    """
    raw_key = client_key(idempotency_key)
    if not free_spin:
        stake = parse_amount(stake, field="Stake")

    def attempt() -> Spin:
        now = timezone.now()
        current, replay_id, blocked, digest = _read_for_spin(session=session, key=raw_key, now=now)
        if replay_id is not None:
            raise Replay(Spin.objects.get(pk=replay_id))
        if not current.is_open:
            raise SessionClosed("This game session is closed: no more spins.")
        if blocked:  # also free spins: an exclusion stops all play
            raise_blocked(player=User(pk=current.player_id), now=now)
        if not current.provably_fair:  # opened before issue 17 and never closed: not playable
            raise SessionNotVerifiable(
                "This session was opened before provably fair play: leave it and open a new one."
            )
        if free_spin:
            grant = _take_free_spin(player_id=current.player_id, game_id=current.game_id, at=now)
            played = grant.stake
            paid = Decimal("0.00")
        else:
            _check_stake(session=current, stake=stake)
            played = paid = stake
        # Provably fair (issue 17): the stops come from the session's seeds and this spin's
        # nonce, on the game version the session was opened with. A lost race retries with
        # the next nonce (the versioned UPDATE below), so nonces have no gaps or repeats.
        nonce = current.spin_count + 1
        machine = Machine.for_version(current.game_version_id, digest=digest)
        outcome = machine.play(server_seed=current.server_seed, client_seed=current.client_seed, nonce=nonce)
        win = outcome.win_for(played)
        boost_percent, boost = _boost(game=current.game, win=win, at=now)
        # Cash is staked first; the win (and boost) is split like the stake (issue 16).
        from_bonus = max(paid - current.balance, ZERO)
        win_bonus = _bonus_share(win + boost, part=from_bonus, whole=paid)
        balance = current.balance - (paid - from_bonus) + (win + boost - win_bonus)
        bonus_balance = current.bonus_balance - from_bonus + win_bonus
        after = {
            "balance": balance,
            "bonus_balance": bonus_balance,
            "total_staked": current.total_staked + paid,
            "total_won": current.total_won + win + boost,
            "bonus_staked": current.bonus_staked + from_bonus,
            "bonus_won": current.bonus_won + win_bonus,
            "wagering_contribution": current.wagering_contribution + paid * current.game.wagering_contribution / 100,
            "spin_count": current.spin_count + 1,
            "last_activity_at": now,
        }
        new_version = versioned_update(GameSession, pk=current.pk, version=current.version, **after)
        try:
            with transaction.atomic(savepoint=False):  # a duplicate aborts the whole attempt
                result = Spin.objects.create(
                    session=current,
                    session_month=Spin.month_of_session(current.created_at),  # the partition (issue 20)
                    idempotency_key=raw_key,
                    stake=played,
                    win=win,
                    boost=boost,
                    stops=list(outcome.stops),
                    symbols=list(outcome.symbols),
                    balance_after=balance,
                    bonus_stake=from_bonus,
                    bonus_win=win_bonus,
                    bonus_balance_after=bonus_balance,
                    free_spin=free_spin,
                    nonce=nonce,
                    boost_percent=boost_percent,
                )
        except IntegrityError as exc:  # the same key committed by a concurrent click: retry finds it
            raise DuplicateTransaction(label="casino.spin", pk=raw_key) from exc
        _post_spin(session=current, spin=result, paid=paid)
        for name, value in {**after, "version": new_version}.items():
            setattr(current, name, value)
        result.session = current  # as it is after the spin, with its game: the page needs no re-read
        return result

    return idempotent(
        find=lambda: Spin.objects.filter(session_id=session.pk, idempotency_key=raw_key).first(),
        attempt=attempt,
        same=lambda first: first.free_spin == free_spin and (free_spin or first.stake == stake),
        lookup_first=False,  # the spin's own first read looks the key up (_read_for_spin)
    )


def leave(
    *,
    session: GameSession,
    reason: str = GameSession.CloseReason.LEFT,
    actor: User | None = None,
    idle_before: datetime | None = None,
) -> GameSession:
    """Close the session and cash its whole balance out to the account in one credit.

    Safe to call twice (or concurrently): a closed session is returned as it is,
    and the cash-out happens once. ``idle_before`` (for the idle sweep) leaves
    the session open if it was played after that instant. ``actor`` (staff)
    writes an audit row in the same transaction.
    """

    def attempt() -> GameSession:
        with transaction.atomic():
            current = _reread(session)
            if not current.is_open:
                return current
            if idle_before is not None and current.last_activity_at >= idle_before:
                return current
            now = timezone.now()
            amount, bonus = current.balance, current.bonus_balance
            versioned_update(
                GameSession,
                pk=current.pk,
                version=current.version,
                status=GameSession.Status.CLOSED,
                closed_at=now,
                close_reason=reason,
                balance=Decimal("0.00"),
                cashed_out=amount,
                bonus_balance=Decimal("0.00"),
                bonus_returned=bonus,
            )
            if bonus > 0:  # each part to its own account, in one ledger transaction
                if amount > 0:
                    apply_to_account(player_id=current.player_id, delta=amount)
                ledger.post(
                    kind=LedgerTransaction.Kind.CASH_OUT,
                    idempotency_key=f"cashout:{current.pk}",
                    entries=[
                        (current.ledger_code, -amount),
                        (ledger_code_for_player(current.player_id), amount),
                        (current.bonus_ledger_code, -bonus),
                        (hooks.bonus_return[0](current, bonus, now), bonus),
                    ],
                    reference=current.ledger_code,
                    description=f"Cash-out from {current.game.name} ({bonus} bonus back)",
                )
            elif amount > 0:
                move_money(
                    player_id=current.player_id,
                    delta=amount,
                    counterparty=current.ledger_code,
                    kind=LedgerTransaction.Kind.CASH_OUT,
                    idempotency_key=f"cashout:{current.pk}",
                    reference=current.ledger_code,
                    description=f"Cash-out from {current.game.name}",
                )
            closed = GameSession.objects.select_related("game", "player").get(pk=current.pk)
            if actor is not None:
                audit(
                    actor=actor,
                    action="session.close_and_cash_out",
                    target=closed.ledger_code,
                    player=closed.player_id,
                    cashed_out=str(amount),
                    bonus_returned=str(bonus),
                    reason=reason,
                )
            for hook in hooks.session_closed:
                hook(closed)
            _enqueue_payouts(closed.player_id)
            return closed

    return retry_on_conflict(attempt)


def set_client_seed(*, session: GameSession, client_seed: str) -> GameSession:
    """The player's own client seed for ``session`` (issue 17), before its first spin.

    Refused once a spin is played (``ClientSeedLocked``: the seed is part of every spin's
    derivation) or when the session is closed. Versioned, so a spin racing this either
    plays with the new seed or makes this fail with ``ClientSeedLocked`` after a retry.
    """
    client_seed = client_seed.strip() if isinstance(client_seed, str) else ""
    if not fair.valid_client_seed(client_seed):
        raise InvalidClientSeed()

    def attempt() -> GameSession:
        with transaction.atomic():
            current = _reread(session)
            if not current.is_open:
                raise SessionClosed("This game session is closed: its seeds are revealed, not changed.")
            if current.spin_count:
                raise ClientSeedLocked()
            current.version = versioned_update(
                GameSession, pk=current.pk, version=current.version, client_seed=client_seed
            )
            current.client_seed = client_seed
            return current

    return retry_on_conflict(attempt)


def close_idle_sessions(*, idle_for: timedelta) -> list[GameSession]:
    """Close and cash out every open session with no activity for ``idle_for``.

    Each session is its own transaction; one that cannot be closed now (e.g.
    retries exhausted) is logged and left for the next run.
    """
    cutoff = timezone.now() - idle_for
    candidates = GameSession.objects.filter(status=GameSession.Status.OPEN, last_activity_at__lt=cutoff)
    closed = []
    for session_id in candidates.order_by("id").values_list("id", flat=True):
        try:
            result = leave(session=GameSession(pk=session_id), reason=GameSession.CloseReason.IDLE, idle_before=cutoff)
        except DomainError:
            log.exception("could not close idle session %s; the next sweep retries", session_id)
            continue
        if not result.is_open and result.close_reason == GameSession.CloseReason.IDLE:
            closed.append(result)
    return closed


def grant_free_spins(
    *,
    player: User,
    game: Game,
    count: int,
    stake,
    source_key: str,
    description: str = "",
    expires_at: datetime | None = None,
) -> FreeSpinGrant:
    """Give ``count`` free spins at ``stake`` on ``game``; made once per ``source_key``."""
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_FREE_SPINS_PER_GRANT:
        raise InvalidAmount(f"Free spins: give 1 to {MAX_FREE_SPINS_PER_GRANT}.")
    stake = parse_amount(stake, field="Free spin stake")
    if not source_key:
        raise ValueError("grant_free_spins needs a source_key")
    if existing := FreeSpinGrant.objects.filter(source_key=source_key).first():
        return existing
    try:
        with transaction.atomic():
            return FreeSpinGrant.objects.create(
                player=player,
                game=game,
                stake=stake,
                granted=count,
                remaining=count,
                source_key=source_key[:200],
                description=description[:200],
                expires_at=expires_at,
            )
    except IntegrityError:
        return FreeSpinGrant.objects.get(source_key=source_key)


# --- internals ---------------------------------------------------------------
# Everything a spin decides on, in one round trip (issue 14: a spin is 6 statements with
# BEGIN and COMMIT): the session as committed now (only the caller's player's), its game's
# saved version and stake range (the Machine is cached per version, so no reels or
# paytable are read), whether this key already spun (a replay: looked up in the session's
# month's partition only, issue 20), and the player's gate
# (the user row share-locked, an exclusion in force?). Then UPDATE the session
# (versioned), INSERT the spin, INSERT the ledger transaction with its entries.
_SESSION_FIELDS = list(GameSession._meta.concrete_fields)
# Only what a spin needs of its game, in the model's field order (``Model.from_db`` maps
# values by that order and defers the rest: reels and paytable load only on a cache miss).
_GAME_FIELDS = [
    f.attname
    for f in Game._meta.concrete_fields
    if f.attname in {"id", "updated_at", "name", "min_stake", "max_stake", "vendor_id", "wagering_contribution"}
]
_GATE_JOIN, _GATE_BLOCKED, _GATE_LOCK = gate_sql("s.player_id")
_SPIN_READ = f"""
    SELECT {", ".join("s." + f.column for f in _SESSION_FIELDS)},
           {", ".join("g." + Game._meta.get_field(name).column for name in _GAME_FIELDS)},
           (SELECT sp.id FROM {Spin._meta.db_table} sp WHERE sp.session_id = s.id AND sp.idempotency_key = %(key)s
              AND sp.session_month = date_trunc('month', s.created_at AT TIME ZONE 'UTC')::date),
           {_GATE_BLOCKED},
           v.digest
    FROM {GameSession._meta.db_table} s
    JOIN {Game._meta.db_table} g ON g.id = s.game_id
    LEFT JOIN {GameVersion._meta.db_table} v ON v.id = s.game_version_id
    {_GATE_JOIN}
    WHERE s.id = %(session)s AND (%(player)s::bigint IS NULL OR s.player_id = %(player)s)
    {_GATE_LOCK}
"""  # noqa: S608 - table and column names from the models' meta; values are bound


def _read_for_spin(
    *, session: GameSession, key: str, now: datetime
) -> tuple[GameSession, int | None, bool, str | None]:
    with connection.cursor() as cursor:
        cursor.execute(_SPIN_READ, {"key": key, "session": session.pk, "player": session.player_id, "gate_now": now})
        row = cursor.fetchone()
    if row is None:
        raise SessionNotFound()
    n, m = len(_SESSION_FIELDS), len(_GAME_FIELDS)
    current = GameSession.from_db(connection.alias, [f.attname for f in _SESSION_FIELDS], row[:n])
    current.game = Game.from_db(connection.alias, _GAME_FIELDS, row[n : n + m])  # reels, paytable deferred
    return current, row[n + m], row[n + m + 1], row[n + m + 2]


# Provably fair (issue 17): the game's content when a session opens, with its row held
# FOR KEY SHARE (as the session's INSERT holds it, 0004): a reels/paytable change waits
# for this transaction and then finds the open session and is refused.
_GAME_FOR_SESSION = f"SELECT reels, paytable FROM {Game._meta.db_table} WHERE id = %s AND is_active FOR KEY SHARE"  # noqa: S608


def _game_version_id(game: Game) -> int:
    """The id of the stored version of ``game``'s reels and paytable as they are now
    (made on first use; ``GameUnavailable`` if the game is gone or inactive)."""
    with connection.cursor() as cursor:
        cursor.execute(_GAME_FOR_SESSION, [game.pk])
        row = cursor.fetchone()
    if row is None:
        raise GameUnavailable()
    reels, paytable = (json.loads(value) if isinstance(value, str) else value for value in row)
    digest = fair.game_digest(reels, paytable)
    version = GameVersion.objects.filter(game_id=game.pk, digest=digest).values_list("pk", flat=True).first()
    if version is None:
        try:
            with transaction.atomic():
                version = GameVersion.objects.create(game_id=game.pk, digest=digest, reels=reels, paytable=paytable).pk
        except IntegrityError:  # opened at the same instant by another player: theirs is the same content
            version = GameVersion.objects.values_list("pk", flat=True).get(game_id=game.pk, digest=digest)
    return version


def _reread(session: GameSession) -> GameSession:
    """The session as committed now (callers may hold a stale instance)."""
    return GameSession.objects.select_related("game").get(pk=session.pk)


def _check_stake(*, session: GameSession, stake: Decimal) -> None:
    game = session.game
    if not game.min_stake <= stake <= game.max_stake:
        raise InvalidStake(f"The stake on {game.name} must be between {game.min_stake} and {game.max_stake}.")
    if session.bonus_max_stake is not None and stake > session.bonus_max_stake:
        raise StakeAboveBonusMaximum(limit=session.bonus_max_stake)
    if stake > session.playable:
        raise InsufficientSessionFunds(
            f"Not enough money in the machine for a {stake} stake (it holds {session.playable}). Feed it first."
        )


def _bonus_share(amount: Decimal, *, part: Decimal, whole: Decimal) -> Decimal:
    """The bonus part of ``amount`` when ``part`` of ``whole`` was staked from bonus money.
    Rounded down to the cent: a rounding cent goes to the player's cash."""
    if amount <= 0 or part <= 0:
        return ZERO
    if part >= whole:
        return amount
    return (amount * part / whole).quantize(CENT, rounding=ROUND_DOWN)


def _bonus_max_stake(player_id: int, at: datetime) -> Decimal | None:
    """The maximum stake the player's active bonus terms allow now (None: no bonus active)."""
    limits = [limit for hook in hooks.bonus_max_stake if (limit := hook(player_id, at)) is not None]
    return min(limits) if limits else None


def _take_free_spin(*, player_id: int, game_id: int, at: datetime) -> FreeSpinGrant:
    grant = (
        FreeSpinGrant.objects.filter(player_id=player_id, game_id=game_id, remaining__gt=0)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=at))
        .order_by("expires_at", "id")
        .first()
    )
    if grant is None:
        raise NoFreeSpins()
    versioned_update(FreeSpinGrant, pk=grant.pk, version=grant.version, remaining=grant.remaining - 1)
    return grant


def _boost(*, game: Game, win: Decimal, at: datetime) -> tuple[Decimal, Decimal]:
    """(percent, amount): the extra paid on a win by the ``casino.hooks.win_boost`` hooks
    (vendor win boosts). The spin keeps the percent, so a statement recomputes the amount."""
    if win <= 0 or not hooks.win_boost:
        return ZERO, ZERO
    percent = sum((Decimal(hook(game, at) or 0) for hook in hooks.win_boost), ZERO)
    if percent <= 0:
        return ZERO, ZERO
    return percent, fair.boost_amount(win, percent)


def _post_spin(*, session: GameSession, spin: Spin, paid: Decimal) -> None:
    """The spin's ledger transaction: stake to the house, win from the house
    (from the promotions pot on a free spin), boost from the promotions pot.
    Legs are kept separate so the statement shows stake and win."""
    code, bonus_code = session.ledger_code, session.bonus_ledger_code
    win_source = ledger.SYSTEM_PROMOTIONS if spin.free_spin else ledger.SYSTEM_HOUSE
    win_cash = spin.win + spin.boost - spin.bonus_win
    entries = [
        (code, -(paid - spin.bonus_stake)),
        (bonus_code, -spin.bonus_stake),
        (ledger.SYSTEM_HOUSE, paid),
        (win_source, -spin.win),
        (ledger.SYSTEM_PROMOTIONS, -spin.boost),
        (code, win_cash),
        (bonus_code, spin.bonus_win),
    ]
    if all(amount == 0 for _, amount in entries):
        return  # a losing free spin moves no money; the Spin row records it
    ledger.post(
        kind=LedgerTransaction.Kind.SPIN,
        idempotency_key=f"spin:{session.pk}:{spin.idempotency_key}",
        entries=entries,
        reference=f"spin:{spin.pk}",
        description=f"{'Free spin' if spin.free_spin else 'Spin'} on {session.game.name}",
    )


def _enqueue_payouts(player_id: int) -> None:
    """After commit, pay the player's queued sportsbet payouts (they just left the machine).

    ``robust``: the cash-out is committed by then; failing to enqueue must not
    turn it into an error page. The beat sweep (``sweep_payouts``) re-enqueues.
    """
    from casino.tasks import pay_out_player  # noqa: PLC0415 - tasks call services; a service enqueues lazily

    transaction.on_commit(lambda: pay_out_player.delay(player_id), robust=True)
