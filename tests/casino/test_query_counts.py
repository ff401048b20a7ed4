"""Round trips on the spin path are pinned (issue 14), as statement counts, not timings.

In these tests the service's transaction is a savepoint inside the test's own
transaction, so ``SAVEPOINT``/``RELEASE SAVEPOINT`` stand where ``BEGIN``/``COMMIT``
stand in production, and are counted.
"""

from decimal import Decimal

import pytest
from django.urls import reverse

from casino import services
from casino.demo import load_demo_games

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def fed_session(player):
    game = next(g for g in load_demo_games() if g.min_stake == Decimal("0.10"))
    session = services.open_session(player=player, game=game)
    services.feed(session=session, amount="20", idempotency_key="feed")
    services.spin(session=session, stake="0.10", idempotency_key="warm")  # the machine is cached per game version
    return session


def test_one_service_spin_is_at_most_six_statements_with_begin_and_commit(fed_session, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        spin = services.spin(session=fed_session, stake="0.10", idempotency_key="counted")
    assert spin.pk and spin.session.spin_count == 2


def test_one_htmx_spin_request_is_at_most_ten_queries(client, player, fed_session, django_assert_max_num_queries):
    client.force_login(player)
    client.get(reverse("session_detail", args=[fed_session.pk]))
    url = reverse("session_spin", args=[fed_session.pk])
    with django_assert_max_num_queries(10):
        response = client.post(url, {"spin-stake": "0.10", "spin-idempotency_key": "counted"}, **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="spin-result"' in body and 'id="spin-form"' in body and 'hx-swap-oob="true"' in body
