import pytest
from django.urls import reverse

from accounts import services
from accounts.models import Account
from accounts.selectors import activity
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
