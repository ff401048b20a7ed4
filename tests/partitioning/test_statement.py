"""The statement shows one month at a time and reads one partition for it (issue 20)."""

import pytest
from django.urls import reverse

from accounts import selectors
from accounts import services as wallet
from core import partitions
from tests.factories import PlayerFactory
from tests.partitioning.support import mid_month, this_month

pytestmark = [pytest.mark.django_db, pytest.mark.partitioning]


@pytest.fixture
def player(db, clock):
    """A player who signed up last month (an opening deposit of 100, then 40) and deposited 3
    this month."""
    last = partitions.add_months(this_month(), -1)
    partitions.ensure_partitions(months_ahead=0, now=mid_month(last))
    clock(mid_month(last))
    player = PlayerFactory(balance="100.00")
    wallet.deposit(player=player, amount="40", idempotency_key="last")
    clock(None)
    wallet.deposit(player=player, amount="3", idempotency_key="now")
    return player


@pytest.fixture
def two_months(player):
    return partitions.add_months(this_month(), -1)


def test_the_monthly_statement_is_pruned_to_that_months_partition(player, two_months):
    for month in (two_months, this_month()):
        plan_tables = partitions.scanned_relations(selectors.statement(player=player, month=month))
        entry_partitions = {t for t in plan_tables if t.startswith("accounts_ledgerentry")}
        assert entry_partitions == {partitions.partition_name("accounts_ledgerentry", month)}, plan_tables
    # the unbounded statement reads every partition, the default one too: what the month saves
    everything = partitions.scanned_relations(selectors.statement(player=player))
    assert partitions.default_partition_name("accounts_ledgerentry") in everything
    assert "Append" in partitions.explain(selectors.statement(player=player))


def test_the_monthly_statement_holds_that_months_entries_only(player, two_months):
    last = [e.amount for e in selectors.statement(player=player, month=two_months)]
    now = [e.amount for e in selectors.statement(player=player, month=this_month())]
    assert [str(a) for a in last] == ["40.00", "100.00"]
    assert [str(a) for a in now] == ["3.00"]
    assert selectors.statement(player=player).count() == 3
    assert selectors.wallet.first_statement_month(player=player) == two_months


def test_the_page_shows_this_month_with_a_link_to_the_previous_month(player_client, two_months):
    response = player_client.get(reverse("wallet"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "€3.00" in body and "€40.00" not in body
    assert f'href="?month={two_months:%Y-%m}"' in body and 'data-testid="statement-next"' not in body


def test_the_previous_month_has_a_next_link_and_none_before_the_first_entry(player_client, two_months):
    response = player_client.get(reverse("wallet"), {"month": f"{two_months:%Y-%m}"})
    body = response.content.decode()
    assert "€40.00" in body and "€3.00" not in body
    assert f'href="?month={this_month():%Y-%m}"' in body  # next
    assert 'data-testid="statement-previous"' not in body  # the player's first entry is in that month
    earlier = partitions.add_months(two_months, -5)
    body = player_client.get(reverse("wallet"), {"month": f"{earlier:%Y-%m}"}).content.decode()
    assert "No movements in" in body and 'data-testid="statement-previous"' not in body


def test_the_htmx_month_link_answers_with_the_statement_fragment(player_client, two_months):
    response = player_client.get(reverse("statement"), {"month": f"{two_months:%Y-%m}"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<section id="statement"') and "<html" not in body
    assert "€40.00" in body


def test_pages_within_a_month_keep_the_month(player, player_client):
    for n in range(20):
        wallet.deposit(player=player, amount="1", idempotency_key=f"p{n}")
    body = player_client.get(reverse("wallet")).content.decode()
    assert f"?month={this_month():%Y-%m}&amp;page=2" in body


@pytest.mark.parametrize(
    "value",
    ["abc", "2026-13", "2026-00", "0000-01", "1999-12", "2026-1", "2026-11-01", "9" * 500, "２０２６-１１", "-1"],
)
def test_a_bad_month_shows_this_month_with_a_message_never_a_500(player_client, value):
    response = player_client.get(reverse("wallet"), {"month": value})
    assert response.status_code == 200
    body = response.content.decode()
    assert f"{this_month():%B %Y}" in body
    assert "That is not a month" in body


def test_a_month_still_to_come_shows_this_month(player_client):
    future = partitions.add_months(this_month(), 2)
    response = player_client.get(reverse("statement"), {"month": f"{future:%Y-%m}"})
    assert response.status_code == 200
    assert "has not started yet" in response.content.decode()
