"""The database router's decisions (issue 20), with "replica" an alias of the test database.

The alias is a second connection to the primary's test database (a TEST MIRROR), which is not in
recovery, so the health check finds it current. Which alias served a read is seen on each
connection's own query log. The real streaming replica (stopped, lagging, caught up) is in
tests/scale/test_replica_live.py.
"""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from django.db import connections, transaction
from django.urls import reverse

from accounts import selectors as account_selectors
from accounts import services as account_services
from accounts.models import Account, User
from casino import selectors as casino_selectors
from casino.models import GameSession, Spin, Sportsbet
from casino.selectors import fair as fair_selectors
from casino.selectors import trading
from core import db_router
from core.db_router import pinned_to_primary, read_alias, replica_health, replica_reads, replica_selector
from reports import selectors as report_selectors
from tests.factories import PlayerFactory, StaffFactory
from tests.helpers.db import Served

pytestmark = [pytest.mark.replica, pytest.mark.django_db(transaction=True, databases=["default", "replica"])]


@pytest.fixture
def replica(settings):
    settings.READ_REPLICAS = ["replica"]
    settings.REPLICA_PIN_SECONDS = 5
    replica_health.reset()
    yield connections["replica"]
    replica_health.reset()
    connections["replica"].close()


@pytest.fixture
def dead_replica(replica):
    """The replica alias pointing at a port nothing listens on."""
    original = connections["replica"].settings_dict
    connections["replica"].close()
    connections["replica"].settings_dict = {
        **original,
        "PORT": 1,
        "OPTIONS": {**original["OPTIONS"], "connect_timeout": 1},
    }
    yield
    connections["replica"].close()
    connections["replica"].settings_dict = original


# --- the decision itself ----------------------------------------------------------------
def test_without_a_replica_everything_reads_the_primary(settings):
    settings.READ_REPLICAS = []
    with replica_reads():
        assert read_alias(Account) == "default"
        assert Account.objects.all().db == "default"


def test_marked_reads_go_to_the_replica_and_the_rest_to_the_primary(replica):
    assert read_alias(Account) == "default"  # not marked
    with replica_reads():
        assert read_alias(Account) == "replica"
        assert Account.objects.all().db == "replica"
        assert Spin.objects.all().db == "replica"
        assert User.objects.all().db == "default"  # the user row: never (a blocked player must stay blocked)
        from django.contrib.sessions.models import Session

        assert Session.objects.all().db == "default"  # web sessions: never
    assert Account.objects.all().db == "default"


def test_a_read_inside_a_money_transaction_stays_on_the_primary(replica):
    with replica_reads(), transaction.atomic():
        assert read_alias(Account) == "default"
        assert Account.objects.all().db == "default"


def test_a_pinned_requester_reads_the_primary(replica):
    with replica_reads(), pinned_to_primary():
        assert read_alias(Account) == "default"


def test_writes_always_go_to_the_primary(replica):
    player = PlayerFactory(balance="10.00")
    with replica_reads():
        account = Account.objects.get(user=player)
        assert account._state.db == "replica"
        router = db_router.PrimaryReplicaRouter()
        assert router.db_for_write(Account, instance=account) == "default"
        assert router.allow_migrate("replica", "accounts") is False
        assert router.allow_migrate("default", "accounts") is True


def test_a_lagging_replica_is_not_used(replica, settings, monkeypatch):
    settings.REPLICA_MAX_LAG_SECONDS = 2
    monkeypatch.setattr(db_router, "LAG_SQL", "SELECT 30")
    with replica_reads():
        assert read_alias(Account) == "default"
    assert replica_health.state("replica").error == "lagging"


def test_a_replica_that_does_not_answer_is_left_out_then_retried(replica, dead_replica, settings):
    settings.REPLICA_RETRY_SECONDS = 60
    started = time.monotonic()
    with replica_reads():
        assert read_alias(Account) == "default"
        assert read_alias(Account) == "default"  # cached: no second connection attempt
    assert time.monotonic() - started < 3
    state = replica_health.state("replica")
    assert not state.usable and state.until > time.monotonic() + 50


# --- per selector -------------------------------------------------------------------------
SELECTORS = [
    ("accounts.statement", lambda w: list(account_selectors.statement(player=w["player"])), "accounts_ledgerentry"),
    ("casino.sessions_of", lambda w: list(casino_selectors.sessions_of(player=w["player"])), "casino_gamesession"),
    ("casino.bets_of", lambda w: list(casino_selectors.bets_of(player=w["player"])), "casino_sportsbet"),
    ("casino.payouts_of", lambda w: list(casino_selectors.payouts_of(player=w["player"])), "casino_payout"),
    ("casino.recent_results", lambda w: list(casino_selectors.recent_results()), "casino_sportevent"),
    ("trading.odds_history", lambda w: list(trading.odds_history(selection=w["selection"])), "casino_oddschange"),
    ("trading.event_odds_history", lambda w: list(trading.event_odds_history(event=w["event"])), "casino_oddschange"),
    (
        "reports.report",
        lambda w: report_selectors.report(date_from=w["today"], date_to=w["today"]),
        "reports_dailyfigure",
    ),
    ("reports.liabilities", lambda w: report_selectors.liabilities(), "casino_payout"),
]


@pytest.fixture
def world(db):
    from django.utils import timezone

    from tests.helpers.sportsbook import make_event, selections

    player = PlayerFactory(balance="100.00")
    event = make_event(name="Router FC vs Replica United")
    home = selections(event)[0]
    account_services.deposit(player=player, amount=Decimal("5.00"), idempotency_key="router-world")
    return {"player": player, "event": event, "selection": home, "today": timezone.localdate()}


@pytest.mark.parametrize(("name", "call", "table"), SELECTORS, ids=[s[0] for s in SELECTORS])
def test_each_read_only_selector_reads_the_replica(replica, world, name, call, table):
    with Served() as served:
        call(world)
    assert served.on("replica", table), f"{name} did not read {table} from the replica"
    assert not served.on("default", table), f"{name} read {table} from the primary"


@pytest.mark.parametrize(("name", "call", "table"), SELECTORS, ids=[s[0] for s in SELECTORS])
def test_each_selector_reads_the_primary_inside_a_transaction(replica, world, name, call, table):
    with Served() as served, transaction.atomic():
        call(world)
    assert served.on("default", table) and not served.on("replica", table)


def test_the_fair_statement_of_a_closed_session_reads_the_replica(replica, world):
    from casino import services as casino_services
    from casino.demo import load_demo_games

    session = casino_services.open_session(player=world["player"], game=load_demo_games()[0])
    casino_services.feed(session=session, amount=Decimal("5.00"), idempotency_key="router-feed")
    casino_services.spin(session=session, stake=Decimal("1.00"), idempotency_key="router-spin")
    casino_services.leave(session=GameSession.objects.get(pk=session.pk))
    with replica_reads():
        closed = GameSession.objects.get(pk=session.pk)
    with Served() as served:
        statement = fair_selectors.session_statement(closed)
        assert fair_selectors.verify_session(closed).result.ok
    assert len(statement["spins"]) == 1
    assert served.on("replica", "casino_spin") and not served.on("default", "casino_spin")


def test_a_queryset_a_selector_returns_is_bound_where_it_was_decided(replica):
    @replica_selector
    def accounts():
        return Account.objects.all()

    assert accounts().db == "replica"
    with transaction.atomic():
        assert accounts().db == "default"
    with pinned_to_primary():
        assert accounts().db == "default"


# --- per page: read-your-writes, fallback -----------------------------------------------
def test_read_only_pages_read_the_replica(replica, client, world):
    client.force_login(world["player"])
    for name in ("statement", "session_history", "my_bets"):
        with Served() as served:
            response = client.get(reverse(name))
        assert response.status_code == 200, name
        assert served.replica, f"{name} read nothing from the replica"
        assert "db_pin" not in response.cookies


def test_other_pages_read_the_primary(replica, client, world):
    client.force_login(world["player"])
    with Served() as served:
        assert client.get(reverse("wallet")).status_code == 200
    # the balance (the header, the wallet's figures) is the primary's; its recent entries come from
    # the statement selector, replica-safe
    assert served.on("default", "accounts_account") and not served.on("replica", "accounts_account")


def test_after_a_deposit_the_player_reads_the_primary_until_the_pin_expires(replica, client, world, settings):
    player = world["player"]
    client.force_login(player)
    response = client.post(reverse("deposit"), {"deposit-amount": "7.00", "deposit-idempotency_key": "pin-1"})
    assert response.status_code in (200, 302)
    assert "db_pin" in response.cookies  # read-your-writes: pinned
    assert float(response.cookies["db_pin"].value) > time.time() + 4
    with Served() as served:
        page = client.get(reverse("statement"))
    assert page.status_code == 200 and "7.00" in page.content.decode()
    assert not served.replica and served.on("default", "accounts_ledgerentry")

    client.cookies["db_pin"] = str(time.time() - 1)  # the window has passed
    with Served() as served:
        page = client.get(reverse("statement"))
    assert page.status_code == 200 and "7.00" in page.content.decode()
    assert served.on("replica", "accounts_ledgerentry")


def test_a_forged_pin_cookie_only_buys_primary_reads(replica, client, world):
    client.force_login(world["player"])
    for value in ("9999999999", "not-a-number", ""):
        client.cookies["db_pin"] = value
        assert client.get(reverse("statement")).status_code == 200


def test_admin_changelists_read_the_replica_and_change_pages_the_primary(replica, client, world):
    client.force_login(StaffFactory())
    with Served() as served:
        assert client.get(reverse("admin:casino_sportsbet_changelist")).status_code == 200
    assert served.on("replica", "casino_sportsbet")
    bet_page = reverse("admin:casino_sportevent_change", args=[world["event"].pk])
    with Served() as served:
        assert client.get(bet_page).status_code == 200
    assert not served.on("replica", "casino_sportevent")


def test_replica_down_pages_answer_from_the_primary(replica, dead_replica, client, world):
    client.force_login(world["player"])
    for name in ("statement", "session_history", "my_bets"):
        with Served() as served:
            response = client.get(reverse(name))
        assert response.status_code == 200, name
        assert served.primary
    assert not replica_health.state("replica").usable


def test_a_replica_failing_mid_page_is_served_again_from_the_primary(replica, client, world, settings):
    """The health check passed, then the replica went away before the page's queries ran."""
    client.force_login(world["player"])
    original = connections["replica"].settings_dict
    assert replica_health.is_usable("replica")  # checked: usable, cached for REPLICA_CHECK_SECONDS
    settings.REPLICA_CHECK_SECONDS = 60
    replica_health.check("replica")
    connections["replica"].close()
    connections["replica"].settings_dict = {**original, "PORT": 1}
    try:
        response = client.get(reverse("statement"))
        assert response.status_code == 200
        assert "5.00" in response.content.decode()
        assert not replica_health.state("replica").usable
    finally:
        connections["replica"].close()
        connections["replica"].settings_dict = original


def test_a_celery_task_reads_the_primary(replica):
    from casino.celery import app

    seen = {}

    @app.task(name="tests.router_probe")
    def probe():
        with replica_reads():
            seen["alias"] = read_alias(Account)

    probe.apply()
    assert seen["alias"] == "default"
    with replica_reads():
        assert read_alias(Account) == "replica"  # and the pin ended with the task


def test_sportsbets_are_never_bound_to_the_replica_for_writes(replica, world):
    """A row read from the replica and saved goes to the primary."""
    from casino import services as casino_services

    bet = casino_services.place_sportsbet(
        player=world["player"], selection=world["selection"], stake=Decimal("1.00"), idempotency_key="router-bet"
    )
    with replica_reads():
        read = Sportsbet.objects.get(pk=bet.pk)
    assert read._state.db == "replica"
    with Served() as served:
        Sportsbet.objects.filter(pk=read.pk).update(updated_at=read.updated_at)
    assert served.on("default", "casino_sportsbet") and not served.on("replica", "casino_sportsbet")
