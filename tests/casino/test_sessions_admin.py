"""Staff admin for games (validated paytables) and sessions (read-only money, close and cash out)."""

import json
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from accounts.models import User
from accounts.selectors import balance_of
from casino import services
from casino.demo import DEMO_GAMES
from casino.models import Game, GameSession
from core.models import AuditLog

D = Decimal


def game_form(**overrides):
    data = dict(DEMO_GAMES[0], slug="new-game", name="New game", vendor="", is_active="on")
    data.update(overrides)
    data["reels"] = json.dumps(data["reels"]) if not isinstance(data["reels"], str) else data["reels"]
    data["paytable"] = json.dumps(data["paytable"]) if not isinstance(data["paytable"], str) else data["paytable"]
    return data


def test_valid_game_is_saved(staff_client):
    response = staff_client.post(reverse("admin:casino_game_add"), game_form())
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Game.objects.get(slug="new-game").paytable == DEMO_GAMES[0]["paytable"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"paytable": "[{"}, "Enter a valid JSON"),
        ({"paytable": json.dumps([{"line": ["seven", "seven"], "pays": 10}])}, "machine has 3 reels"),
        ({"paytable": json.dumps([{"line": ["seven", "seven", "seven"], "pays": 5000}])}, "RTP would be"),
        ({"paytable": json.dumps([{"line": ["ghost", "*", "*"], "pays": 2}])}, "is not on reel 1"),
        ({"reels": json.dumps([["cherry"]])}, "3 to 5 reels"),
        ({"min_stake": "0"}, "more than zero"),
        ({"min_stake": "5", "max_stake": "1"}, "at least the minimum"),
    ],
)
def test_invalid_games_get_form_errors(staff_client, overrides, message):
    response = staff_client.post(reverse("admin:casino_game_add"), game_form(**overrides))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Game.objects.filter(slug="new-game").exists()


def test_game_change_page_shows_rtp(staff_client, fruit):
    response = staff_client.get(reverse("admin:casino_game_change", args=[fruit.pk]))
    assert response.status_code == 200 and "94.80%" in response.content.decode()


def test_close_and_cash_out_action(staff_client, staff, player, other_player, fruit):
    open_one = services.open_session(player=player, game=fruit)
    services.feed(session=open_one, amount="30", idempotency_key="f")
    closed_one = services.open_session(player=other_player, game=fruit)
    services.leave(session=closed_one)
    response = staff_client.post(
        reverse("admin:casino_gamesession_changelist"),
        {"action": "close_and_cash_out", "_selected_action": [open_one.pk, closed_one.pk]},
        follow=True,
    )
    assert "Closed 1 session(s), cashed out €30.00" in response.content.decode()
    open_one.refresh_from_db()
    assert open_one.close_reason == "staff" and open_one.cashed_out == D("30.00")
    assert balance_of(player=player) == D("100.00")
    audit = AuditLog.objects.get(action="session.close_and_cash_out")
    assert audit.actor == staff and audit.target == open_one.ledger_code


def test_session_admin_filters_and_money_is_read_only(staff_client, player, other_player, fruit):
    s = services.open_session(player=player, game=fruit)
    services.feed(session=s, amount="10", idempotency_key="f")
    services.spin(session=s, stake="1.00", idempotency_key="s")
    done = services.open_session(player=other_player, game=fruit)
    services.leave(session=done)
    changelist = reverse("admin:casino_gamesession_changelist")
    open_page = staff_client.get(changelist, {"state": "open"}).content.decode()
    closed_page = staff_client.get(changelist, {"state": "closed"}).content.decode()
    assert f"/{s.pk}/change/" in open_page and f"/{done.pk}/change/" not in open_page
    assert f"/{done.pk}/change/" in closed_page and f"/{s.pk}/change/" not in closed_page
    change_url = reverse("admin:casino_gamesession_change", args=[s.pk])
    page = staff_client.get(change_url).content.decode()
    assert 'name="balance"' not in page and "Spins (latest 100)".lower() in page.lower()
    s.refresh_from_db()
    before = (s.balance, s.status, s.version)
    staff_client.post(change_url, {"balance": "999", "status": "closed"})
    s.refresh_from_db()
    assert (s.balance, s.status, s.version) == before
    assert staff_client.get(reverse("admin:casino_gamesession_add")).status_code == 403


def test_players_cannot_use_the_admin(player_client, fruit):
    response = player_client.get(reverse("admin:casino_gamesession_changelist"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_session_admin_actions_need_change_permission(client, fruit, player):
    viewer = User.objects.create_user(username="viewer", password="x-long-password-1", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_gamesession"))
    client.force_login(viewer)
    s = services.open_session(player=player, game=fruit)
    response = client.post(
        reverse("admin:casino_gamesession_changelist"), {"action": "close_and_cash_out", "_selected_action": [s.pk]}
    )
    assert response.status_code in (200, 302)
    assert GameSession.objects.get(pk=s.pk).is_open
