import re

import pytest
from django.urls import reverse

from accounts import services
from accounts.models import Account
from accounts.selectors import activity
from core import metrics
from core.exceptions import ConcurrencyConflict
from core.versioning import versioned_update

pytestmark = pytest.mark.django_db


def test_timeline_counts_account_writes_by_lane_and_conflicts(player):
    services.deposit(player=player, amount="5", idempotency_key="a")
    services.withdraw(player=player, amount="2", idempotency_key="b")
    account = Account.objects.get(user=player)
    with pytest.raises(ConcurrencyConflict):
        versioned_update(Account, pk=account.pk, version=account.version - 1, balance=0)
    tl = activity.player_timeline(player=player)
    assert tl.counts["deposit"] == 3  # factory deposit + deposit + withdrawal
    assert tl.counts["feed"] == 0
    assert tl.account_writes == 3
    assert tl.counts["conflicts"] >= 1
    assert all(tl.left <= m["x"] <= tl.width for lane in tl.lanes for m in lane["marks"])


def test_activity_page_is_staff_only_and_renders_svg(client, staff, player):
    url = reverse("admin:accounts_user_activity", args=[player.pk])
    client.force_login(player)
    assert client.get(url).status_code == 302  # players are sent to the admin login
    client.force_login(staff)
    response = client.get(url + "?hours=abc")
    assert response.status_code == 200
    body = response.content.decode()
    assert "<svg" in body and "Deposits / withdrawals (1)" in body
    assert client.get(reverse("admin:accounts_user_activity", args=[999999])).status_code == 404


def test_the_player_change_page_links_to_its_activity_page(client, staff, player):
    client.force_login(staff)
    html = client.get(reverse("admin:accounts_user_change", args=[player.pk])).content.decode()
    url = reverse("admin:accounts_user_activity", args=[player.pk])
    assert f'<a href="{url}" data-testid="activity-link">Aggregate activity</a>' in html


def test_activity_page_separates_the_player_from_the_global_counters(client, staff, player, other_player):
    services.deposit(player=player, amount="5", idempotency_key="mine")
    services.deposit(player=other_player, amount="7", idempotency_key="theirs")
    metrics.record("conflict", "casino.gamesession", pk=123456)  # somebody else's conflict: global only
    client.force_login(staff)
    html = client.get(reverse("admin:accounts_user_activity", args=[player.pk])).content.decode()
    mine = re.search(r'<section[^>]*data-testid="player-section".*?</section>', html, re.S).group(0)
    world = re.search(r'<section[^>]*data-testid="global-section".*?</section>', html, re.S).group(0)
    assert html.index('data-testid="player-section"') < html.index('data-testid="global-section"')
    assert f"This player: {player.username}" in mine and 'data-testid="player-account-writes">2<' in mine
    assert "casino.gamesession" not in mine and "global-counters" not in mine
    assert "Global counters: all players" in world and "not about" in world
    assert re.search(r"<th scope=\"row\">casino.gamesession</th><td class=\"num\"[^>]*>[1-9]", world)
    assert "<svg" in mine and "<svg" not in world
