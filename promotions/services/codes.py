"""Promotion codes: issue, bulk-issue, redeem, deactivate.

The design (DOMAIN.md, seeds/000 and seeds/003):

- A redemption is its own row, unique on (code, player). The database stops a
  second redemption (its INSERT … ON CONFLICT inserts nothing): ``AlreadyRedeemed``. There is no
  check-then-insert.
- The code row is a factory: redeeming reads it and never writes it (no counter,
  no version bump), so redeemers never contend on it.
- The redemption row and its reward (ledger posting or free-spin grant) are one
  database transaction.
- Limit policies: ``unlimited`` (no limit); ``strict`` claims one of the code's
  pre-created ``LimitToken`` rows with ``FOR UPDATE SKIP LOCKED`` (never over the
  limit, no single hot row); ``overbook`` reads the committed redemption count
  without a lock (bounded, reported overshoot).
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models.functions import Upper
from django.utils import timezone

from accounts import ledger
from accounts.models import LedgerTransaction, User
from accounts.services import check_can_play, gate_sql, move_money, raise_blocked
from casino.services import grant_free_spins
from core.audit import audit
from core.exceptions import DomainError
from core.money import parse_amount
from core.versioning import retry_on_conflict, versioned_update
from promotions.exceptions import AlreadyRedeemed, CodeNotActive, InvalidCode, LimitReached, UnknownCode
from promotions.models import LimitToken, PromotionCode, Redemption
from promotions.services.bonus import grant_bonus, validate_bonus_terms, validate_valid_days

CODE_MAX_LENGTH = 40
CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9_-]*$")
# Readable alphabet for generated codes: no 0/O, 1/I/L, 5/S, 2/Z, 8/B look-alikes.
BULK_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
BULK_DEFAULT_LENGTH = 10
BULK_MIN_LENGTH = 6
BULK_MAX_COUNT = 10_000
STRICT_MAX_LIMIT = 100_000  # one token row per unit; larger limits should use ``overbook``
MAX_LIMIT = 2**31 - 1  # the limit column is a PostgreSQL integer
# A strict bulk issue writes count x limit token rows in the staff request that issues it:
# at most this many (10 x the largest single strict code; ~10 s of INSERTs on a loaded 2-core
# box, well inside the web timeout). Without it, 10_000 codes x 100_000 would be 10^9 rows.
BULK_MAX_TOKENS = 1_000_000
# Token rows per INSERT (PostgreSQL generates them): every statement is bounded, and no
# token is ever built in Python.
TOKEN_INSERT_BATCH = 10_000
FREE_SPINS_MAX_COUNT = 1_000

Policy = PromotionCode.LimitPolicy
Reward = PromotionCode.RewardKind


def normalize_code(raw) -> str:
    """Upper-case with all whitespace removed; ``InvalidCode`` if nothing sensible is left."""
    if not isinstance(raw, str):
        raise InvalidCode("Enter a promotion code.")
    text = "".join(raw.split()).upper()
    if not text:
        raise InvalidCode("Enter a promotion code.")
    if len(text) > CODE_MAX_LENGTH:
        raise InvalidCode(f"A promotion code has at most {CODE_MAX_LENGTH} characters.")
    if not CODE_RE.fullmatch(text):
        raise InvalidCode("A promotion code has only letters A-Z, digits, '-' and '_'.")
    return text


# --- issuing ------------------------------------------------------------------------------------
# The keyword arguments that describe a code's reward, window and limit (model field names).
SPEC_FIELDS = (
    "reward_kind",
    "starts_at",
    "ends_at",
    "limit_policy",
    "limit",
    "bonus_amount",
    "free_spins_game",
    "free_spins_count",
    "free_spin_stake",
    "pays_as",
    "wagering_multiple",
    "bonus_max_stake",
    "bonus_valid_days",
    "bonus_conversion_cap",
)


def _spec_of(values: dict) -> dict:
    return {name: values[name] for name in SPEC_FIELDS}


def validate_code_spec(
    *,
    reward_kind,
    starts_at,
    ends_at,
    limit_policy=Policy.UNLIMITED,
    limit=None,
    bonus_amount=None,
    free_spins_game=None,
    free_spins_count=None,
    free_spin_stake=None,
    pays_as=PromotionCode.PaysAs.CASH,
    wagering_multiple=None,
    bonus_max_stake=None,
    bonus_valid_days=None,
    bonus_conversion_cap=None,
) -> dict:
    """Check a code's reward, window and limit; raise ``InvalidCode`` saying what is wrong.

    Returns the normalised values (``SPEC_FIELDS``). Writes nothing: the admin
    forms call it to show errors before issuing.
    """
    if reward_kind not in Reward.values:
        raise InvalidCode(f"Unknown reward kind {reward_kind!r}.")
    if not isinstance(starts_at, datetime) or not isinstance(ends_at, datetime):
        raise InvalidCode("Give the code a start and an end (date and time).")
    if timezone.is_naive(starts_at) or timezone.is_naive(ends_at):
        raise InvalidCode("Start and end need a time zone.")
    if ends_at <= starts_at:
        raise InvalidCode("The end must be after the start.")

    if limit_policy not in Policy.values:
        raise InvalidCode(f"Unknown limit policy {limit_policy!r}.")
    if limit_policy == Policy.UNLIMITED:
        if limit not in (None, ""):
            raise InvalidCode("An unlimited code has no limit: leave the limit empty or pick strict/overbook.")
        limit = None
    else:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise InvalidCode("A strict or overbook code needs a limit of at least 1.")
        if limit > MAX_LIMIT:
            raise InvalidCode(f"A limit can be at most {MAX_LIMIT:,}.")
        if limit_policy == Policy.STRICT and limit > STRICT_MAX_LIMIT:
            raise InvalidCode(f"A strict limit can be at most {STRICT_MAX_LIMIT}; use overbook for larger limits.")

    if reward_kind == Reward.BONUS:
        if bonus_amount in (None, ""):
            raise InvalidCode("A bonus code needs a bonus amount.")
        if free_spins_game is not None or free_spins_count or free_spin_stake:
            raise InvalidCode("A bonus code gives money only: leave the free-spin fields empty.")
        try:
            bonus_amount = parse_amount(bonus_amount, field="Bonus amount")
        except DomainError as exc:
            raise InvalidCode(exc.message) from exc
        free_spins_game = free_spins_count = free_spin_stake = None
    else:
        if bonus_amount not in (None, ""):
            raise InvalidCode("A free-spins code gives spins only: leave the bonus amount empty.")
        if free_spins_game is None:
            raise InvalidCode("A free-spins code needs a game.")
        if getattr(free_spins_game, "is_active", True) is False:
            raise InvalidCode(f"{free_spins_game} is not active.")
        if (
            isinstance(free_spins_count, bool)
            or not isinstance(free_spins_count, int)
            or not 1 <= free_spins_count <= FREE_SPINS_MAX_COUNT
        ):
            raise InvalidCode(f"Give between 1 and {FREE_SPINS_MAX_COUNT} free spins.")
        if free_spin_stake in (None, ""):
            raise InvalidCode("A free-spins code needs a stake per spin.")
        try:
            free_spin_stake = parse_amount(free_spin_stake, field="Free-spin stake")
        except DomainError as exc:
            raise InvalidCode(exc.message) from exc
        min_stake, max_stake = getattr(free_spins_game, "min_stake", None), getattr(free_spins_game, "max_stake", None)
        if min_stake is not None and not min_stake <= free_spin_stake <= max_stake:
            raise InvalidCode(f"The stake per free spin must be between {min_stake} and {max_stake} on this game.")
        bonus_amount = None

    pays_as = pays_as or PromotionCode.PaysAs.CASH
    if pays_as not in PromotionCode.PaysAs.values:
        raise InvalidCode(f"Unknown way to pay {pays_as!r}.")
    if pays_as == PromotionCode.PaysAs.BONUS:
        if reward_kind != Reward.BONUS:
            raise InvalidCode("Only a bonus-money reward can be paid as bonus funds.")
        if wagering_multiple in (None, "") or bonus_max_stake in (None, "") or bonus_valid_days in (None, ""):
            raise InvalidCode("Bonus funds need their terms: a wagering multiple, a maximum stake and a validity.")
        try:
            wagering_multiple, bonus_max_stake, bonus_conversion_cap = validate_bonus_terms(
                wagering_multiple=wagering_multiple, max_stake=bonus_max_stake, conversion_cap=bonus_conversion_cap
            )
        except DomainError as exc:
            raise InvalidCode(exc.message) from exc
        try:
            validate_valid_days(bonus_valid_days)
        except DomainError as exc:
            raise InvalidCode(exc.message) from exc
    else:
        if any(
            value not in (None, "")
            for value in (wagering_multiple, bonus_max_stake, bonus_valid_days, bonus_conversion_cap)
        ):
            raise InvalidCode("A cash reward has no bonus terms: leave them empty or pay as bonus funds.")
        wagering_multiple = bonus_max_stake = bonus_valid_days = bonus_conversion_cap = None
    return _spec_of(locals())


def code_exists(code: str) -> bool:
    return PromotionCode.objects.alias(code_upper=Upper("code")).filter(code_upper=normalize_code(code)).exists()


def _create_codes(*, codes: list[str], spec: dict, campaign: str, created_by) -> list[PromotionCode]:
    """Insert the codes (and a strict code's limit tokens). Call inside an atomic block."""
    created = PromotionCode.objects.bulk_create(
        [PromotionCode(code=c, campaign=campaign, created_by=created_by, **spec) for c in codes]
    )
    if spec["limit_policy"] == Policy.STRICT:
        _insert_limit_tokens(code_ids=[c.pk for c in created], limit=spec["limit"])
    return created


def _insert_limit_tokens(*, code_ids: list[int], limit: int) -> None:
    """Slots 1..limit for each code, generated by PostgreSQL (``generate_series``) in
    statements of at most ``TOKEN_INSERT_BATCH`` rows: nothing is built in Python."""
    table = LimitToken._meta.db_table
    sql = (
        f"INSERT INTO {table} (code_id, slot, redemption_id, created_at, updated_at) "  # noqa: S608 - table from meta
        "SELECT code_id, slot, NULL, %s, %s FROM unnest(%s::bigint[]) AS code_id "
        "CROSS JOIN generate_series(%s::integer, %s::integer) AS slot"
    )
    now = timezone.now()
    codes_per_statement = max(1, TOKEN_INSERT_BATCH // limit)
    slots_per_statement = min(limit, TOKEN_INSERT_BATCH)
    with connection.cursor() as cur:
        for start in range(0, len(code_ids), codes_per_statement):
            chunk = code_ids[start : start + codes_per_statement]
            for first in range(1, limit + 1, slots_per_statement):
                last = min(limit, first + slots_per_statement - 1)
                cur.execute(sql, [now, now, chunk, first, last])


def _clean_campaign(campaign) -> str:
    campaign = (campaign or "").strip()
    if len(campaign) > 100:
        raise InvalidCode("A campaign name has at most 100 characters.")
    return campaign


def issue_code(
    *,
    code: str,
    reward_kind: str,
    starts_at: datetime,
    ends_at: datetime,
    limit_policy: str = Policy.UNLIMITED,
    limit: int | None = None,
    bonus_amount=None,
    free_spins_game=None,
    free_spins_count: int | None = None,
    free_spin_stake=None,
    campaign: str = "",
    created_by: User | None = None,
    pays_as: str = PromotionCode.PaysAs.CASH,
    wagering_multiple: int | None = None,
    bonus_max_stake=None,
    bonus_valid_days: int | None = None,
    bonus_conversion_cap=None,
) -> PromotionCode:
    """Issue one code. The code is normalised (trimmed, upper-case, no spaces); a
    ``strict`` code gets one limit token per unit of its limit."""
    spec = validate_code_spec(**_spec_of(locals()))  # first statement: locals() are the arguments
    normalized = normalize_code(code)
    campaign = _clean_campaign(campaign)
    try:
        with transaction.atomic():
            (promo,) = _create_codes(codes=[normalized], spec=spec, campaign=campaign, created_by=created_by)
            if created_by is not None:
                audit(actor=created_by, action="promotion_code.issue", target=f"code:{normalized}", code_id=promo.pk)
    except IntegrityError as exc:
        if code_exists(normalized):
            raise InvalidCode(f"The code {normalized} already exists.") from exc
        raise
    return promo


def generate_code(*, prefix: str = "", length: int = BULK_DEFAULT_LENGTH) -> str:
    return prefix + "".join(secrets.choice(BULK_ALPHABET) for _ in range(length))


def issue_codes_bulk(
    *,
    count: int,
    prefix: str = "",
    length: int = BULK_DEFAULT_LENGTH,
    campaign: str,
    created_by: User | None = None,
    **spec_kwargs,
) -> list[PromotionCode]:
    """Issue ``count`` unique random codes (``prefix`` + ``length`` characters of a
    readable alphabet) for one campaign, with one reward, window and limit policy."""
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= BULK_MAX_COUNT:
        raise InvalidCode(f"Issue between 1 and {BULK_MAX_COUNT} codes at a time.")
    if isinstance(length, bool) or not isinstance(length, int) or length < BULK_MIN_LENGTH:
        raise InvalidCode(f"Generated codes need at least {BULK_MIN_LENGTH} random characters.")
    prefix = normalize_code(prefix) if (prefix or "").strip() else ""
    if len(prefix) + length > CODE_MAX_LENGTH:
        raise InvalidCode(f"Prefix plus length must stay within {CODE_MAX_LENGTH} characters.")
    campaign = _clean_campaign(campaign)
    if not campaign:
        raise InvalidCode("Name the campaign the codes belong to.")
    spec = validate_code_spec(**spec_kwargs)
    if spec["limit_policy"] == Policy.STRICT and count * spec["limit"] > BULK_MAX_TOKENS:
        raise InvalidCode(
            f"{count:,} strict codes with a limit of {spec['limit']:,} each would need "
            f"{count * spec['limit']:,} limit tokens; one bulk issue makes at most {BULK_MAX_TOKENS:,}. "
            "Issue fewer codes, lower the limit, or use the overbook policy."
        )

    for _ in range(5):  # a collision with an existing code is astronomically rare; retry it anyway
        codes: set[str] = set()
        while len(codes) < count:
            codes.add(generate_code(prefix=prefix, length=length))
        taken = set(
            PromotionCode.objects.annotate(code_upper=Upper("code"))
            .filter(code_upper__in=codes)
            .values_list("code_upper", flat=True)
        )
        if taken:
            continue
        try:
            with transaction.atomic():
                created = _create_codes(codes=sorted(codes), spec=spec, campaign=campaign, created_by=created_by)
                if created_by is not None:
                    audit(
                        actor=created_by,
                        action="promotion_code.issue_bulk",
                        target=f"campaign:{campaign}",
                        count=count,
                        prefix=prefix,
                    )
        except IntegrityError:
            continue  # someone inserted one of our codes meanwhile: draw again
        return created
    raise InvalidCode("Could not generate unique codes; use a longer length or another prefix.")


def deactivate_code(*, code: PromotionCode, actor: User | None) -> PromotionCode:
    """Stop a code from being redeemed (redemptions made stay). Audited; idempotent."""

    def attempt() -> PromotionCode:
        with transaction.atomic():
            current = PromotionCode.objects.get(pk=code.pk)
            if not current.is_active:
                return current
            current.version = versioned_update(
                PromotionCode, pk=current.pk, version=current.version, is_active=False, updated_at=timezone.now()
            )
            current.is_active = False
            audit(actor=actor, action="promotion_code.deactivate", target=f"code:{current.code}", code_id=current.pk)
            return current

    return retry_on_conflict(attempt)


# --- redeeming ----------------------------------------------------------------------------------
def check_redeemable(promo: PromotionCode, *, at: datetime | None = None) -> None:
    """Raise ``CodeNotActive`` saying why, unless ``at`` is inside [starts_at, ends_at) and the code is active."""
    at = at or timezone.now()
    if not promo.is_active:
        raise CodeNotActive(f"The code {promo.code} has been deactivated.")
    if at < promo.starts_at:
        raise CodeNotActive(f"The code {promo.code} is not yet active: it starts {promo.starts_at:%Y-%m-%d %H:%M} UTC.")
    if at >= promo.ends_at:
        raise CodeNotActive(f"The code {promo.code} has expired (it ended {promo.ends_at:%Y-%m-%d %H:%M} UTC).")


def reward_key(*, code: str, player_id: int) -> str:
    return f"redemption:{code}:{player_id}"


def _insert_redemption(*, promo: PromotionCode, player: User) -> Redemption:
    """The (code, player) unique constraint decides; a loser gets ``AlreadyRedeemed``.

    ``ON CONFLICT DO NOTHING`` instead of a savepoint around the insert: the same
    decision by the same constraint, one round trip instead of three (issue 14).
    """
    now = timezone.now()
    redemption = Redemption(
        code=promo,
        player=player,
        reward_kind=promo.reward_kind,
        bonus_amount=promo.bonus_amount if promo.reward_kind == Reward.BONUS else Decimal("0.00"),
        free_spins_count=promo.free_spins_count if promo.reward_kind == Reward.FREE_SPINS else 0,
        created_at=now,
        updated_at=now,
    )
    fields = ["code_id", "player_id", "reward_kind", "bonus_amount", "free_spins_count", "created_at", "updated_at"]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Redemption._meta.db_table} ({', '.join(fields)}) "  # noqa: S608 - names from the model
            f"VALUES ({', '.join(['%s'] * len(fields))}) ON CONFLICT (code_id, player_id) DO NOTHING RETURNING id",
            [getattr(redemption, name) for name in fields],
        )
        row = cursor.fetchone()
    if row is None:
        raise AlreadyRedeemed(f"You have already redeemed {promo.code}.")
    redemption.pk = row[0]
    redemption._state.adding, redemption._state.db = False, connection.alias
    return redemption


def _grant_reward(*, promo: PromotionCode, redemption: Redemption, player: User) -> None:
    """Give the reward inside the redemption's transaction."""
    key = reward_key(code=promo.code, player_id=player.pk)
    if promo.reward_kind == Reward.BONUS and promo.pays_as == PromotionCode.PaysAs.BONUS:
        grant_bonus(
            player=player,
            amount=promo.bonus_amount,
            wagering_multiple=promo.wagering_multiple,
            expires_at=timezone.now() + timedelta(days=promo.bonus_valid_days),
            max_stake=promo.bonus_max_stake,
            conversion_cap=promo.bonus_conversion_cap,
            source_key=key,
            source=f"Promotion code {promo.code}",
        )
    elif promo.reward_kind == Reward.BONUS:
        amount = promo.bonus_amount
        move_money(
            player_id=player.pk,
            delta=amount,
            counterparty=ledger.SYSTEM_PROMOTIONS,
            kind=LedgerTransaction.Kind.REDEMPTION,
            idempotency_key=key,
            reference=f"redemption:{redemption.pk}",
            description=f"Promotion code {promo.code}",
        )
    else:
        grant_free_spins(
            player=player,
            game=promo.free_spins_game,
            count=promo.free_spins_count,
            stake=promo.free_spin_stake,
            source_key=key,
            description=f"Promotion code {promo.code}",
        )


def _claim_limit_token(*, promo: PromotionCode, redemption: Redemption) -> None:
    """Claim one free limit token of a strict code, or raise ``LimitReached``.

    ``SKIP LOCKED`` lets concurrent redeemers each take a different token with
    no queue on one row. Only when every free token is held by an in-flight
    redemption do we wait (plain ``FOR UPDATE``) for those to finish, so a token
    released by a rollback is not lost; once tokens are committed-used the
    second query finds none at once.
    """
    free = "SELECT id FROM promotions_limittoken WHERE code_id = %s AND redemption_id IS NULL ORDER BY slot LIMIT 1"
    with connection.cursor() as cur:
        cur.execute(free + " FOR UPDATE SKIP LOCKED", [promo.pk])
        row = cur.fetchone()
        if row is None:
            cur.execute(free + " FOR UPDATE", [promo.pk])
            row = cur.fetchone()
        if row is None:
            raise LimitReached(f"The code {promo.code} has been fully redeemed.")
        cur.execute(
            "UPDATE promotions_limittoken SET redemption_id = %s, updated_at = %s WHERE id = %s",
            [redemption.pk, timezone.now(), row[0]],
        )


def _check_overbook(promo: PromotionCode) -> None:
    """Count, no lock, after inserting our own row: committed redemptions plus ours.

    Concurrent redeemers do not see each other's uncommitted rows, so each may
    see room: with N at once the overshoot is at most N-1, and it is reported.
    """
    if Redemption.objects.filter(code_id=promo.pk).count() > promo.limit:
        raise LimitReached(f"The code {promo.code} has been fully redeemed.")


# The code and the player's gate in one round trip (issue 14): the code row share-locked
# (a concurrent deactivation, an UPDATE of it, waits until this redemption commits, or
# this read sees it; shared locks do not block each other, and a redemption never writes
# the code row) and the player's user row share-locked with the exclusion check
# (``accounts.services.responsible``: an exclusion waits for us, or we see it).
_GATE_JOIN, _GATE_BLOCKED, _GATE_LOCK = gate_sql("%(player)s")
_CODE_FIELDS = list(PromotionCode._meta.concrete_fields)
_REDEEM_READ = f"""
    SELECT {", ".join("c." + f.column for f in _CODE_FIELDS)}, {_GATE_BLOCKED}
    FROM {PromotionCode._meta.db_table} c {_GATE_JOIN}
    WHERE UPPER(c.code) = %(code)s
    {_GATE_LOCK}, c
"""  # noqa: S608 - table and column names from the models' meta; values are bound


def _code_for_redeeming(*, normalized: str, player: User) -> PromotionCode:
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(_REDEEM_READ, {"code": normalized, "player": player.pk, "gate_now": now})
        row = cursor.fetchone()
    if row is None:
        check_can_play(player=player)  # an excluded player hears that first, whatever the code
        raise UnknownCode(f"The code {normalized} does not exist. Check the spelling.")
    if row[-1]:
        raise_blocked(player=player, now=now)
    return PromotionCode.from_db(connection.alias, [f.attname for f in _CODE_FIELDS], row[:-1])


def redeem(*, player: User, code: str) -> Redemption:
    """Redeem ``code`` for ``player``: one redemption row plus its reward, in one transaction.

    Raises ``InvalidCode``, ``UnknownCode``, ``CodeNotActive``, ``AlreadyRedeemed``,
    ``LimitReached``, and ``PlayerBlocked`` during a self-exclusion or break (a
    bonus is an incentive to play). Never writes the code row. Every check is made
    inside the transaction that writes, on the rows it locked.
    """
    normalized = normalize_code(code)

    def attempt() -> Redemption:
        with transaction.atomic():
            current = _code_for_redeeming(normalized=normalized, player=player)
            check_redeemable(current)
            redemption = _insert_redemption(promo=current, player=player)  # first: AlreadyRedeemed wins
            if current.limit_policy == Policy.STRICT:
                _claim_limit_token(promo=current, redemption=redemption)
            elif current.limit_policy == Policy.OVERBOOK:
                _check_overbook(current)
            _grant_reward(promo=current, redemption=redemption, player=player)
            return redemption

    return retry_on_conflict(attempt)
