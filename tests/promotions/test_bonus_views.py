"""The player's bonus pages (issue 16): the wallet's bonus panel (cash and bonus apart, each
grant's progress, maximum stake, expiry and game contributions, the ended ones), the forfeit
preview and confirmation, and bonus-funds codes on the redeem pages."""

import json
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import LedgerTransaction
from accounts.selectors import balance_of
from casino import services as casino
from casino.demo import load_demo_games
from casino.models import Game, GameSession
from promotions import services
from promotions.models import BonusGrant
from promotions.selectors.bonus import bonus_liability, wallet_bonus
from tests.factories import PlayerFactory
from tests.helpers.codes import make_code
from tests.helpers.slots import force_reels

pytestmark = pytest.mark.django_db
D = Decimal
HTMX = {"HTTP_HX_REQUEST": "true"}
LOSS = ("lemon", "plum", "bell")


@pytest.fixture
def games(db):
    return {g.slug: g for g in load_demo_games()}


@pytest.fixture
def fruit(games):
    return games["fruit-frenzy"]


def grant(player, amount="20.00", *, multiple=5, max_stake="2.00", days=7, cap=None, source="Promotion code SPRING"):
    return services.grant_bonus(
        player=player,
        amount=D(amount),
        wagering_multiple=multiple,
        expires_at=timezone.now() + timedelta(days=days),
        max_stake=D(max_stake),
        conversion_cap=cap,
        source_key=f"test:{uuid.uuid4().hex}",
        source=source,
    )


def key() -> str:
    return uuid.uuid4().hex


def forfeit_url(g: BonusGrant) -> str:
    return reverse("bonus_forfeit", args=[g.pk])


def version(g: BonusGrant) -> dict:
    return {"version": str(BonusGrant.objects.get(pk=g.pk).version)}


class _TextOf(HTMLParser):
    VOID = {"input", "br", "img", "meta", "link", "hr", "source", "wbr"}

    def __init__(self, name: str) -> None:
        super().__init__(convert_charrefs=True)
        self.name, self.depth, self.found, self.parts = name, 0, False, []

    def handle_starttag(self, tag, attrs):
        if self.depth:
            self.depth += tag not in self.VOID
        elif not self.found and dict(attrs).get("data-testid") == self.name:
            self.found, self.depth = True, 1

    def handle_endtag(self, tag):
        if self.depth:
            self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.parts.append(data)


def text_of(html: str, name: str) -> str:
    """The text of the first element with ``data-testid=name``, spaces squeezed."""
    parser = _TextOf(name)
    parser.feed(html)
    assert parser.found, f"no data-testid={name!r}"
    return " ".join("".join(parser.parts).split())


def bonus_end_count() -> int:
    return LedgerTransaction.objects.filter(kind=LedgerTransaction.Kind.BONUS_END).count()


# --- the wallet's bonus panel -------------------------------------------------------------------
def test_wallet_shows_cash_and_bonus_apart_with_each_grants_terms(player_client, player, games):
    Game.objects.filter(slug="diamond-sevens").update(wagering_contribution=0)  # staff set it in the admin
    g = grant(player, "20.00", multiple=5, max_stake="2.00", days=7)
    html = player_client.get(reverse("wallet")).content.decode()

    assert text_of(html, "wallet-cash") == "€100.00"  # the cash, untouched by the grant
    assert text_of(html, "wallet-bonus") == "€20.00"
    section = html[html.index(f'id="bonus-{g.pk}"') :]
    assert text_of(section, "bonus-held") == "€20.00"
    assert text_of(section, "bonus-progress") == "€0.00 of €100.00 wagered (0%), €100.00 to go"
    assert '<progress class="wagering" max="100.0000" value="0.0000" aria-labelledby=' in section
    assert text_of(section, "bonus-max-stake") == "€2.00"
    expiry = text_of(section, "bonus-expiry")
    assert g.expires_at.strftime("%-d %b %Y") in expiry and "(in 7 days)" in expiry
    contributions = text_of(html, "bonus-contributions")
    assert "Fruit Frenzy 100%" in contributions
    assert "Diamond Sevens 0%: does not count" in contributions
    assert f'href="{forfeit_url(g)}"' in section and "Forfeit this bonus" in section


def test_wallet_without_bonus_says_so(player_client):
    html = player_client.get(reverse("wallet")).content.decode()
    assert text_of(html, "wallet-cash") == "€100.00" and text_of(html, "wallet-bonus") == "€0.00"
    assert "No bonus money" in html and 'data-testid="bonus-grant"' not in html


def test_wallet_counts_the_bonus_in_the_machine_and_the_folded_progress(monkeypatch, fruit, assert_reconciles):
    player = PlayerFactory()  # no cash: the feed is all bonus
    client = Client()
    client.force_login(player)
    g = grant(player, "10.00", multiple=2, max_stake="1.00")
    session = casino.open_and_feed(player=player, game=fruit, amount="6.00", idempotency_key=key(), use_bonus=True)
    force_reels(monkeypatch, *LOSS)
    for _ in range(3):
        casino.spin(session=GameSession.objects.get(pk=session.pk), stake=D("1.00"), idempotency_key=key())

    html = client.get(reverse("wallet")).content.decode()
    assert text_of(html, "wallet-bonus") == "€7.00"  # 4.00 on the grant + 3.00 left in the machine
    assert text_of(html, "wallet-bonus-in-machine") == "€3.00 of it is in the machine at Fruit Frenzy"
    assert text_of(html, "bonus-held") == "€7.00"
    assert "counts towards wagering when you leave the machine" in html
    assert text_of(html, "bonus-progress").startswith("€0.00 of €20.00 wagered")  # not folded yet

    casino.leave(session=GameSession.objects.get(pk=session.pk))
    html = client.get(reverse("wallet")).content.decode()
    assert text_of(html, "bonus-progress") == "€3.00 of €20.00 wagered (15%), €17.00 to go"
    assert text_of(html, "wallet-bonus") == "€7.00"
    assert 'value="3.0000"' in html
    assert BonusGrant.objects.get(pk=g.pk).balance == D("7.00")
    assert_reconciles()


def test_wallet_lists_the_last_ended_bonuses_with_their_outcome(monkeypatch, player, player_client, fruit):
    converted = grant(player, "1.00", multiple=1, source="Converts")
    forfeited = grant(player, "4.00", source="Gives up")
    services.forfeit_bonus(grant=forfeited)
    # Play with cash counts for a grant made before the session: 10 x 0.10 meets 1.00 x 1.
    session = casino.open_and_feed(player=player, game=fruit, amount="5.00", idempotency_key=key())
    force_reels(monkeypatch, *LOSS)
    for _ in range(10):
        casino.spin(session=GameSession.objects.get(pk=session.pk), stake=D("0.10"), idempotency_key=key())
    casino.leave(session=GameSession.objects.get(pk=session.pk))
    assert BonusGrant.objects.get(pk=converted.pk).status == BonusGrant.Status.COMPLETED

    html = player_client.get(reverse("wallet")).content.decode()
    ended = text_of(html, "bonus-ended")
    assert "Converts, €1.00: converted €1.00 to cash" in ended
    assert "Gives up, €4.00: forfeited (€4.00 given up)" in ended
    assert ended.index("Converts") < ended.index("Gives up")  # newest first
    assert 'data-testid="bonus-grant"' not in html and text_of(html, "wallet-bonus") == "€0.00"
    assert text_of(html, "wallet-cash") == "€100.00"  # 100 - 1.00 lost in play + 1.00 converted


def test_wallet_shows_at_most_five_ended_bonuses(player, player_client):
    ended = [grant(player, f"{n}.00", source=f"Ended {n}") for n in range(1, 8)]
    for g in ended:
        services.forfeit_bonus(grant=g)
    html = player_client.get(reverse("wallet")).content.decode()
    shown = text_of(html, "bonus-ended")
    assert [n for n in range(1, 8) if f"Ended {n}," in shown] == [3, 4, 5, 6, 7]


def test_the_bonus_panel_costs_the_same_queries_whatever_the_number_of_grants(
    player, player_client, games, django_assert_max_num_queries
):
    grant(player, "5.00")
    with django_assert_max_num_queries(99) as one:
        player_client.get(reverse("wallet"))
    for n in range(4):
        grant(player, f"{n + 1}.00")
        services.forfeit_bonus(grant=grant(player, "1.00"))
    with django_assert_max_num_queries(len(one.captured_queries)):
        html = player_client.get(reverse("wallet")).content.decode()
    assert html.count('data-testid="bonus-grant"') == 5


def test_wallet_bonus_selector_reads_in_one_query_without_an_active_bonus(player, django_assert_num_queries, games):
    services.forfeit_bonus(grant=grant(player, "3.00"))
    with django_assert_num_queries(1):
        data = wallet_bonus(player, timezone.now())
    assert data.active == [] and [g.amount for g in data.ended] == [D("3.00")]
    grant(player, "2.00")
    with django_assert_num_queries(3):  # the grants, the open machine, the games
        data = wallet_bonus(player, timezone.now())
    assert data.total == D("2.00") and len(data.contributions) == Game.objects.filter(is_active=True).count()


def test_bonus_liability_counts_grants_and_machines(monkeypatch, fruit, other_player):
    player = PlayerFactory()
    grant(player, "20.00")
    later = grant(player, "15.00")
    grant(other_player, "5.00")
    casino.open_and_feed(player=player, game=fruit, amount="10.00", idempotency_key=key(), use_bonus=True)
    assert bonus_liability() == D("40.00")  # 10 + 15 held by the grants, 10 in the machine, 5 of the other
    services.forfeit_bonus(grant=later)
    assert bonus_liability() == D("25.00")


# --- forfeit -------------------------------------------------------------------------------------
def test_the_preview_shows_exactly_what_is_lost_and_that_cash_is_untouched(player, player_client):
    g = grant(player, "12.34")
    response = player_client.get(forfeit_url(g))
    assert response.status_code == 200
    html = response.content.decode()
    assert text_of(html, "forfeit-lost") == "€12.34"
    assert text_of(html, "forfeit-wagering") == "€0.00"
    assert "Your cash, €100.00, is untouched" in text_of(html, "forfeit-cash")
    assert f'name="version" value="{g.version}"' in html
    assert "Forfeit and lose €12.34 of bonus money" in html


def test_posting_forfeits_once_and_the_ledger_reconciles(player, player_client, assert_reconciles):
    g = grant(player, "12.34")
    other = grant(player, "3.00")
    before = bonus_end_count()
    response = player_client.post(forfeit_url(g), version(g), follow=True)
    assert response.redirect_chain[0] == (reverse("wallet") + f"#bonus-{g.pk}", 302)
    html = response.content.decode()
    assert (
        "Bonus forfeited: €12.34 of bonus money went back to the promotion. Your cash (€100.00) is untouched." in html
    )
    g.refresh_from_db()
    assert g.status == BonusGrant.Status.FORFEITED and g.balance == 0 and g.returned == D("12.34")
    assert bonus_end_count() == before + 1
    assert balance_of(player=player) == D("100.00")
    assert BonusGrant.objects.get(pk=other.pk).status == BonusGrant.Status.ACTIVE  # only the one asked
    assert text_of(html, "wallet-bonus") == "€3.00"

    again = player_client.post(forfeit_url(g), version(g), follow=True)  # a second click
    assert again.redirect_chain[0][1] == 302
    assert "This bonus has already ended (forfeited by the player)." in again.content.decode()
    assert bonus_end_count() == before + 1
    page = player_client.get(forfeit_url(g)).content.decode()
    assert 'data-testid="forfeit-ended"' in page and 'data-testid="forfeit-form"' not in page
    assert_reconciles()


def test_an_htmx_forfeit_answers_with_a_client_redirect(player, player_client):
    g = grant(player, "5.00")
    response = player_client.post(forfeit_url(g), version(g), **HTMX)
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("wallet") + f"#bonus-{g.pk}"
    assert BonusGrant.objects.get(pk=g.pk).status == BonusGrant.Status.FORFEITED


def test_another_players_grant_is_404_and_nothing_moves(player, other_player, client, assert_reconciles):
    g = grant(player, "9.99")
    client.force_login(other_player)
    before = bonus_end_count()
    for htmx in ({}, HTMX):
        assert client.get(forfeit_url(g), **htmx).status_code == 404
        assert client.post(forfeit_url(g), version(g), **htmx).status_code == 404
        assert client.get(reverse("bonus_forfeit", args=[987654321]), **htmx).status_code == 404
    assert BonusGrant.objects.get(pk=g.pk).status == BonusGrant.Status.ACTIVE
    assert bonus_end_count() == before
    assert "9.99" not in client.get(reverse("wallet")).content.decode()
    assert_reconciles()


def test_forfeit_while_the_bonus_is_in_a_machine_is_refused_and_moves_nothing(fruit, assert_reconciles):
    player = PlayerFactory()
    client = Client()
    client.force_login(player)
    g = grant(player, "10.00")
    casino.open_and_feed(player=player, game=fruit, amount="4.00", idempotency_key=key(), use_bonus=True)

    page = client.get(forfeit_url(g)).content.decode()
    assert "Your bonus money is in play at Fruit Frenzy" in text_of(page, "forfeit-in-play")
    assert 'data-testid="forfeit-form"' not in page and "<button" not in page.split('id="main"')[1]

    before = (bonus_end_count(), BonusGrant.objects.get(pk=g.pk).version)
    response = client.post(forfeit_url(g), version(g))
    assert response.status_code == 409
    assert "leave the machine first, then forfeit it" in text_of(response.content.decode(), "forfeit-error")
    assert (bonus_end_count(), BonusGrant.objects.get(pk=g.pk).version) == before
    assert BonusGrant.objects.get(pk=g.pk).status == BonusGrant.Status.ACTIVE
    assert_reconciles()


def test_a_grant_changed_since_the_preview_is_previewed_again(monkeypatch, fruit):
    player = PlayerFactory()
    client = Client()
    client.force_login(player)
    g = grant(player, "10.00")
    seen = version(g)  # the page the player read: €10.00 to lose
    session = casino.open_and_feed(player=player, game=fruit, amount="4.00", idempotency_key=key(), use_bonus=True)
    force_reels(monkeypatch, *LOSS)
    casino.spin(session=session, stake=D("1.00"), idempotency_key=key())
    casino.leave(session=GameSession.objects.get(pk=session.pk))  # 3.00 back: the grant now holds 9.00

    response = client.post(forfeit_url(g), seen)
    assert response.status_code == 409
    html = response.content.decode()
    assert "This bonus changed since you looked" in text_of(html, "forfeit-error")
    assert text_of(html, "forfeit-lost") == "€9.00"  # the new figure, to confirm again
    assert BonusGrant.objects.get(pk=g.pk).status == BonusGrant.Status.ACTIVE
    assert client.post(forfeit_url(g), version(g)).status_code == 302
    assert BonusGrant.objects.get(pk=g.pk).returned == D("9.00")


@pytest.mark.parametrize("data", [{}, {"version": "abc"}, {"version": "-1"}, {"version": str(10**30)}])
def test_a_bad_confirmation_is_refused_without_forfeiting(player, player_client, data):
    g = grant(player, "5.00")
    response = player_client.post(forfeit_url(g), data)
    assert response.status_code == 422
    assert BonusGrant.objects.get(pk=g.pk).status == BonusGrant.Status.ACTIVE


def test_a_grant_past_its_expiry_offers_no_forfeit_and_a_post_expires_it(player, player_client, assert_reconciles):
    g = services.grant_bonus(
        player=player,
        amount=D("6.00"),
        wagering_multiple=2,
        expires_at=timezone.now() + timedelta(seconds=1),
        max_stake=D("1.00"),
        source_key=f"test:{key()}",
    )
    time.sleep(1.2)
    page = player_client.get(forfeit_url(g)).content.decode()
    assert "This bonus expired on" in text_of(page, "forfeit-expired")
    assert 'data-testid="forfeit-form"' not in page
    response = player_client.post(forfeit_url(g), version(g), follow=True)
    assert "This bonus had expired: €6.00 of bonus money went back to the promotion." in response.content.decode()
    assert BonusGrant.objects.get(pk=g.pk).status == BonusGrant.Status.EXPIRED
    assert_reconciles()


def test_a_csrf_less_forfeit_is_403_and_forfeits_nothing(player):
    g = grant(player, "5.00")
    client = Client(enforce_csrf_checks=True)
    client.force_login(player)
    for htmx in ({}, HTMX):
        assert client.post(forfeit_url(g), version(g), **htmx).status_code == 403
    assert BonusGrant.objects.get(pk=g.pk).status == BonusGrant.Status.ACTIVE
    client.get(forfeit_url(g))  # with the page's token it goes through (the 403 was the CSRF check)
    token = client.cookies["csrftoken"].value
    assert client.post(forfeit_url(g), version(g), HTTP_X_CSRFTOKEN=token).status_code == 302
    assert BonusGrant.objects.get(pk=g.pk).status == BonusGrant.Status.FORFEITED


def test_forfeit_needs_login_and_refuses_other_methods(client, player):
    g = grant(player, "5.00")
    assert reverse("login") in client.get(forfeit_url(g))["Location"]
    client.force_login(player)
    assert client.put(forfeit_url(g)).status_code == 405


# --- bonus-funds codes on the redeem pages ---------------------------------------------------------
def bonus_funds_code(code="FUNDS20"):
    return make_code(
        code=code,
        bonus_amount=D("20.00"),
        pays_as="bonus",
        wagering_multiple=5,
        bonus_max_stake=D("2.00"),
        bonus_valid_days=7,
    )


TERMS = "€20.00 bonus funds (wager 5x, max stake €2.00, 7 days)"


def test_redeeming_bonus_funds_says_so_with_the_terms(player, player_client):
    bonus_funds_code()
    response = player_client.post(reverse("redeem"), {"code": "funds20"}, follow=True)
    html = response.content.decode()
    assert (
        f"FUNDS20 redeemed: {TERMS}. They are in your wallet&#x27;s bonus panel until the wagering is done; "
        "your cash balance stays €100.00." in html
    )
    assert "Balance €120.00" not in html and balance_of(player=player) == D("100.00")
    assert f'+€20.00</span> bonus funds (<a href="{reverse("wallet")}#bonus">wagering terms</a>)' in html
    g = BonusGrant.objects.get(player=player)
    assert (g.amount, g.wagering_required, g.max_stake) == (D("20.00"), D("100.00"), D("2.00"))


def test_a_cash_code_still_says_cash_balance(player, player_client):
    make_code(code="CASH5", bonus_amount=D("5.00"))
    html = player_client.post(reverse("redeem"), {"code": "cash5"}, follow=True).content.decode()
    assert "CASH5 redeemed: €5.00 bonus. Balance €105.00." in html and "bonus funds" not in html


def test_htmx_redeem_from_the_wallet_shows_the_terms_and_refreshes_the_bonus_panel(player, player_client):
    bonus_funds_code()
    response = player_client.post(reverse("redeem"), {"code": "FUNDS20", "from": "wallet"}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert text_of(html, "redeem-terms") == f"Terms: {TERMS}."
    assert f'href="{reverse("wallet")}#bonus"' in html
    assert text_of(html, "redeem-balance") == "€100.00"
    g = BonusGrant.objects.get(player=player)
    panel = html[html.index('id="bonus" ') :]
    assert 'hx-swap-oob="true"' in panel[:300] and f'id="bonus-{g.pk}"' in panel
    assert text_of(panel, "wallet-bonus") == "€20.00"
    toast = json.loads(response.headers["HX-Trigger"])["toast"][0]["message"]
    assert toast.startswith(f"FUNDS20 redeemed: {TERMS}.")


def test_the_redemption_page_shows_the_terms_and_what_became_of_the_bonus(player, player_client):
    bonus_funds_code()
    redemption = services.redeem(player=player, code="FUNDS20")
    url = reverse("redemption_detail", args=[redemption.pk])
    html = player_client.get(url).content.decode()
    g = BonusGrant.objects.get(player=player)
    assert "+€20.00</span> bonus funds" in html
    assert text_of(html, "redemption-terms") == "wager 5x, max stake €2.00, 7 days"
    assert text_of(html, "redemption-bonus-status").startswith("active: €0.00 of €100.00 wagered, expires")
    assert f'href="{reverse("wallet")}#bonus-{g.pk}"' in html
    services.forfeit_bonus(grant=g)
    html = player_client.get(url).content.decode()
    assert text_of(html, "redemption-bonus-status") == "forfeited by the player"
