"""Staff side: settle page (reviewed, then settled once, audited), payout queue, pay-now action, read-only money."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.selectors import balance_of
from casino import services
from casino.models import Payout, SportEvent, Sportsbet
from casino.selectors import settlement
from core.models import AuditLog
from tests.helpers.sportsbook import bet, make_event, make_game, result_for, selections

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(db):
    return make_event()


def settle_url(event):
    return reverse("admin:casino_sportevent_settle", args=[event.pk])


def test_settle_page_reviews_then_settles_once_and_audits(staff_client, staff, player, event):
    home, _, _ = selections(event)
    placed = bet(player, home)
    market = event.markets.get()
    page = staff_client.get(settle_url(event))
    assert page.status_code == 200 and "Review settlement" in page.content.decode()

    # Picking a result shows what it would pay, and writes nothing.
    review = staff_client.post(settle_url(event), {f"market_{market.pk}": str(home.pk)})
    assert review.status_code == 200
    body = review.content.decode()
    assert 'data-testid="settle-confirm"' in body and 'name="confirm"' in body
    assert f'name="market_{market.pk}" value="{home.pk}"' in body  # the choice rides along, hidden
    placed.refresh_from_db()
    assert placed.status == Sportsbet.Status.OPEN and not Payout.objects.exists()
    assert SportEvent.objects.get(pk=event.pk).status == SportEvent.Status.OPEN
    assert not AuditLog.objects.filter(action="sportsbook.settle_event").exists()

    response = staff_client.post(settle_url(event), {f"market_{market.pk}": str(home.pk), "confirm": "Settle event"})
    assert response.status_code == 302
    placed.refresh_from_db()
    assert placed.status == Sportsbet.Status.WON and Payout.objects.get(bet=placed).state == "queued"
    log = AuditLog.objects.get(action="sportsbook.settle_event")
    assert log.actor == staff and log.details["won"] == 1 and log.target == f"sportevent:{event.pk}"
    message = staff_client.get(reverse("admin:casino_sportevent_changelist")).content.decode()
    assert "1 payouts queued (€20.00)" in message

    # A second tab posting another result: a clear answer, nothing changes (reviewed or confirmed).
    for extra in ({}, {"confirm": "Settle event"}):
        again = staff_client.post(settle_url(event), {f"market_{market.pk}": "void", **extra})
        assert again.status_code == 422 and "already settled" in again.content.decode()
    assert Payout.objects.count() == 1 and AuditLog.objects.filter(action="sportsbook.settle_event").count() == 1


def test_the_review_lists_each_market_its_result_and_what_will_be_paid(staff_client, player, other_player, event):
    home, draw, _ = selections(event)
    bet(player, home, "10.00")  # 10 x 2.00 = 20.00
    bet(other_player, home, "3.33")  # 3.33 x 2.00 = 6.66
    bet(other_player, draw, "5.00")  # loses
    market = event.markets.get()
    body = staff_client.post(settle_url(event), {f"market_{market.pk}": str(home.pk)}).content.decode()
    assert "Home FC vs Away FC" in body and "Match result" in body
    assert "<strong>Home FC</strong> wins @ 2.00" in body
    assert f'data-testid="preview-to-pay-{market.pk}">€26.66<' in body
    assert 'data-testid="preview-total">€26.66<' in body
    assert "2 payouts to queue" in body and "stakes €5.00" in body

    void = staff_client.post(settle_url(event), {f"market_{market.pk}": "void"}).content.decode()
    assert "<strong>Void</strong>: every stake refunded" in void
    assert 'data-testid="preview-total">€18.33<' in void and "3 payouts to queue" in void
    assert not Payout.objects.exists()


def test_change_the_result_goes_back_to_the_choice_kept(staff_client, event):
    home, draw, _ = selections(event)
    market = event.markets.get()
    response = staff_client.post(settle_url(event), {f"market_{market.pk}": str(draw.pk), "change": "1"})
    body = response.content.decode()
    assert response.status_code == 200 and "Review settlement" in body and 'data-testid="settle-confirm"' not in body
    checked = re.findall(rf'<input type="radio" name="market_{market.pk}" value="(\w+)"[^>]*checked', body)
    assert checked == [str(draw.pk)]
    assert SportEvent.objects.get(pk=event.pk).status == SportEvent.Status.OPEN


def test_settling_before_kick_off_is_flagged_on_both_steps(staff_client, event):
    home, _, _ = selections(event)
    market = event.markets.get()
    pick = staff_client.get(settle_url(event)).content.decode()
    assert 'data-testid="kickoff-warning"' in pick and "Kick-off is in the future" in pick
    review = staff_client.post(settle_url(event), {f"market_{market.pk}": str(home.pk)}).content.decode()
    assert 'data-testid="kickoff-warning"' in review and 'value="Settle event before kick-off"' in review

    # Once the match has kicked off, no warning.
    SportEvent.objects.filter(pk=event.pk).update(starts_at=timezone.now() - timedelta(hours=2))
    assert 'data-testid="kickoff-warning"' not in staff_client.get(settle_url(event)).content.decode()
    review = staff_client.post(settle_url(event), {f"market_{market.pk}": str(home.pk)}).content.decode()
    assert 'data-testid="kickoff-warning"' not in review and 'value="Settle event"' in review


def test_settle_page_rejects_bad_choices(staff_client, event):
    market = event.markets.get()
    for extra in ({}, {"confirm": "Settle event"}):
        response = staff_client.post(settle_url(event), {f"market_{market.pk}": "999999", **extra})
        assert response.status_code == 422
        assert 'data-testid="settle-confirm"' not in response.content.decode()
    assert SportEvent.objects.get(pk=event.pk).status == SportEvent.Status.OPEN
    assert staff_client.post(settle_url(event), {}).status_code == 422
    assert staff_client.post(settle_url(event), {"confirm": "Settle event"}).status_code == 422
    assert SportEvent.objects.get(pk=event.pk).status == SportEvent.Status.OPEN


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
    assert 'data-testid="liability">€30.00' in body and "2 queued payouts" in body
    filtered = staff_client.get(url, {"player": player.pk}).content.decode()
    assert "in this view:</strong> €20.00" in filtered
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


def test_the_review_pays_what_the_settlement_then_queues(player, other_player):
    event = make_event(name="Rounding FC vs Cents United", odds=("2.35", "3.10", "4.05"))
    home, draw, away = selections(event)
    bet(player, home, "3.33")  # 7.8255 -> 7.83, half-up like the settlement's round()
    bet(other_player, home, "0.15")  # 0.3525 -> 0.35
    bet(other_player, away, "2.00")
    result = {event.markets.get().pk: home.pk}
    preview = settlement.settlement_preview(event=event, result=result)
    assert (preview.won, preview.lost, preview.refunded) == (2, 1, 0)
    assert preview.to_pay == Decimal("8.18") and preview.lost_stakes == Decimal("2.00")
    report = services.settle_event(event=event, result=result)
    assert report.queued_amount == preview.to_pay and report.payouts == preview.payouts
