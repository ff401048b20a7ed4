"""Vendor cashback paid as bonus funds (issue 16): the terms on the promotion, the grant on leaving,
the 10x cap refused in the service, the database and the admin, and the terms kept in the history."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts import ledger
from accounts.models import Account, LedgerEntry, LedgerTransaction
from casino import services as casino
from casino.models import Game, Vendor
from core.models import AuditLog
from promotions import effects
from promotions import services as promotions
from promotions.exceptions import InvalidPromotion
from promotions.models import BonusGrant, PromotionHistory, VendorPromotion
from promotions.services.vendors import clean_params, describe
from tests.factories import PlayerFactory
from tests.helpers.slots import force_reels

DAY = timedelta(days=1)
TERMS = {"pays_as": "bonus", "wagering_multiple": 5, "bonus_max_stake": "2.00", "bonus_valid_days": 7}


@pytest.fixture
def vendor(db):
    return Vendor.objects.create(slug="acme", name="Acme Slots")


@pytest.fixture
def game(vendor):
    return Game.objects.create(
        slug="acme-fruit",
        name="Acme Fruit",
        vendor=vendor,
        min_stake=Decimal("0.10"),
        max_stake=Decimal("5.00"),
        reels=[["cherry", "lemon", "plum"]] * 3,
        paytable=[{"line": ["cherry", "cherry", "cherry"], "pays": 2}],
    )


@pytest.fixture
def losing(monkeypatch):
    """Every spin stops on lemon, lemon, lemon: a loss (the RNG is the only thing replaced)."""

    force_reels(monkeypatch, "lemon", "lemon", "lemon")


def running(vendor, **params):
    now = timezone.now()
    return promotions.add_vendor_promotion(
        vendor=vendor, kind="cashback", starts_at=now, ends_at=now + DAY, percent="10", **params
    )


def lose(player, game, *, stakes=("1.15", "1.15", "1.15"), feed="10.00", use_bonus=False):
    session = casino.open_session(player=player, game=game)
    casino.feed(session=session, amount=feed, idempotency_key="feed", use_bonus=use_bonus)
    for i, stake in enumerate(stakes):
        casino.spin(session=session, stake=stake, idempotency_key=f"s{i}")
    return session, casino.leave(session=session)


def cash(player) -> Decimal:
    return Account.objects.get(user=player).balance


def pot() -> Decimal:
    return sum((e.amount for e in LedgerEntry.objects.filter(account=ledger.SYSTEM_PROMOTIONS)), Decimal("0"))


# --- the effect -----------------------------------------------------------------------------
def test_cash_cashback_is_unchanged(vendor, game, player, losing, assert_reconciles):
    promo = running(vendor)
    assert promo.pays_as == "cash" and promo.wagering_multiple is None
    session, closed = lose(player, game)

    tx = LedgerTransaction.objects.get(idempotency_key=f"cashback:{promo.pk}:{session.pk}")
    assert tx.kind == LedgerTransaction.Kind.PROMOTION
    assert cash(player) == Decimal("100.00") - Decimal("3.45") + Decimal("0.34")
    assert not BonusGrant.objects.exists()
    assert_reconciles()


def test_bonus_cashback_makes_one_grant_with_the_terms_on_leave(vendor, game, player, losing, assert_reconciles):
    promo = running(vendor, **TERMS, bonus_conversion_cap="10.00")
    session, closed = lose(player, game)

    grant = BonusGrant.objects.get(player=player)
    assert (grant.amount, grant.balance, grant.status) == (Decimal("0.34"), Decimal("0.34"), "active")
    assert (grant.wagering_multiple, grant.wagering_required, grant.wagering_done) == (5, Decimal("1.70"), 0)
    assert (grant.max_stake, grant.conversion_cap) == (Decimal("2.00"), Decimal("10.00"))
    assert grant.expires_at == closed.closed_at + 7 * DAY
    assert grant.source_key == f"cashback:{promo.pk}:{session.pk}"
    assert "10% cashback on session" in grant.source and "Acme Slots" in grant.source
    # Bonus funds, not cash: the player's cash is only what the machine gave back.
    assert cash(player) == Decimal("100.00") - Decimal("3.45")
    assert not LedgerTransaction.objects.filter(kind=LedgerTransaction.Kind.PROMOTION).exists()
    assert pot() == Decimal("-0.34")

    # A replayed leave (and the hook run again) makes no second grant and moves nothing.
    count = LedgerTransaction.objects.count()
    casino.leave(session=session)
    effects.pay_cashback(closed)
    assert BonusGrant.objects.filter(player=player).count() == 1
    assert LedgerTransaction.objects.count() == count
    assert_reconciles()


def test_cashback_counts_only_the_cash_part_of_the_play(vendor, game, losing, assert_reconciles):
    """Cashback on lost bonus funds would turn a bonus into cash without wagering it."""
    player = PlayerFactory(balance="2.00")
    promotions.grant_bonus(
        player=player,
        amount="3.00",
        wagering_multiple=1,
        expires_at=timezone.now() + DAY,
        max_stake="2.00",
        source_key="test:welcome",
    )
    running(vendor)  # pays cash
    session, closed = lose(player, game, stakes=["1.00"] * 5, feed="5.00", use_bonus=True)

    assert (closed.total_staked, closed.bonus_staked) == (Decimal("5.00"), Decimal("3.00"))
    tx = LedgerTransaction.objects.get(kind=LedgerTransaction.Kind.PROMOTION)
    assert ledger.moved(tx, f"player:{player.pk}") == Decimal("0.20"), "10% of the 2.00 of cash lost, not of 5.00"
    assert cash(player) == Decimal("0.20")
    assert_reconciles()


def test_a_since_lowered_wagering_cap_lowers_the_grant_and_never_blocks_leaving(
    vendor, game, player, losing, settings, assert_reconciles
):
    running(vendor, **{**TERMS, "wagering_multiple": 8})
    settings.BONUS_MAX_WAGERING_MULTIPLE = 5
    _, closed = lose(player, game)
    assert closed.status == "closed"
    grant = BonusGrant.objects.get(player=player)
    assert (grant.wagering_multiple, grant.wagering_required) == (5, Decimal("1.70"))
    assert_reconciles()


# --- the service ----------------------------------------------------------------------------
def test_eleven_times_is_refused_naming_the_rule(vendor):
    with pytest.raises(InvalidPromotion) as refused:
        running(vendor, **{**TERMS, "wagering_multiple": 11})
    assert refused.value.field == "wagering_multiple"
    assert "may not exceed 10x" in refused.value.message
    assert not VendorPromotion.objects.exists()

    promo = running(vendor, **{**TERMS, "wagering_multiple": 10})
    with pytest.raises(InvalidPromotion, match="may not exceed 10x"):
        promotions.update_vendor_promotion_window(
            promotion=promo, starts_at=promo.starts_at, ends_at=promo.ends_at, wagering_multiple=11
        )
    promo.refresh_from_db()
    assert promo.wagering_multiple == 10


def test_a_lower_setting_is_the_cap(vendor, settings):
    settings.BONUS_MAX_WAGERING_MULTIPLE = 3
    with pytest.raises(InvalidPromotion, match="between 1 and 3"):
        running(vendor, **{**TERMS, "wagering_multiple": 4})


@pytest.mark.parametrize(
    ("kind", "params", "field", "message"),
    [
        ("cashback", {"pays_as": "bonus"}, "wagering_multiple", "needs its terms"),
        ("cashback", {**TERMS, "bonus_valid_days": None}, "bonus_valid_days", "needs its terms"),
        ("cashback", {**TERMS, "wagering_multiple": "5x"}, "wagering_multiple", "whole number"),
        ("cashback", {**TERMS, "wagering_multiple": 0}, "wagering_multiple", "between 1 and 10"),
        ("cashback", {**TERMS, "bonus_max_stake": "0"}, "bonus_max_stake", "more than zero"),
        ("cashback", {**TERMS, "bonus_conversion_cap": "-1"}, "bonus_conversion_cap", "Conversion cap"),
        ("cashback", {**TERMS, "bonus_valid_days": 366}, "bonus_valid_days", "1 to 365 days"),
        ("cashback", {"pays_as": "gold"}, "pays_as", "cash or as bonus funds"),
        ("cashback", {"wagering_multiple": 5}, "wagering_multiple", "paid as cash has no bonus terms"),
        ("win_boost", {"pays_as": "bonus"}, "pays_as", "Win boost always pays cash"),
        ("free_spins", {"bonus_valid_days": 7}, "bonus_valid_days", "Free spins always pays cash"),
    ],
)
def test_bad_terms_are_refused_on_their_field(kind, params, field, message):
    base = {"percent": "10"} if kind != "free_spins" else {"free_spins_count": 3, "free_spin_stake": "0.50"}
    with pytest.raises(InvalidPromotion) as refused:
        clean_params(kind, {**base, **params})
    assert refused.value.field == field
    assert message in refused.value.message


def test_terms_change_as_a_whole_and_cash_drops_them(vendor, staff):
    promo = running(vendor, **TERMS, bonus_conversion_cap="10.00")
    # A window or percent edit keeps the terms.
    promo = promotions.update_vendor_promotion_window(
        promotion=promo, starts_at=promo.starts_at, ends_at=promo.ends_at + DAY, percent="12", actor=staff
    )
    promo.refresh_from_db()
    assert (promo.percent, promo.pays_as, promo.bonus_conversion_cap) == (Decimal("12.00"), "bonus", Decimal("10.00"))
    # Passing pays_as replaces every term: the cap left out is removed.
    promotions.update_vendor_promotion_window(
        promotion=promo, starts_at=promo.starts_at, ends_at=promo.ends_at, **{**TERMS, "wagering_multiple": 3}
    )
    promo.refresh_from_db()
    assert (promo.wagering_multiple, promo.bonus_conversion_cap) == (3, None)
    promotions.update_vendor_promotion_window(
        promotion=promo, starts_at=promo.starts_at, ends_at=promo.ends_at, pays_as="cash"
    )
    promo.refresh_from_db()
    assert (promo.pays_as, promo.wagering_multiple, promo.bonus_max_stake, promo.bonus_valid_days) == (
        "cash",
        None,
        None,
        None,
    )
    audit = AuditLog.objects.filter(action="vendor_promotion.update", actor=staff).get()
    assert "as bonus funds (wager 5x" in str(audit.details)


@pytest.mark.parametrize(
    "values",
    [
        {"kind": "cashback", "percent": 10, "pays_as": "bonus", "wagering_multiple": 11, "bonus_max_stake": 2,
         "bonus_valid_days": 7},
        {"kind": "cashback", "percent": 10, "pays_as": "bonus", "wagering_multiple": 5},
        {"kind": "cashback", "percent": 10, "pays_as": "cash", "wagering_multiple": 5},
        {"kind": "win_boost", "percent": 10, "pays_as": "bonus", "wagering_multiple": 5, "bonus_max_stake": 2,
         "bonus_valid_days": 7},
    ],
)  # fmt: skip
def test_the_database_refuses_incomplete_or_misplaced_terms(vendor, values):
    now = timezone.now()
    with pytest.raises(IntegrityError, match="vendor_promotion_bonus_terms_complete"), transaction.atomic():
        VendorPromotion.objects.create(vendor=vendor, starts_at=now, ends_at=now + DAY, **values)


# --- labels ---------------------------------------------------------------------------------
def test_labels_say_bonus_funds_with_the_terms(vendor, player_client):
    promo = running(vendor, **TERMS, bonus_conversion_cap="10.00")
    terms = "wager 5x, max stake €2.00, 7 days, converts to at most €10.00"
    assert describe(promo).startswith(f"Cashback as bonus funds ({terms}) ")
    html = render_to_string("promotions/partials/_vendor_promotion_label.html", {"promo": promo})
    assert html.strip() == f"10% cashback on losses as bonus funds ({terms})"
    page = player_client.get(reverse("vendor_detail", args=["acme"])).content.decode()
    assert f"10% cashback on losses as bonus funds ({terms})" in page

    cash_promo = VendorPromotion(kind="cashback", percent=Decimal("10"))
    html = render_to_string("promotions/partials/_vendor_promotion_label.html", {"promo": cash_promo})
    assert html.strip() == "10% cashback on losses"


# --- the history ----------------------------------------------------------------------------
def test_history_keeps_the_terms(vendor, staff_client):
    removed = running(vendor, **{**TERMS, "wagering_multiple": 2})
    moved = promotions.remove_vendor_promotion(promotion=removed)  # running: ended now, into the history
    assert (moved.pays_as, moved.wagering_multiple, moved.bonus_conversion_cap) == ("bonus", 2, None)

    ended = running(vendor, **TERMS, bonus_conversion_cap="10.00")
    promotions.archive_expired_promotions(now=ended.ends_at)
    row = PromotionHistory.objects.get(original_id=ended.pk)
    assert (row.pays_as, row.wagering_multiple, row.bonus_max_stake, row.bonus_valid_days) == (
        "bonus",
        5,
        Decimal("2.00"),
        7,
    )
    assert row.bonus_conversion_cap == Decimal("10.00")

    page = staff_client.get(reverse("admin:promotions_promotionhistory_changelist")).content.decode()
    assert "10.00% as bonus funds (wager 5x, max stake €2.00, 7 days, converts to at most €10.00)" in page
    detail = staff_client.get(reverse("admin:promotions_promotionhistory_change", args=[row.pk]))
    assert "Maximum stake while wagering" in detail.content.decode()


# --- the admin ------------------------------------------------------------------------------
def split(at):
    at = timezone.localtime(at)
    return at.strftime("%Y-%m-%d"), at.strftime("%H:%M:%S")


def cashback_post(vendor, *, start, **terms):
    data = {
        "name": vendor.name,
        "slug": vendor.slug,
        "promotions-TOTAL_FORMS": "1",
        "promotions-INITIAL_FORMS": "0",
        "promotions-MIN_NUM_FORMS": "0",
        "promotions-MAX_NUM_FORMS": "1000",
        "promotions-0-id": "",
        "promotions-0-kind": terms.pop("kind", "cashback"),
        "promotions-0-starts_at_0": split(start)[0],
        "promotions-0-starts_at_1": split(start)[1],
        "promotions-0-ends_at_0": split(start + DAY)[0],
        "promotions-0-ends_at_1": split(start + DAY)[1],
        "promotions-0-percent": terms.pop("percent", "10"),
    }
    data.update({f"promotions-0-{name}": value for name, value in terms.items()})
    return data


@pytest.fixture
def t0():
    return timezone.localtime().replace(hour=10, minute=0, second=0, microsecond=0) + 10 * DAY


ADMIN_TERMS = {"pays_as": "bonus", "wagering_multiple": "5", "bonus_max_stake": "2.00", "bonus_valid_days": "7"}


def test_the_admin_shows_the_terms_in_their_own_group(marketing_client, vendor):
    response = marketing_client.get(reverse("admin:casino_vendor_change", args=[vendor.pk]))
    page = response.content.decode()
    assert '<th class="column-bonus-terms">Bonus terms (cashback only)' in page
    assert "Free spins and win boosts always pay cash." in page
    group = page[page.index('<fieldset class="bonus-terms"') :]
    group = group[: group.index("</fieldset>")]
    assert "<legend>Bonus terms (cashback only)</legend>" in group
    for name, label in [
        ("pays_as", "Pays as"),
        ("wagering_multiple", "Wagering multiple"),
        ("bonus_max_stake", "Maximum stake while wagering"),
        ("bonus_valid_days", "Bonus valid for (days)"),
        ("bonus_conversion_cap", "Conversion cap"),
    ]:
        assert f'<label for="id_promotions-0-{name}">{label}:</label>' in group, name


def test_eleven_times_is_a_form_error_in_the_admin(marketing_client, vendor, t0):
    url = reverse("admin:casino_vendor_change", args=[vendor.pk])
    response = marketing_client.post(url, cashback_post(vendor, start=t0, **{**ADMIN_TERMS, "wagering_multiple": "11"}))
    assert response.status_code == 200
    form = response.context["inline_admin_formsets"][0].formset.forms[0]
    assert form.errors["wagering_multiple"] == [
        "The wagering multiple must be between 1 and 10 (wagering may not exceed 10x the bonus)."
    ]
    assert "may not exceed 10x the bonus" in response.content.decode()
    assert not VendorPromotion.objects.exists()


@pytest.mark.parametrize(
    ("terms", "field", "message"),
    [
        ({"pays_as": "bonus"}, "wagering_multiple", "needs its terms"),
        ({"bonus_valid_days": "7"}, "bonus_valid_days", "paid as cash has no bonus terms"),
        ({**ADMIN_TERMS, "kind": "win_boost"}, "pays_as", "Win boost always pays cash"),
    ],
)
def test_incomplete_or_misplaced_terms_are_form_errors(marketing_client, vendor, t0, terms, field, message):
    url = reverse("admin:casino_vendor_change", args=[vendor.pk])
    response = marketing_client.post(url, cashback_post(vendor, start=t0, **terms))
    assert response.status_code == 200
    form = response.context["inline_admin_formsets"][0].formset.forms[0]
    assert message in " ".join(form.errors.get(field, [])), form.errors
    assert not VendorPromotion.objects.exists()


def test_staff_set_the_terms_in_the_admin(marketing_client, vendor, t0):
    url = reverse("admin:casino_vendor_change", args=[vendor.pk])
    response = marketing_client.post(url, cashback_post(vendor, start=t0, **ADMIN_TERMS, bonus_conversion_cap="25"))
    assert response.status_code == 302, response.content.decode()[:3000]
    promo = VendorPromotion.objects.get()
    assert (promo.pays_as, promo.wagering_multiple, promo.bonus_max_stake, promo.bonus_valid_days) == (
        "bonus",
        5,
        Decimal("2.00"),
        7,
    )
    assert promo.bonus_conversion_cap == Decimal("25.00")
    assert Vendor.objects.get(pk=vendor.pk).version == 1, "through the aggregate"
    audit = AuditLog.objects.get(action="vendor_promotion.add")
    assert "Cashback as bonus funds (wager 5x" in str(audit.details)
