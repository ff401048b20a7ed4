"""Staff side: settle page (once, audited), payout queue with liability, pay-now action, read-only money."""

from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import User
from accounts.selectors import balance_of
from casino import services
from casino.models import Payout, SportEvent, Sportsbet
from core.models import AuditLog
from tests.helpers.sportsbook import bet, make_event, make_game, result_for, selections

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(db):
    return make_event()


def settle_url(event):
    return reverse("admin:casino_sportevent_settle", args=[event.pk])


def test_settle_page_settles_once_and_audits(staff_client, staff, player, event):
    home, _, _ = selections(event)
    placed = bet(player, home)
    market = event.markets.get()
    page = staff_client.get(settle_url(event))
    assert page.status_code == 200 and "Settle event" in page.content.decode()

    response = staff_client.post(settle_url(event), {f"market_{market.pk}": str(home.pk)})
    assert response.status_code == 302
    placed.refresh_from_db()
    assert placed.status == Sportsbet.Status.WON and Payout.objects.get(bet=placed).state == "queued"
    log = AuditLog.objects.get(action="sportsbook.settle_event")
    assert log.actor == staff and log.details["won"] == 1 and log.target == f"sportevent:{event.pk}"

    # A second tab posting another result: a clear answer, nothing changes.
    again = staff_client.post(settle_url(event), {f"market_{market.pk}": "void"})
    assert again.status_code == 422 and "already settled" in again.content.decode()
    assert Payout.objects.count() == 1 and AuditLog.objects.filter(action="sportsbook.settle_event").count() == 1


def test_settle_page_rejects_bad_choices(staff_client, event):
    market = event.markets.get()
    response = staff_client.post(settle_url(event), {f"market_{market.pk}": "999999"})
    assert response.status_code == 422
    assert SportEvent.objects.get(pk=event.pk).status == SportEvent.Status.OPEN
    assert staff_client.post(settle_url(event), {}).status_code == 422


def test_settle_action_redirects_to_the_settle_page(staff_client, event):
    response = staff_client.post(
        reverse("admin:casino_sportevent_changelist"), {"action": "settle_selected", "_selected_action": [event.pk]}
    )
    assert response.status_code == 302 and response.url == settle_url(event)


def test_settle_needs_change_permission(client, event):
    clerk = User.objects.create_user(username="clerk", password="x-very-long-pass", is_staff=True)
    client.force_login(clerk)
    assert client.get(settle_url(event)).status_code == 403
    client.logout()
    assert client.get(settle_url(event)).status_code == 302  # to the admin login


def test_event_admin_edits_markets_and_odds(staff_client, event):
    market = event.markets.get()
    assert staff_client.get(reverse("admin:casino_sportevent_change", args=[event.pk])).status_code == 200
    page = staff_client.get(reverse("admin:casino_market_change", args=[market.pk]))
    assert page.status_code == 200 and 'name="selections-0-odds"' in page.content.decode()


def test_payout_queue_shows_liability_filters_and_is_read_only(staff_client, player, other_player, event):
    home, _, _ = selections(event)
    bet(player, home, "10.00")
    bet(other_player, home, "5.00")
    services.settle_event(event=event, result=result_for(event, home))
    url = reverse("admin:casino_payout_changelist")
    body = staff_client.get(url).content.decode()
    assert 'data-testid="liability">30.00' in body and "2 queued payouts" in body
    filtered = staff_client.get(url, {"player": player.pk}).content.decode()
    assert "in this view:</strong> 20.00" in filtered
    assert staff_client.get(url, {"state": "paid"}).status_code == 200
    payout = Payout.objects.first()
    assert staff_client.get(reverse("admin:casino_payout_add")).status_code == 403
    change = staff_client.get(reverse("admin:casino_payout_change", args=[payout.pk])).content.decode()
    assert 'name="amount"' not in change  # view only


def test_pay_now_action_pays_players_not_in_a_session(staff_client, staff, player, other_player, event):
    home, _, _ = selections(event)
    bet(player, home, "10.00")
    bet(other_player, home, "10.00")
    services.open_session(player=other_player, game=make_game())
    services.settle_event(event=event, result=result_for(event, home))
    response = staff_client.post(
        reverse("admin:casino_payout_changelist"),
        {"action": "pay_now", "_selected_action": list(Payout.objects.values_list("pk", flat=True))},
        follow=True,
    )
    assert "Paid 1 payouts; 1 players skipped" in response.content.decode()
    assert balance_of(player=player) == Decimal("110.00")
    assert Payout.objects.get(player=other_player).state == Payout.State.QUEUED
    assert AuditLog.objects.get(action="sportsbook.pay_out_player").actor == staff
