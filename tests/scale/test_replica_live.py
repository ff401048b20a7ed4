"""The router against a REAL streaming replica (issue 20): a second PostgreSQL 15 cluster made by
scripts/replica.sh (pg_basebackup, a physical slot), which pytest-django's test database streams to.

Which alias served a read is seen on each connection's own query log (a table named in a query on
"default" or on "replica"); that "replica" is the standby is checked on the server itself
(pg_is_in_recovery, its port, a refused write). tests/core/test_db_router.py has the router's
decisions with a mirror alias; this file has what only a real replica shows: replication (and so
read-your-writes after a real delay), a replica that is stopped, and one stopped mid-page.
"""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from django.db import DatabaseError, connections
from django.test import Client
from django.urls import reverse

from accounts import services as account_services
from accounts.models import Account, User
from casino import services as casino_services
from core.db_router import read_alias, replica_health, replica_reads
from tests.factories import PlayerFactory, StaffFactory
from tests.helpers.db import Served
from tests.helpers.sportsbook import bet, make_event, selections

pytestmark = [pytest.mark.replica, pytest.mark.django_db(transaction=True, databases=["default", "replica"])]


@pytest.fixture
def world(db):
    """A player with a deposit, a closed game session and a bet; a staff member."""
    from casino.demo import load_demo_games

    player = PlayerFactory(balance="50.00")
    account_services.deposit(player=player, amount=Decimal("8.76"), idempotency_key="live-world")
    session = casino_services.open_session(player=player, game=load_demo_games()[0])
    casino_services.feed(session=session, amount=Decimal("5.00"), idempotency_key="live-feed")
    casino_services.spin(session=session, stake=Decimal("1.00"), idempotency_key="live-spin")
    casino_services.leave(session=session.__class__.objects.get(pk=session.pk))
    bet(player, selections(make_event(name="Primary FC vs Standby Town"))[0], stake="2.00", key="live-bet")
    return {"player": player, "staff": StaffFactory()}


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


PAGES = (  # (URL name, the table its list reads)
    ("statement", "accounts_ledgerentry"),
    ("session_history", "casino_gamesession"),
    ("my_bets", "casino_sportsbet"),
)
ADMIN_LIST = ("admin:casino_sportsbet_changelist", "casino_sportsbet")


def test_the_replica_alias_is_a_streaming_standby_and_a_write_on_the_primary_reaches_it(replica_alias, world):
    """Streaming works: a deposit committed on the primary is replayed on the standby, and a marked read
    of it is served there (an unmarked one by the primary)."""
    with connections["replica"].cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery(), inet_server_port(), current_database()")
        in_recovery, port, dbname = cursor.fetchone()
    assert in_recovery and port == replica_alias.port and dbname == connections["default"].settings_dict["NAME"]
    code, status = replica_alias.status()
    assert code == 0 and "WAL receiver streaming" in status, status

    player = world["player"]
    account_services.deposit(player=player, amount=Decimal("11.11"), idempotency_key="live-stream")
    on_primary = Account.objects.get(user=player).balance
    replica_alias.wait_caught_up()
    with Served() as served, replica_reads():
        assert read_alias(Account) == "replica"
        account = Account.objects.get(user=player)
    assert account._state.db == "replica" and account.balance == on_primary
    assert served.on("replica", "accounts_account") and not served.on("default", "accounts_account")
    with Served() as served:
        assert Account.objects.get(user=player).balance == on_primary  # unmarked: the primary
    assert served.on("default", "accounts_account") and not served.on("replica", "accounts_account")
    state = replica_health.state("replica")
    assert state.usable and state.lag is not None and state.lag < 30
    # It really is read-only: a write sent to it is refused by the server.
    with pytest.raises(DatabaseError, match="read-only"):
        with connections["replica"].cursor() as cursor:
            cursor.execute("UPDATE accounts_account SET balance = balance WHERE id = %s", [account.pk])


def test_read_your_writes_after_a_deposit_then_the_replica_once_the_pin_expires(replica_alias, world, settings):
    """The player who deposits reads the statement from the primary for REPLICA_PIN_SECONDS; after that
    the replica serves it, caught up, and the deposit is there too."""
    settings.REPLICA_PIN_SECONDS = 1
    client = _client(world["player"])
    response = client.post(reverse("deposit"), {"deposit-amount": "12.34", "deposit-idempotency_key": "live-ryw"})
    assert response.status_code in (200, 302)
    pinned_until = float(response.cookies["db_pin"].value)  # set by DatabaseRoutingMiddleware
    assert time.time() < pinned_until <= time.time() + 1.5

    with Served() as served:
        page = client.get(reverse("statement"))
    assert page.status_code == 200 and "12.34" in page.content.decode()
    assert served.on("default", "accounts_ledgerentry") and not served.on("replica", "accounts_ledgerentry")

    time.sleep(max(0.0, pinned_until - time.time()) + 0.05)
    replica_alias.wait_caught_up()
    with Served() as served:
        page = client.get(reverse("statement"))
    assert page.status_code == 200 and "12.34" in page.content.decode()
    assert served.on("replica", "accounts_ledgerentry") and not served.on("default", "accounts_ledgerentry")
    assert "db_pin" not in page.cookies  # a read does not pin


def test_pages_read_the_replica_then_answer_from_the_primary_while_it_is_stopped(replica_alias, world, settings):
    """Stopped: the statement, session history, my bets and an admin list answer 200 from the primary
    and the health says down; started again, reads return to the replica after REPLICA_RETRY_SECONDS."""
    settings.REPLICA_RETRY_SECONDS = 2
    settings.REPLICA_CHECK_SECONDS = 1
    player_client, staff_client = _client(world["player"]), _client(world["staff"])
    pages = [(player_client, name, table) for name, table in PAGES] + [(staff_client, *ADMIN_LIST)]
    replica_alias.wait_caught_up()
    for client, name, table in pages:
        with Served() as served:
            assert client.get(reverse(name)).status_code == 200, name
        assert served.on("replica", table), f"{name} did not read {table} from the replica"

    try:
        replica_alias.stop()
        assert replica_alias.status()[0] == 3
        for client, name, table in pages:
            with Served() as served:
                response = client.get(reverse(name))
            assert response.status_code == 200, name
            assert served.on("default", table), f"{name} did not read {table} from the primary"
        assert "8.76" in player_client.get(reverse("statement")).content.decode()
        state = replica_health.state("replica")
        assert state is not None and not state.usable, state
        down_until = state.until
    finally:
        replica_alias.start()  # whatever failed above, later tests get their replica back

    # Back, but left out until the retry time has passed (no connection attempt before).
    with Served() as served:
        assert player_client.get(reverse("statement")).status_code == 200
    if time.monotonic() < down_until:
        assert served.on("default", "accounts_ledgerentry") and not served.logs["replica"]
    time.sleep(max(0.0, down_until - time.monotonic()) + 0.1)
    replica_alias.wait_caught_up()
    for client, name, table in pages:
        with Served() as served:
            assert client.get(reverse(name)).status_code == 200, name
        assert served.on("replica", table), f"{name} did not return to the replica"
    assert replica_health.state("replica").usable


def test_a_replica_stopped_after_the_health_check_still_gives_200(replica_alias, world, settings):
    """Mid-request failure: the health is cached "usable" (and the connection open), the replica
    stops, the page's first replica query fails: the middleware serves it again from the primary."""
    settings.REPLICA_CHECK_SECONDS = 60
    settings.REPLICA_RETRY_SECONDS = 60
    client = _client(world["player"])
    replica_alias.wait_caught_up()
    assert replica_health.check("replica").usable  # cached for a minute; the replica connection is open
    try:
        replica_alias.stop()
        assert replica_health.is_usable("replica")  # the cache does not know yet
        for name, table in PAGES:
            with Served() as served:
                response = client.get(reverse(name))
            assert response.status_code == 200, name
            assert served.on("default", table), f"{name} was not served again from the primary"
            assert not replica_health.is_usable("replica")
        assert "8.76" in client.get(reverse("statement")).content.decode()
        assert User.objects.filter(pk=world["player"].pk).exists()
    finally:
        replica_alias.start()
