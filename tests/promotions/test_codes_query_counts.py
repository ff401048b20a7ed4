"""Round trips on the redeem path are pinned (issue 14), as a query count, not a timing.

The service's transaction is a savepoint inside the test's own transaction here, so
``SAVEPOINT``/``RELEASE SAVEPOINT`` stand for ``BEGIN``/``COMMIT`` and are counted.
"""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from promotions import services as promotions
from promotions.models import PromotionCode

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def test_one_htmx_redeem_request_is_at_most_ten_queries(client, player, django_assert_max_num_queries):
    now = timezone.now()
    promotions.issue_code(
        code="COUNTED",
        reward_kind=PromotionCode.RewardKind.BONUS,
        bonus_amount="5.00",
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=1),
    )
    client.force_login(player)
    client.get(reverse("redeem"))
    with django_assert_max_num_queries(10):
        response = client.post(reverse("redeem"), {"code": "counted"}, **HTMX)
    assert response.status_code == 200
    assert "COUNTED" in response.content.decode() and "105.00" in response.content.decode()
