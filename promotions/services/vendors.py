"""Vendor promotions: the Vendor aggregate guards "one per type, two at a time".

Every change to a vendor's promotions is one transaction that

1. reads the vendor's version, *then* its live promotions (so what it decides on
   is never newer than the version it will write against),
2. archives the vendor's expired promotions (lazily, the beat task does the rest),
3. checks both invariants over the new window with a sweep over the range
   boundaries (the maximum number active at any instant, not a count of the
   overlapping promotions),
4. bumps the vendor's version (``versioned_update``) and writes the change.

Two concurrent changes to one vendor therefore cannot both commit: the second
conditional UPDATE finds the version moved on, raises ``ConcurrencyConflict``,
and ``retry_on_conflict`` re-runs the whole decision against the new state. The
exclusion constraint on (vendor, kind, period) backs "one per type" in the
database as well.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.utils import timezone

from casino.models import Game, Vendor
from core.audit import audit
from core.exceptions import DomainError, InvalidAmount
from core.money import format_money, parse_amount
from core.versioning import retry_on_conflict, versioned_update
from promotions.exceptions import InvalidPromotion, PromotionOverlap
from promotions.models import PromotionHistory, VendorPromotion
from promotions.models.vendors import PaysAs, PromotionKind
from promotions.services.bonus import validate_bonus_terms, validate_valid_days

MAX_ACTIVE = 2
# A start a few minutes in the past is accepted (a form filled in "now"); older
# starts would rewrite the past, which belongs to the history table.
PAST_GRACE = timedelta(minutes=10)
MAX_FREE_SPINS = 1000
MAX_FREE_SPIN_STAKE = Decimal("100.00")
# How cashback is paid (issue 16): cash, or bonus funds with these terms. Only cashback pays
# money; free spins and win boosts always pay cash, so the terms are cashback's parameters.
BONUS_TERMS = ("pays_as", "wagering_multiple", "bonus_max_stake", "bonus_valid_days", "bonus_conversion_cap")
# The same bound as a promotion code's bonus (codes and vendor promotions are independent
# sub-domains: neither imports the other).
PARAMS_BY_KIND = {
    PromotionKind.FREE_SPINS: ("free_spins_count", "free_spin_stake"),
    PromotionKind.WIN_BOOST: ("percent",),
    PromotionKind.CASHBACK: ("percent", *BONUS_TERMS),
}
ALL_PARAMS = ("free_spins_count", "free_spin_stake", "percent", *BONUS_TERMS)
# validate_bonus_terms names its fields after grant_bonus's arguments.
_TERM_FIELDS = {"wagering_multiple": "wagering_multiple", "max_stake": "bonus_max_stake",
                "conversion_cap": "bonus_conversion_cap"}  # fmt: skip


# --- describing promotions in messages ---------------------------------------
def _fmt(at: datetime, *, year: bool = True) -> str:
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M" if year else "%m-%d %H:%M")


def describe(promo) -> str:
    """'Free spins 2026-12-01 10:00 – 12-03 10:00' (local time); a cashback paid as bonus
    funds says so with its terms: 'Cashback as bonus funds (wager 5x, max stake €2.00,
    7 days) 2026-12-01 10:00 – 12-03 10:00'."""
    label = PromotionKind(promo.kind).label
    if getattr(promo, "pays_as", PaysAs.CASH) == PaysAs.BONUS:
        label = f"{label} as bonus funds ({promo.describe_terms(format_money)})"
    return f"{label} {_fmt(promo.starts_at)} – {_fmt(promo.ends_at, year=False)}"


# --- the invariant check (pure: no database) ----------------------------------
@dataclass
class Window:
    """A promotion as the check sees it (a live one, a history row, or a candidate)."""

    kind: str
    starts_at: datetime
    ends_at: datetime
    pk: int | None = None
    source: object = field(default=None, repr=False)

    def overlaps(self, starts_at: datetime, ends_at: datetime) -> bool:
        # Half-open [start, end): touching ranges (end == start) do not overlap.
        return self.starts_at < ends_at and starts_at < self.ends_at


def check_invariants(*, kind: str, starts_at: datetime, ends_at: datetime, others: Iterable) -> None:
    """Raise ``PromotionOverlap`` if a promotion ``kind`` over [starts_at, ends_at)
    would break "one per type" or "two at a time" given the ``others``.

    ``others`` are objects with ``kind``, ``starts_at``, ``ends_at`` (the
    candidate itself must not be among them).
    """
    overlapping = [o for o in others if o.starts_at < ends_at and starts_at < o.ends_at]
    same_kind = sorted((o for o in overlapping if o.kind == kind), key=lambda o: o.starts_at)
    if same_kind:
        first = same_kind[0]
        at = max(first.starts_at, starts_at)
        raise PromotionOverlap(
            f"{describe(first)} already runs then (from {_fmt(at)}): only one "
            f"{PromotionKind(kind).label.lower()} promotion may run at a time.",
            conflicting=same_kind,
            at=at,
        )
    peak, at, active = _peak(overlapping, starts_at, ends_at)
    if peak + 1 > MAX_ACTIVE:
        names = " and ".join(describe(o) for o in active)
        raise PromotionOverlap(
            f"{names} already run at {_fmt(at)}: at most {MAX_ACTIVE} promotions may run at once.",
            conflicting=active,
            at=at,
        )


def _peak(overlapping: Sequence, starts_at: datetime, ends_at: datetime):
    """Sweep the boundaries of ``overlapping`` clipped to [starts_at, ends_at).

    Returns (maximum number active at one instant, first instant it is reached,
    the promotions active then).
    """
    events = []
    for o in overlapping:
        events.append((max(o.starts_at, starts_at), 1, o))
        events.append((min(o.ends_at, ends_at), -1, o))
    # At one instant, ends (-1) come before starts (+1): the ranges are half-open.
    events.sort(key=lambda e: (e[0], e[1]))
    active: list = []
    peak, peak_at, peak_set = 0, starts_at, []
    for instant, delta, o in events:
        if delta > 0:
            active.append(o)
            if len(active) > peak:
                peak, peak_at, peak_set = len(active), instant, list(active)
        else:
            active.remove(o)
    return peak, peak_at, peak_set


# --- parameter validation -------------------------------------------------------
def _given(name: str, value) -> bool:
    # "Pays as cash" is the default, so it counts as not given (a form posts it on every row).
    return value not in (None, "") and not (name == "pays_as" and value == PaysAs.CASH)


def clean_params(kind: str, params: dict) -> dict:
    """Validate a kind's parameters; returns every column of ``ALL_PARAMS`` (the ones that
    do not apply None, ``pays_as`` "cash")."""
    try:
        kind = PromotionKind(kind)
    except ValueError:
        raise InvalidPromotion(f"Unknown promotion type {kind!r}.") from None
    unknown = set(params) - set(ALL_PARAMS)
    if unknown:
        raise InvalidPromotion(f"Unknown promotion parameter(s): {', '.join(sorted(unknown))}.")
    wanted = PARAMS_BY_KIND[kind]
    for name in ALL_PARAMS:
        if name not in wanted and _given(name, params.get(name)):
            if name in BONUS_TERMS:
                raise InvalidPromotion(
                    f"{kind.label} always pays cash: bonus terms apply to cashback only.", field=name
                )
            raise InvalidPromotion(f"{name.replace('_', ' ').capitalize()} does not apply to {kind.label.lower()}.")
    cleaned: dict = dict.fromkeys(ALL_PARAMS)
    cleaned["pays_as"] = PaysAs.CASH
    if kind == PromotionKind.FREE_SPINS:
        count = params.get("free_spins_count")
        if isinstance(count, bool) or not isinstance(count, int | str) or not str(count).isdigit():
            raise InvalidPromotion("Free spins need a whole number of spins.")
        count = int(count)
        if not 1 <= count <= MAX_FREE_SPINS:
            raise InvalidPromotion(f"Free spins: between 1 and {MAX_FREE_SPINS} spins.")
        try:
            stake = parse_amount(params.get("free_spin_stake"), field="Free spin stake", maximum=MAX_FREE_SPIN_STAKE)
        except InvalidAmount as exc:
            raise InvalidPromotion(exc.message) from None
        cleaned.update(free_spins_count=count, free_spin_stake=stake)
    else:
        cleaned["percent"] = _parse_percent(params.get("percent"))
    if kind == PromotionKind.CASHBACK:
        cleaned.update(clean_bonus_terms(params))
    return cleaned


def clean_bonus_terms(params: dict) -> dict:
    """Cashback's way to pay: cash (no terms) or bonus funds with a wagering multiple (1 to
    the regulator's 10, or the lower ``BONUS_MAX_WAGERING_MULTIPLE``), a maximum stake, a
    validity in days and an optional conversion cap. Errors name the field and the rule."""
    pays_as = params.get("pays_as") or PaysAs.CASH
    if pays_as not in PaysAs.values:
        raise InvalidPromotion("Cashback pays as cash or as bonus funds.", field="pays_as")
    terms = [name for name in BONUS_TERMS if name != "pays_as"]
    if pays_as == PaysAs.CASH:
        given = [name for name in terms if _given(name, params.get(name))]
        if given:
            raise InvalidPromotion(
                "Cashback paid as cash has no bonus terms: leave them empty or pay it as bonus funds.",
                field=given[0],
            )
        return {"pays_as": PaysAs.CASH, **dict.fromkeys(terms)}
    missing = [name for name in terms[:3] if params.get(name) in (None, "")]
    if missing:
        raise InvalidPromotion(
            "Cashback as bonus funds needs its terms: a wagering multiple, a maximum stake and a validity (days).",
            field=missing[0],
        )
    multiple = _whole(params["wagering_multiple"], "The wagering multiple is a whole number.", "wagering_multiple")
    try:
        multiple, max_stake, cap = validate_bonus_terms(
            wagering_multiple=multiple,
            max_stake=params["bonus_max_stake"],
            conversion_cap=params.get("bonus_conversion_cap"),
        )
    except DomainError as exc:
        raise InvalidPromotion(exc.message, field=_TERM_FIELDS.get(exc.field or "")) from None
    days = _whole(params["bonus_valid_days"], "The validity is a whole number of days.", "bonus_valid_days")
    try:
        validate_valid_days(days)
    except DomainError as exc:
        raise InvalidPromotion(exc.message, field="bonus_valid_days") from None
    return {
        "pays_as": PaysAs.BONUS,
        "wagering_multiple": multiple,
        "bonus_max_stake": max_stake,
        "bonus_valid_days": days,
        "bonus_conversion_cap": cap,
    }


def _whole(value, message: str, field: str) -> int:
    """A whole number from an int or a string of digits (a form's or an API's)."""
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).strip().isdigit():
        raise InvalidPromotion(message, field=field)
    return int(str(value).strip())


def _parse_percent(value) -> Decimal:
    if isinstance(value, float | bool) or value in (None, ""):
        raise InvalidPromotion("Enter a percentage between 0.01 and 100.")
    try:
        percent = Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidPromotion("Enter a percentage between 0.01 and 100.") from None
    if not percent.is_finite() or percent.as_tuple().exponent < -2 or not Decimal("0") < percent <= 100:
        raise InvalidPromotion("Enter a percentage between 0.01 and 100 (at most two decimals).")
    return percent.quantize(Decimal("0.01"))


def check_free_spin_stake(*, vendor_id: int | None, stake: Decimal) -> None:
    """Refuse a free-spin stake outside the stake range of any active game of the vendor.

    A vendor's free spins are granted on whichever of its games the player opens,
    so the stake must fit every one of them. Checked when a free-spins promotion
    is added or its stake changes; a game's range may still change later (or a
    game join the vendor): ``effects.grant_vendor_free_spins`` re-checks the game
    it grants on and skips a misfit.
    """
    if not vendor_id:
        return
    games = list(Game.objects.filter(vendor_id=vendor_id, is_active=True).order_by("name", "pk"))
    misfits = [g for g in games if not g.min_stake <= stake <= g.max_stake]
    if not misfits:
        return
    ranges = ", ".join(f"{g.name} ({g.min_stake}–{g.max_stake})" for g in misfits)
    low = max(g.min_stake for g in games)
    high = min(g.max_stake for g in games)
    fits = f"a stake from {low} to {high} fits all its games" if low <= high else "no single stake fits all its games"
    raise InvalidPromotion(
        f"Free spin stake {stake} is outside the stake range of {ranges}: {fits}.",
        field="free_spin_stake",
    )


def validate_window(starts_at, ends_at, *, now: datetime, started: datetime | None = None) -> tuple[datetime, datetime]:
    if not isinstance(starts_at, datetime) or not isinstance(ends_at, datetime):
        raise InvalidPromotion("Give the promotion a start and an end.")
    if timezone.is_naive(starts_at) or timezone.is_naive(ends_at):
        raise InvalidPromotion("Start and end need a time zone.")
    if ends_at <= starts_at:
        raise InvalidPromotion("The end must be after the start.")
    if ends_at <= now:
        raise InvalidPromotion("That promotion would already be over.")
    if started is not None:
        # An active promotion already ran from its start: only its end may move.
        if starts_at != started:
            raise InvalidPromotion("This promotion has started: only its end can change.")
    elif starts_at < now - PAST_GRACE:
        raise InvalidPromotion("A promotion cannot start in the past.")
    return starts_at, ends_at


# --- the aggregate's one write path ---------------------------------------------
def _load(vendor_id: int, *, now: datetime) -> tuple[Vendor, list[PromotionHistory]]:
    """Vendor (its version read first), then its lazily archived expired promotions."""
    vendor = Vendor.objects.get(pk=vendor_id)
    archived = _archive_vendor(vendor, now=now)
    return vendor, archived


def _others(vendor: Vendor, starts_at: datetime, ends_at: datetime, *, exclude: int | None = None) -> list:
    """Everything that can collide with [starts_at, ends_at): live promotions and,
    for a start a little in the past, history rows."""
    live = VendorPromotion.objects.filter(vendor=vendor, starts_at__lt=ends_at, ends_at__gt=starts_at)
    if exclude is not None:
        live = live.exclude(pk=exclude)
    past = PromotionHistory.objects.filter(vendor=vendor, starts_at__lt=ends_at, ends_at__gt=starts_at)
    return [*live, *past]


def _bump(vendor: Vendor) -> None:
    vendor.version = versioned_update(Vendor, pk=vendor.pk, version=vendor.version)


def _audit(actor, action: str, promo, **details) -> None:
    audit(actor=actor, action=action, target=f"vendor:{promo.vendor_id} promotion:{promo.pk}", **details)


def add_vendor_promotion(
    *, vendor: Vendor, kind: str, starts_at: datetime, ends_at: datetime, actor=None, **params
) -> VendorPromotion:
    """Add a promotion to ``vendor`` if both invariants hold over its window.

    Params: ``free_spins_count`` and ``free_spin_stake`` for free spins,
    ``percent`` for win boost and cashback; cashback also takes how it pays
    (``pays_as`` "cash", the default, or "bonus" with ``wagering_multiple``,
    ``bonus_max_stake``, ``bonus_valid_days`` and an optional
    ``bonus_conversion_cap``). Raises ``InvalidPromotion`` for bad
    input (a free-spin stake outside an active game's stake range included) and
    ``PromotionOverlap`` (naming the conflicting promotions and the instant) when
    the window collides.
    """
    cleaned = clean_params(kind, params)

    def attempt() -> VendorPromotion:
        now = timezone.now()
        start, end = validate_window(starts_at, ends_at, now=now)
        with transaction.atomic():
            current, _ = _load(vendor.pk, now=now)
            if kind == PromotionKind.FREE_SPINS:
                check_free_spin_stake(vendor_id=current.pk, stake=cleaned["free_spin_stake"])
            check_invariants(kind=kind, starts_at=start, ends_at=end, others=_others(current, start, end))
            _bump(current)
            promo = _insert(current, kind=kind, starts_at=start, ends_at=end, **cleaned)
            _audit(actor, "vendor_promotion.add", promo, kind=kind, window=describe(promo))
        vendor.version = current.version
        return promo

    return retry_on_conflict(attempt)


def update_vendor_promotion_window(
    *, promotion: VendorPromotion, starts_at: datetime, ends_at: datetime, actor=None, **params
) -> VendorPromotion:
    """Move a live promotion's window (and optionally change its parameters).

    Both invariants are re-checked against the vendor's other promotions. A
    promotion that has started keeps its start; only its end may move. A
    parameter passed as None keeps its value, except a cashback's bonus terms:
    passing ``pays_as`` replaces all of them at once (so "cash" drops them, and
    a conversion cap left out is removed).
    """

    def attempt() -> VendorPromotion:
        now = timezone.now()
        with transaction.atomic():
            current, _ = _load(promotion.vendor_id, now=now)
            promo = VendorPromotion.objects.filter(pk=promotion.pk, vendor=current).first()
            if promo is None:
                raise InvalidPromotion("That promotion is over and has moved to the history.")
            merged = {name: getattr(promo, name) for name in PARAMS_BY_KIND[PromotionKind(promo.kind)]}
            if params.get("pays_as") is not None:
                merged.update({name: params.get(name) for name in BONUS_TERMS})
            merged.update({k: v for k, v in params.items() if v is not None})
            cleaned = clean_params(promo.kind, merged)
            if promo.kind == PromotionKind.FREE_SPINS and cleaned["free_spin_stake"] != promo.free_spin_stake:
                # Only a new stake is checked: a window edit (even ending it early)
                # must not be blocked by a game's range changed since; the effect
                # skips that game meanwhile.
                check_free_spin_stake(vendor_id=current.pk, stake=cleaned["free_spin_stake"])
            started = promo.starts_at if promo.starts_at <= now else None
            start, end = validate_window(starts_at, ends_at, now=now, started=started)
            others = _others(current, start, end, exclude=promo.pk)
            check_invariants(kind=promo.kind, starts_at=start, ends_at=end, others=others)
            _bump(current)
            before = describe(promo)
            promo.starts_at, promo.ends_at = start, end
            for name, value in cleaned.items():
                setattr(promo, name, value)
            try:
                with transaction.atomic():
                    promo.save(update_fields=["starts_at", "ends_at", *ALL_PARAMS, "updated_at"])
            except IntegrityError as exc:
                raise _integrity_to_overlap(exc, promo) from exc
            _audit(actor, "vendor_promotion.update", promo, before=before, after=describe(promo))
        return promo

    return retry_on_conflict(attempt)


def remove_vendor_promotion(*, promotion: VendorPromotion, actor=None) -> PromotionHistory | None:
    """Remove a live promotion: a future one is deleted (it never ran); an active
    one is ended now and moved to the history (returned)."""

    def attempt() -> PromotionHistory | None:
        now = timezone.now()
        with transaction.atomic():
            current, _ = _load(promotion.vendor_id, now=now)
            promo = VendorPromotion.objects.filter(pk=promotion.pk, vendor=current).first()
            if promo is None:
                return PromotionHistory.objects.filter(original_id=promotion.pk).first()
            _bump(current)
            _audit(actor, "vendor_promotion.remove", promo, window=describe(promo))
            if promo.starts_at > now:
                promo.delete()
                return None
            promo.ends_at = now
            return _move_to_history([promo], now=now)[0]

    return retry_on_conflict(attempt)


def _insert(vendor: Vendor, **values) -> VendorPromotion:
    promo = VendorPromotion(vendor=vendor, **values)
    try:
        with transaction.atomic():
            promo.save()
    except IntegrityError as exc:
        raise _integrity_to_overlap(exc, promo) from exc
    return promo


def _integrity_to_overlap(exc: IntegrityError, promo: VendorPromotion) -> Exception:
    """The database's own guard fired (only reachable if a write bypassed the
    aggregate): translate it into the same typed error."""
    if "vendor_promotion_one_per_kind" in str(exc):
        return PromotionOverlap(
            f"Another {PromotionKind(promo.kind).label.lower()} promotion already runs during "
            f"{_fmt(promo.starts_at)} – {_fmt(promo.ends_at, year=False)}.",
            at=promo.starts_at,
        )
    return InvalidPromotion("That promotion is not valid (its window or parameters).")


# --- archiving ----------------------------------------------------------------
def _move_to_history(promos: list[VendorPromotion], *, now: datetime) -> list[PromotionHistory]:
    """Copy then delete, in the caller's transaction. Idempotent by original_id."""
    if not promos:
        return []
    PromotionHistory.objects.bulk_create(
        [
            PromotionHistory(
                original_id=p.pk,
                vendor_id=p.vendor_id,
                kind=p.kind,
                starts_at=p.starts_at,
                ends_at=p.ends_at,
                free_spins_count=p.free_spins_count,
                free_spin_stake=p.free_spin_stake,
                percent=p.percent,
                pays_as=p.pays_as,
                wagering_multiple=p.wagering_multiple,
                bonus_max_stake=p.bonus_max_stake,
                bonus_valid_days=p.bonus_valid_days,
                bonus_conversion_cap=p.bonus_conversion_cap,
                promotion_created_at=p.created_at,
                archived_at=now,
            )
            for p in promos
        ],
        ignore_conflicts=True,
    )
    ids = [p.pk for p in promos]
    VendorPromotion.objects.filter(pk__in=ids).delete()
    return list(PromotionHistory.objects.filter(original_id__in=ids).order_by("ends_at", "original_id"))


def _archive_vendor(vendor: Vendor, *, now: datetime) -> list[PromotionHistory]:
    """Inside an open transaction that will bump ``vendor``'s version."""
    expired = list(VendorPromotion.objects.filter(vendor=vendor, ends_at__lte=now))
    return _move_to_history(expired, now=now)


def archive_expired_promotions(*, now: datetime | None = None) -> list[PromotionHistory]:
    """Move every promotion that ended at or before ``now`` into the history.

    One transaction per vendor, each a versioned change of that vendor. Safe to
    run twice (and concurrently with staff edits): a second run finds nothing.
    """
    now = now or timezone.now()
    vendor_ids = (
        VendorPromotion.objects.filter(ends_at__lte=now).order_by("vendor_id").values_list("vendor_id", flat=True)
    )
    moved: list[PromotionHistory] = []
    for vendor_id in sorted(set(vendor_ids)):

        def attempt(vendor_id=vendor_id) -> list[PromotionHistory]:
            with transaction.atomic():
                vendor = Vendor.objects.get(pk=vendor_id)
                archived = _archive_vendor(vendor, now=now)
                if archived:
                    _bump(vendor)
                return archived

        moved.extend(retry_on_conflict(attempt))
    return moved
