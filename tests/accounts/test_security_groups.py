"""Staff groups: support views, trader settles sport, marketing runs promotions; the admin enforces it."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from accounts.models import LedgerTransaction, User
from casino import services as casino
from casino.demo import load_demo_games
from tests.factories import PASSWORD


@pytest.fixture
def groups(db):
    call_command("setup_groups", verbosity=0)
    return {g.name: g for g in Group.objects.all()}


def _staff_in(group: Group, username: str) -> User:
    user = User.objects.create_user(username=username, password=PASSWORD, is_staff=True)
    user.groups.add(group)
    return User.objects.get(pk=user.pk)  # fresh permission cache


def test_setup_groups_is_idempotent(db, capsys):
    call_command("setup_groups")
    first = {g.name: set(g.permissions.values_list("codename", flat=True)) for g in Group.objects.all()}
    call_command("setup_groups")
    second = {g.name: set(g.permissions.values_list("codename", flat=True)) for g in Group.objects.all()}
    assert first == second and set(first) == {"support", "trader", "marketing", "finance"}
    assert "support" in capsys.readouterr().out


def test_support_is_view_only(groups):
    support = _staff_in(groups["support"], "sam")
    for perm in (
        "accounts.view_ledgertransaction",
        "accounts.view_account",
        "casino.view_gamesession",
        "casino.view_sportsbet",
        "casino.view_payout",
        "promotions.view_promotioncode",
        "accounts.view_selfexclusion",
    ):
        assert support.has_perm(perm), perm
    assert not any(p.split(".")[1].startswith(("add_", "change_", "delete_")) for p in support.get_all_permissions())


def test_trader_settles_sport_but_touches_no_money_or_promotions(groups):
    trader = _staff_in(groups["trader"], "tina")
    for perm in (
        "casino.change_sportevent",
        "casino.add_sportevent",
        "casino.change_market",
        "casino.change_selection",
        "casino.change_sportsbet",
    ):
        assert trader.has_perm(perm), perm
    for perm in (
        "casino.change_gamesession",
        "casino.change_payout",
        "accounts.change_account",
        "promotions.change_promotioncode",
        "casino.delete_sportsbet",
    ):
        assert not trader.has_perm(perm), perm


def test_marketing_runs_promotions_only(groups):
    marketing = _staff_in(groups["marketing"], "mia")
    for perm in (
        "promotions.add_promotioncode",
        "promotions.change_promotioncode",
        "casino.add_vendor",
        "promotions.change_vendorpromotion",
        "promotions.delete_vendorpromotion",
    ):
        assert marketing.has_perm(perm), perm
    for perm in ("casino.change_sportevent", "casino.change_gamesession", "accounts.change_account"):
        assert not marketing.has_perm(perm), perm


def test_support_can_read_the_ledger_but_not_write_it_in_the_admin(groups, client, player):
    client.force_login(_staff_in(groups["support"], "sam"))
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/accounts/ledgertransaction/").status_code == 200
    tx = LedgerTransaction.objects.first()
    page = client.get(f"/admin/accounts/ledgertransaction/{tx.pk}/change/")
    assert page.status_code == 200 and b'name="_save"' not in page.content
    assert client.post(f"/admin/accounts/ledgertransaction/{tx.pk}/change/", {"kind": "deposit"}).status_code == 403
    assert client.get("/admin/accounts/ledgertransaction/add/").status_code == 403
    assert client.post(f"/admin/accounts/ledgertransaction/{tx.pk}/delete/", {"post": "yes"}).status_code == 403
    assert LedgerTransaction.objects.filter(pk=tx.pk).exists()
    # Not a user administrator either.
    assert client.post(f"/admin/accounts/user/{player.pk}/change/", {"is_staff": "on"}).status_code == 403


def test_support_cannot_close_a_game_session_in_the_admin(groups, client, player):
    session = casino.open_session(player=player, game=load_demo_games()[0])
    casino.feed(session=session, amount=Decimal("10.00"), idempotency_key="f")
    client.force_login(_staff_in(groups["support"], "sam"))
    change_url = f"/admin/casino/gamesession/{session.pk}/change/"
    page = client.get(change_url)
    assert page.status_code == 200 and b'name="_save"' not in page.content
    assert client.post(change_url, {}).status_code == 403
    response = client.post(
        "/admin/casino/gamesession/", {"action": "close_and_cash_out", "_selected_action": [session.pk]}
    )
    session.refresh_from_db()
    assert session.is_open and session.balance == Decimal("10.00")
    assert response.status_code in (200, 302, 403)


def test_staff_without_a_group_sees_nothing(db, client):
    bare = User.objects.create_user(username="newhire", password=PASSWORD, is_staff=True)
    client.force_login(bare)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/accounts/ledgertransaction/").status_code == 403
    assert client.get("/admin/casino/gamesession/").status_code == 403
