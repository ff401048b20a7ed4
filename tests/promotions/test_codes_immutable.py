"""Issue 13: a promotion code's reward is immutable once the code has a redemption.

The admin keeps issued codes view-only (a POST is refused, nothing changes); the database
refuses any other path (SQLSTATE 23L01); deactivating and the non-reward fields still change,
and so does the reward of a code nobody has redeemed.
"""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from casino.models import Game
from core.db import LOCKED_LINK_SQLSTATE, LinkLocked, locked_link_error, translate_locked_links
from promotions import services
from promotions.models import PromotionCode, Redemption
from tests.factories import PlayerFactory
from tests.helpers.codes import make_code

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def game(db):
    return Game.objects.create(
        slug="code-slot",
        name="Code Slot",
        min_stake=D("0.10"),
        max_stake=D("5.00"),
        reels=[["cherry", "lemon"]] * 3,
        paytable=[{"line": ["cherry", "cherry", "cherry"], "pays": 4}],
    )


@pytest.fixture
def other_game(db):
    return Game.objects.create(
        slug="other-slot",
        name="Other Slot",
        min_stake=D("0.10"),
        max_stake=D("5.00"),
        reels=[["cherry", "lemon"]] * 3,
        paytable=[{"line": ["cherry", "cherry", "cherry"], "pays": 4}],
    )


def spins_code(game, code="SPINS"):
    return make_code(
        code=code,
        reward_kind="free_spins",
        bonus_amount=None,
        free_spins_game=game,
        free_spins_count=20,
        free_spin_stake=D("0.50"),
    )


def reward(promo: PromotionCode) -> tuple:
    row = PromotionCode.objects.get(pk=promo.pk)
    return row.reward_kind, row.bonus_amount, row.free_spins_game_id, row.free_spins_count, row.free_spin_stake


def assert_refused(excinfo, field: str) -> None:
    assert excinfo.value.__cause__.sqlstate == LOCKED_LINK_SQLSTATE
    error = locked_link_error(excinfo.value)
    assert error.constraint == "promotion_code_reward_locked" and error.field == field
    assert "it has been redeemed" in error.message


# --- the database refuses ---------------------------------------------------------------------------
def test_database_refuses_changing_a_redeemed_bonus(player):
    promo = make_code(code="BONUS10")
    services.redeem(player=player, code="BONUS10")
    before = reward(promo)

    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        PromotionCode.objects.filter(pk=promo.pk).update(bonus_amount=D("500.00"))
    assert_refused(excinfo, "bonus_amount")
    promo.bonus_amount = D("500.00")
    with pytest.raises(IntegrityError), transaction.atomic():
        promo.save()
    with pytest.raises(LinkLocked), translate_locked_links(), transaction.atomic():
        promo.save(update_fields=["bonus_amount"])
    assert reward(promo) == before


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("reward_kind", "bonus"),
        ("free_spins_game", "other_game"),
        ("free_spins_count", 200),
        ("free_spin_stake", D("5.00")),
    ],
)
def test_database_refuses_changing_a_redeemed_free_spins_reward(player, game, other_game, field, value):
    promo = spins_code(game)
    services.redeem(player=player, code="SPINS")
    before = reward(promo)
    values = {field: other_game if value == "other_game" else value}
    if field == "reward_kind":
        values["bonus_amount"] = D("5.00")  # a complete bonus reward (the CHECK constraint holds)

    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        PromotionCode.objects.filter(pk=promo.pk).update(**values)
    assert_refused(excinfo, field)
    for name, new in values.items():
        setattr(promo, name, new)
    with pytest.raises(IntegrityError), transaction.atomic():
        promo.save()
    assert reward(promo) == before


def test_what_still_changes_on_a_redeemed_code(player):
    promo = make_code(code="STILL")
    services.redeem(player=player, code="STILL")
    later = timezone.now() + timedelta(days=30)
    PromotionCode.objects.filter(pk=promo.pk).update(campaign="Spring", ends_at=later)
    services.deactivate_code(code=promo, actor=None)
    row = PromotionCode.objects.get(pk=promo.pk)
    assert (row.campaign, row.ends_at, row.is_active, row.bonus_amount) == ("Spring", later, False, D("10.00"))


def test_the_reward_of_a_code_nobody_redeemed_may_still_change(game, other_game):
    promo = spins_code(game)
    PromotionCode.objects.filter(pk=promo.pk).update(free_spins_game=other_game, free_spins_count=5)
    bonus = make_code(code="UNUSED")
    bonus.bonus_amount = D("25.00")
    bonus.save()
    assert reward(promo)[2:4] == (other_game.pk, 5) and reward(bonus)[1] == D("25.00")


# --- the admin ---------------------------------------------------------------------------------------
def test_admin_shows_a_redeemed_code_read_only_and_refuses_a_change(marketing_client, player):
    promo = make_code(code="ADMINLOCK")
    services.redeem(player=player, code="ADMINLOCK")
    url = reverse("admin:promotions_promotioncode_change", args=[promo.pk])
    page = marketing_client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="bonus_amount"' not in html and 'name="reward_kind"' not in html

    response = marketing_client.post(url, {"reward_kind": "bonus", "bonus_amount": "999.00"})
    assert response.status_code == 403
    assert reward(promo)[1] == D("10.00")


def test_admin_still_deactivates_a_redeemed_code(marketing_client, player):
    promo = make_code(code="STOPME")
    services.redeem(player=player, code="STOPME")
    response = marketing_client.post(
        reverse("admin:promotions_promotioncode_changelist"),
        {"action": "deactivate", "_selected_action": [promo.pk]},
        follow=True,
    )
    assert response.status_code == 200 and "Deactivated 1 code" in response.content.decode()
    row = PromotionCode.objects.get(pk=promo.pk)
    assert row.is_active is False and row.bonus_amount == D("10.00")


# --- the race -----------------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_a_reward_change_waits_for_a_redemption_in_flight_then_refuses():
    """Proves the race is closed: a redemption made but not committed still stops the reward changing."""
    promo = make_code(code="RACE")
    player = PlayerFactory()
    redeemed, release, done = threading.Event(), threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def redeemer():
        try:
            with transaction.atomic():
                services.redeem(player=player, code="RACE")
                redeemed.set()
                release.wait(10)
        finally:
            redeemed.set()
            connection.close()

    def editor():
        redeemed.wait(10)
        try:
            PromotionCode.objects.filter(pk=promo.pk).update(bonus_amount=D("500.00"))
            outcome["result"] = "changed"
        except Exception as exc:
            outcome["result"] = exc
        finally:
            done.set()
            connection.close()

    threads = [threading.Thread(target=redeemer), threading.Thread(target=editor)]
    for t in threads:
        t.start()
    redeemed.wait(10)
    assert not done.wait(0.5), "the reward change did not wait for the redemption in flight"
    release.set()
    for t in threads:
        t.join(20)
    assert isinstance(outcome["result"], IntegrityError)
    assert reward(promo)[1] == D("10.00") and Redemption.objects.get().bonus_amount == D("10.00")
