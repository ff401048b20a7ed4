"""Staff side of bonus money (issue 16): grants per player in the admin, the liability of open
bonus money, cancelling a grant (audited, through the service, permission-checked), the bonus
terms of promotion codes (the 10x cap refused in the admin) and the games' contributions."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounts import ledger
from accounts.models import User
from accounts.selectors.wallet import balance_of, ledger_balance
from casino import services as casino
from casino.demo import load_demo_games
from casino.models import Game, GameSession
from core.models import AuditLog
from core.money import format_money
from promotions import services
from promotions.admin.bonus import BonusGrantAdmin
from promotions.models import BonusGrant, PromotionCode
from promotions.selectors.bonus import bonus_liability
from tests.factories import PASSWORD, PlayerFactory

pytestmark = pytest.mark.django_db

D = Decimal


def grant(player, amount="20.00", *, multiple=5, max_stake="2.00", days=7, cap=None) -> BonusGrant:
    return services.grant_bonus(
        player=player,
        amount=D(amount),
        wagering_multiple=multiple,
        expires_at=timezone.now() + timedelta(days=days),
        max_stake=D(max_stake),
        conversion_cap=cap,
        source_key=f"test:{uuid.uuid4().hex}",
        source="Test promotion",
    )


@pytest.fixture
def fruit(db):
    return next(g for g in load_demo_games() if g.slug == "fruit-frenzy")


def feed_bonus(player, game, amount="5.00") -> GameSession:
    """A player without cash feeds ``amount`` of bonus money into ``game`` (it stays open)."""
    return casino.open_and_feed(
        player=player, game=game, amount=D(amount), idempotency_key=uuid.uuid4().hex, use_bonus=True
    )


def money(amount: str) -> str:
    return format_money(D(amount))


def staff_in(group: str, username: str) -> User:
    call_command("setup_groups", verbosity=0)
    user = User.objects.create_user(username=username, password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return User.objects.get(pk=user.pk)


def changelist(client, **params):
    return client.get(reverse("admin:promotions_bonusgrant_changelist"), params)


def figure(html: str, name: str) -> str:
    return re.search(rf'data-testid="{name}">([^<]*)<', html).group(1)


# --- the list: grants per player, liability ---------------------------------------------------------
@pytest.fixture
def book(fruit):
    """alice: a 20.00 grant with 5.00 of it in a machine; bob: 30.00 held and a forfeited 10.00."""
    alice, bob = PlayerFactory(username="alice"), PlayerFactory(username="bob")
    a = grant(alice, "20.00")
    session = feed_bonus(alice, fruit, "5.00")
    b = grant(bob, "30.00", multiple=3)
    gone = services.forfeit_bonus(grant=grant(bob, "10.00"))
    return {"alice": alice, "bob": bob, "a": a, "b": b, "gone": gone, "session": session}


def test_changelist_lists_grants_with_progress_and_the_liability(staff_client, book, django_assert_max_num_queries):
    with django_assert_max_num_queries(12):
        response = changelist(staff_client)
    assert response.status_code == 200
    html = response.content.decode()
    for g in (book["a"], book["b"], book["gone"]):
        assert f"/admin/promotions/bonusgrant/{g.pk}/change/" in html
    # Held on active grants: alice 15.00 (5.00 is in the machine) + bob 30.00; the forfeited one holds nothing.
    assert figure(html, "liability-on-grants") == money("45.00")
    assert figure(html, "liability-in-machines") == money("5.00")
    assert figure(html, "liability-total") == money("50.00") == format_money(bonus_liability())
    assert figure(html, "liability-active-grants") == "2"
    assert "filtered-liability" not in html
    row = html[html.index(f"/admin/promotions/bonusgrant/{book['b'].pk}/change/") :]
    row = row[: row.index("</tr>")]
    assert f"{money('0.00')} / {money('90.00')} (0%)" in row and money("30.00") in row and "Active" in row


def test_changelist_filters_per_player_with_their_liability(staff_client, book):
    html = changelist(staff_client, player__id__exact=book["alice"].pk).content.decode()
    assert "Bonus grants of alice" in html
    assert f"/admin/promotions/bonusgrant/{book['a'].pk}/change/" in html
    assert f"/admin/promotions/bonusgrant/{book['b'].pk}/change/" not in html
    in_view = re.search(r'data-testid="filtered-liability">(.*?)</p>', html, re.S).group(1)
    assert f"{money('20.00')}: {money('15.00')} held on grants, {money('5.00')} in machines, 1 active grant" in (
        " ".join(in_view.split())
    )
    assert figure(html, "liability-total") == money("50.00")  # the whole book stays on top
    # Every row links to that player's grants; the grant page links to them and to the player.
    page = staff_client.get(reverse("admin:promotions_bonusgrant_change", args=[book["a"].pk])).content.decode()
    assert f"?player__id__exact={book['alice'].pk}" in page
    assert reverse("admin:accounts_user_change", args=[book["alice"].pk]) in page


def test_the_players_admin_page_links_to_their_grants(staff_client, book):
    page = staff_client.get(reverse("admin:accounts_user_change", args=[book["alice"].pk])).content.decode()
    link = reverse("admin:promotions_bonusgrant_changelist") + f"?player__id__exact={book['alice'].pk}"
    assert f'href="{link}" data-testid="bonus-grants-link"' in page
    assert "Bonus grants of alice" in staff_client.get(link).content.decode()


def test_changelist_filters_by_status_and_searches_by_username(staff_client, book):
    html = changelist(staff_client, status__exact="forfeited").content.decode()
    assert f"/bonusgrant/{book['gone'].pk}/change/" in html and f"/bonusgrant/{book['a'].pk}/change/" not in html
    html = changelist(staff_client, q="bob").content.decode()
    assert f"/bonusgrant/{book['b'].pk}/change/" in html and f"/bonusgrant/{book['a'].pk}/change/" not in html
    for hostile in ("abc", "99999999999999999999999", "-1"):
        assert changelist(staff_client, player__id__exact=hostile).status_code in (200, 302)


def test_grants_are_read_only_in_the_admin(staff_client, book):
    a = book["a"]
    before = BonusGrant.objects.get(pk=a.pk)
    assert staff_client.get(reverse("admin:promotions_bonusgrant_add")).status_code == 403
    url = reverse("admin:promotions_bonusgrant_change", args=[a.pk])
    assert staff_client.post(url, {"balance": "999.00", "status": "completed"}).status_code == 403
    staff_client.post(reverse("admin:promotions_bonusgrant_delete", args=[a.pk]), {"post": "yes"})
    after = BonusGrant.objects.get(pk=a.pk)
    assert (after.balance, after.status, after.version) == (before.balance, before.status, before.version)


# --- cancel -----------------------------------------------------------------------------------------
def cancel(client, g, reason="Bonus abuse: duplicate accounts", **extra):
    url = reverse("admin:promotions_bonusgrant_change", args=[g.pk])
    return client.post(url, {"_cancel_grant": "1", "reason": reason, **extra}, follow=True)


def test_cancel_sends_the_bonus_to_the_pot_and_is_audited(staff_client, staff, assert_reconciles):
    player = PlayerFactory(balance="12.00")
    g = grant(player, "25.00")
    pot = ledger_balance(ledger.SYSTEM_PROMOTIONS)
    page = staff_client.get(reverse("admin:promotions_bonusgrant_change", args=[g.pk])).content.decode()
    assert 'id="cancel-bonus-form"' in page and money("25.00") in page

    response = cancel(staff_client, g)
    html = response.content.decode()
    assert response.status_code == 200
    assert f"Bonus #{g.pk} of {player.username} cancelled: {money('25.00')} returned to the promotions pot." in html
    g.refresh_from_db()
    assert g.status == BonusGrant.Status.CANCELLED and g.balance == 0 and g.returned == D("25.00")
    assert "Bonus abuse" in g.end_reason
    assert ledger_balance(ledger.SYSTEM_PROMOTIONS) == pot + D("25.00")
    assert ledger_balance(g.ledger_code) == 0
    assert balance_of(player=player) == D("12.00")  # the player's own cash is untouched
    row = AuditLog.objects.get(action="bonus.cancel")
    assert row.actor == staff and row.target == g.ledger_code
    assert row.details["returned"] == "25.00" and row.details["reason"] == "Bonus abuse: duplicate accounts"
    assert 'id="cancel-bonus-form"' not in html  # an ended grant offers no cancel
    assert_reconciles()


def test_cancel_with_money_in_a_machine_returns_that_part_when_the_player_leaves(
    staff_client, fruit, assert_reconciles
):
    player = PlayerFactory()
    g = grant(player, "20.00")
    session = feed_bonus(player, fruit, "5.00")
    pot = ledger_balance(ledger.SYSTEM_PROMOTIONS)
    page = staff_client.get(reverse("admin:promotions_bonusgrant_change", args=[g.pk])).content.decode()
    assert f"in the machine at {fruit.name}" in page

    html = cancel(staff_client, g).content.decode()
    assert f"{money('15.00')} returned to the promotions pot." in html
    assert f"{money('5.00')} in a machine goes back to the pot when the player leaves it." in html
    assert ledger_balance(ledger.SYSTEM_PROMOTIONS) == pot + D("15.00")
    casino.leave(session=GameSession.objects.get(pk=session.pk))
    g.refresh_from_db()
    assert g.returned == D("20.00") and g.balance == 0 and g.status == BonusGrant.Status.CANCELLED
    assert ledger_balance(ledger.SYSTEM_PROMOTIONS) == pot + D("20.00")
    assert_reconciles()


def test_cancel_needs_a_reason(staff_client):
    g = grant(PlayerFactory(), "8.00")
    response = cancel(staff_client, g, reason="   ")
    assert response.status_code == 422
    assert "Say why the bonus is cancelled." in response.content.decode()
    g.refresh_from_db()
    assert g.status == BonusGrant.Status.ACTIVE and g.balance == D("8.00")
    assert not AuditLog.objects.filter(action="bonus.cancel").exists()


def test_cancel_of_an_ended_grant_is_a_message_not_an_error(staff_client):
    g = services.forfeit_bonus(grant=grant(PlayerFactory(), "8.00"))
    pot = ledger_balance(ledger.SYSTEM_PROMOTIONS)
    response = cancel(staff_client, g)
    assert response.status_code == 200
    assert f"Bonus #{g.pk} has already ended: nothing to cancel." in response.content.decode()
    assert ledger_balance(ledger.SYSTEM_PROMOTIONS) == pot
    assert BonusGrant.objects.get(pk=g.pk).status == BonusGrant.Status.FORFEITED


def test_cancel_that_loses_to_an_ending_says_so(staff_client, monkeypatch):
    """The page was read while the grant was active; it ended before the service ran (BonusNotActive)."""
    g = grant(PlayerFactory(), "8.00")
    real_get_object = BonusGrantAdmin.get_object

    def stale_then_forfeit(self, request, object_id, from_field=None):
        obj = real_get_object(self, request, object_id, from_field)
        if request.method == "POST":
            services.forfeit_bonus(grant=obj)  # the player forfeits just after the admin read the grant
        return obj

    monkeypatch.setattr(BonusGrantAdmin, "get_object", stale_then_forfeit)
    response = cancel(staff_client, g)
    assert response.status_code == 200
    assert "was not cancelled: This bonus has already ended (forfeited by the player)." in response.content.decode()
    assert BonusGrant.objects.get(pk=g.pk).status == BonusGrant.Status.FORFEITED
    assert not AuditLog.objects.filter(action="bonus.cancel").exists()


def test_staff_without_the_permission_cannot_cancel(client, assert_reconciles):
    g = grant(PlayerFactory(), "8.00")
    version = g.version
    client.force_login(staff_in("support", "sam"))  # views everything, changes nothing
    page = client.get(reverse("admin:promotions_bonusgrant_change", args=[g.pk]))
    assert page.status_code == 200 and 'id="cancel-bonus-form"' not in page.content.decode()
    pot = ledger_balance(ledger.SYSTEM_PROMOTIONS)
    response = client.post(
        reverse("admin:promotions_bonusgrant_change", args=[g.pk]), {"_cancel_grant": "1", "reason": "try"}
    )
    assert response.status_code == 403
    g.refresh_from_db()
    assert g.status == BonusGrant.Status.ACTIVE and g.balance == D("8.00") and g.version == version
    assert ledger_balance(ledger.SYSTEM_PROMOTIONS) == pot
    assert not AuditLog.objects.filter(action="bonus.cancel").exists()
    assert_reconciles()


def test_marketing_can_cancel(client, assert_reconciles):
    g = grant(PlayerFactory(), "8.00")
    mia = staff_in("marketing", "mia")
    assert mia.has_perm("promotions.change_bonusgrant") and mia.has_perm("promotions.view_bonusgrant")
    assert not mia.has_perm("promotions.add_bonusgrant") and not mia.has_perm("promotions.delete_bonusgrant")
    client.force_login(mia)
    assert "cancelled" in cancel(client, g, reason="Complaint 4411").content.decode()
    assert AuditLog.objects.get(action="bonus.cancel").actor == mia
    assert BonusGrant.objects.get(pk=g.pk).status == BonusGrant.Status.CANCELLED
    assert_reconciles()


# --- promotion codes: the bonus terms -------------------------------------------------------------
def add_form(**overrides):
    data = {
        "code": "WELCOME5",
        "campaign": "Welcome",
        "reward_kind": "bonus",
        "bonus_amount": "10.00",
        "pays_as": "bonus",
        "wagering_multiple": "5",
        "bonus_max_stake": "2.00",
        "bonus_valid_days": "7",
        "bonus_conversion_cap": "",
        "starts_at_0": "2020-01-01",
        "starts_at_1": "00:00:00",
        "ends_at_0": "2099-01-01",
        "ends_at_1": "00:00:00",
        "limit_policy": "unlimited",
        "limit": "",
        "redemptions-TOTAL_FORMS": "0",
        "redemptions-INITIAL_FORMS": "0",
    }
    data.update(overrides)
    return data


def _row(html: str, name: str) -> str:
    match = re.search(rf'class="[^"]*field-{name}[ "].*?</div>\s*</div>', html, re.S)
    assert match, f"no row for {name}"
    return match.group(0)


TEN_X = "wagering may not exceed 10x the bonus"


def test_add_form_groups_the_bonus_terms_with_help(staff_client):
    html = staff_client.get(reverse("admin:promotions_promotioncode_add")).content.decode()
    terms = html[html.index(">Bonus terms</h2>") :]
    terms = terms[: terms.index("</fieldset>")]
    for name in ("pays_as", "wagering_multiple", "bonus_max_stake", "bonus_valid_days", "bonus_conversion_cap"):
        assert f'name="{name}"' in terms, name
    assert "1 to 10" in terms and "largest stake per spin" in terms


def test_add_form_refuses_a_wagering_multiple_over_10(staff_client):
    response = staff_client.post(reverse("admin:promotions_promotioncode_add"), add_form(wagering_multiple="11"))
    assert response.status_code == 200
    assert TEN_X in _row(response.content.decode(), "wagering_multiple")
    assert not PromotionCode.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"wagering_multiple": ""}, "wagering_multiple", "need a wagering multiple"),
        ({"bonus_max_stake": ""}, "bonus_max_stake", "need a maximum stake"),
        ({"bonus_valid_days": ""}, "bonus_valid_days", "need a validity"),
        ({"bonus_valid_days": "400"}, "bonus_valid_days", "1 to 365 days"),
        ({"wagering_multiple": "0"}, "wagering_multiple", TEN_X),
        ({"bonus_max_stake": "0"}, "bonus_max_stake", "Maximum stake"),
        ({"pays_as": "cash"}, "pays_as", "the code pays cash"),
    ],
)
def test_add_form_refuses_incomplete_terms(staff_client, overrides, field, message):
    response = staff_client.post(reverse("admin:promotions_promotioncode_add"), add_form(**overrides))
    assert response.status_code == 200
    assert message in _row(response.content.decode(), field)
    assert not PromotionCode.objects.exists()


def test_add_form_issues_a_bonus_funds_code_shown_as_bonus_5x(staff_client):
    response = staff_client.post(reverse("admin:promotions_promotioncode_add"), add_form(bonus_conversion_cap="50.00"))
    assert response.status_code == 302, response.content.decode()[:3000]
    promo = PromotionCode.objects.get()
    assert (promo.pays_as, promo.wagering_multiple, promo.bonus_max_stake, promo.bonus_valid_days) == (
        "bonus",
        5,
        D("2.00"),
        7,
    )
    assert promo.bonus_conversion_cap == D("50.00")
    staff_client.post(
        reverse("admin:promotions_promotioncode_add"),
        add_form(code="PLAINCASH", pays_as="cash", wagering_multiple="", bonus_max_stake="", bonus_valid_days=""),
    )
    html = staff_client.get(reverse("admin:promotions_promotioncode_changelist")).content.decode()
    welcome = html[html.index(">WELCOME5<") :]
    assert '<td class="field-pays">bonus 5x</td>' in welcome[: welcome.index("</tr>")]
    cash = html[html.index(">PLAINCASH<") :]
    assert '<td class="field-pays">cash</td>' in cash[: cash.index("</tr>")]
    page = staff_client.get(reverse("admin:promotions_promotioncode_change", args=[promo.pk])).content.decode()
    assert ">Bonus terms</h2>" in page and 'name="wagering_multiple"' not in page  # read-only once issued


def bulk_form(**overrides):
    data = {
        "count": "3",
        "campaign": "Bonus week",
        "prefix": "",
        "length": "8",
        "reward_kind": "bonus",
        "bonus_amount": "10.00",
        "pays_as": "bonus",
        "wagering_multiple": "5",
        "bonus_max_stake": "2.00",
        "bonus_valid_days": "7",
        "bonus_conversion_cap": "",
        "starts_at": "2020-01-01T00:00",
        "ends_at": "2099-01-01T00:00",
        "limit_policy": "unlimited",
    }
    data.update(overrides)
    return data


def test_bulk_issue_refuses_a_wagering_multiple_over_10(staff_client):
    response = staff_client.post(reverse("admin:promotions_code_bulk_issue"), bulk_form(wagering_multiple="11"))
    assert response.status_code == 422
    html = response.content.decode()
    assert TEN_X in _row(html, "wagering_multiple")
    assert not PromotionCode.objects.exists()
    missing = staff_client.post(reverse("admin:promotions_code_bulk_issue"), bulk_form(bonus_max_stake=""))
    assert missing.status_code == 422 and "need a maximum stake" in _row(missing.content.decode(), "bonus_max_stake")
    assert not PromotionCode.objects.exists()


def test_bulk_issue_with_bonus_terms(staff_client):
    html = staff_client.get(reverse("admin:promotions_code_bulk_issue")).content.decode()
    terms = re.search(r'data-group="bonus-terms"[^>]*data-reward-kind="bonus".*?</fieldset>', html, re.S).group(0)
    assert all(f'name="{n}"' in terms for n in ("pays_as", "wagering_multiple", "bonus_valid_days"))
    response = staff_client.post(reverse("admin:promotions_code_bulk_issue"), bulk_form(bonus_conversion_cap="40.00"))
    assert response.status_code == 200, response.content.decode()[:3000]
    assert "bonus funds: wager 5x" in response.content.decode()
    codes = PromotionCode.objects.filter(campaign="Bonus week")
    assert codes.count() == 3
    assert {
        (c.pays_as, c.wagering_multiple, c.bonus_max_stake, c.bonus_valid_days, c.bonus_conversion_cap) for c in codes
    } == {("bonus", 5, D("2.00"), 7, D("40.00"))}
    listed = staff_client.get(reverse("admin:promotions_promotioncode_changelist")).content.decode()
    assert listed.count('<td class="field-pays">bonus 5x</td>') == 3


def test_bulk_issue_ignores_the_terms_of_a_cash_or_free_spins_issue(staff_client):
    url = reverse("admin:promotions_code_bulk_issue")
    # Paying cash: the (hidden) terms are ignored, even invalid ones.
    assert staff_client.post(url, bulk_form(campaign="Cash", pays_as="cash", wagering_multiple="99")).status_code == 200
    assert {(c.pays_as, c.wagering_multiple) for c in PromotionCode.objects.filter(campaign="Cash")} == {("cash", None)}


# --- games and sessions ---------------------------------------------------------------------------
def test_game_admin_edits_the_wagering_contribution(staff_client, fruit):
    url = reverse("admin:casino_game_change", args=[fruit.pk])
    html = staff_client.get(url).content.decode()
    assert 'name="wagering_contribution"' in html and "counts towards a bonus" in html
    page = staff_client.get(url)
    form = page.context["adminform"].form
    data = {name: form[name].value() for name in form.fields}
    data.update(
        {
            "reels": form["reels"].value(),
            "paytable": form["paytable"].value(),
            "vendor": data.get("vendor") or "",
            "is_active": "on",
        }
    )
    refused = staff_client.post(url, {**data, "wagering_contribution": "101"})
    assert refused.status_code == 200 and "less than or equal to 100" in refused.content.decode()
    assert Game.objects.get(pk=fruit.pk).wagering_contribution == 100
    emptied = staff_client.post(url, {**data, "wagering_contribution": ""})
    assert emptied.status_code == 200 and "Give a percentage from 0 to 100" in emptied.content.decode()
    saved = staff_client.post(url, {**data, "wagering_contribution": "35"})
    assert saved.status_code == 302, saved.content.decode()[:2000]
    assert Game.objects.get(pk=fruit.pk).wagering_contribution == 35
    data.pop("wagering_contribution")  # a form that predates the field keeps the game's value
    assert staff_client.post(url, {**data, "description": "Kept"}).status_code == 302
    assert Game.objects.values_list("description", "wagering_contribution").get(pk=fruit.pk) == ("Kept", 35)


def test_session_admin_shows_the_bonus_part_and_links_its_grant(staff_client, fruit):
    player = PlayerFactory()
    g = grant(player, "20.00", max_stake="1.50")
    session = feed_bonus(player, fruit, "5.00")
    html = staff_client.get(reverse("admin:casino_gamesession_change", args=[session.pk])).content.decode()
    assert ">Bonus money</h2>" in html
    assert f'<a href="{reverse("admin:promotions_bonusgrant_change", args=[g.pk])}">Bonus #{g.pk}</a>' in html
    for label in ("Bonus balance", "Bonus staked", "Bonus won", "Bonus returned", "Wagering contribution"):
        assert label in html, label
    assert "1.50" in html  # the max stake snapshot
