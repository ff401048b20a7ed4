"""Page hygiene across the URLconf: titles, labelled fields, keyboard-reachable
controls, 405 for wrong methods, 403 without a CSRF token.

``ALLOWED`` lists the methods of every URL outside the admin; a new URL without
a row fails ``test_every_url_has_a_method_row``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import reverse

from casino import services as casino_services
from casino.demo import ensure_demo_vendor
from promotions.models import BonusGrant
from tests.helpers.security import World, build_world, give_bonus, money_snapshot, player_routes

ALLOWED: dict[str, set[str]] = {
    "signup": {"GET", "POST"},
    "login": {"GET", "POST"},
    "logout": {"POST"},
    "wallet": {"GET"},
    "deposit": {"POST"},
    "withdraw": {"POST"},
    "statement": {"GET"},
    "header_balance": {"GET"},
    "responsible": {"GET"},
    "responsible_limits": {"POST"},
    "responsible_break": {"POST"},
    "responsible_exclude": {"POST"},
    "reality_check": {"GET", "POST"},
    "lobby": {"GET"},
    "game_detail": {"GET"},
    "session_open": {"POST"},
    "session_history": {"GET"},
    "session_detail": {"GET"},
    "session_spin": {"POST"},
    "session_feed": {"POST"},
    "session_leave": {"POST"},
    "session_seed": {"POST"},
    "session_verify": {"GET"},
    "session_statement": {"GET"},
    "fair_verifier": {"GET"},
    "sportsbook": {"GET"},
    "place_bet": {"POST"},
    "my_bets": {"GET"},
    "bet_detail": {"GET"},
    "cash_out_bet": {"POST"},
    "cash_out_early": {"GET", "POST"},
    "slip_add": {"POST"},
    "slip_remove": {"POST"},
    "slip_clear": {"POST"},
    "slip_place": {"POST"},
    "profile": {"GET", "POST"},
    "redeem": {"GET", "POST"},
    "redemption_detail": {"GET"},
    "bonus_forfeit": {"GET", "POST"},
    "vendor_detail": {"GET"},
    "favicon": {"GET", "HEAD"},
}
ANONYMOUS = {"signup", "login", "favicon", "fair_verifier"}
# a redirect to a static file; the header's balance fragment; JSON and Python downloads
NOT_PAGES = {"favicon", "header_balance", "session_statement", "fair_verifier"}
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _key() -> str:
    return uuid.uuid4().hex


def _bonus(world: World) -> BonusGrant:
    """The world's player's active bonus grant (made once per player: ``grant_bonus`` returns the
    first grant for its source key), so the wallet's bonus panel and the forfeit page show the most."""
    return give_bonus(world, source_key=f"security-bonus:{world.player.pk}", source="Security bonus")


# Valid form data for each POST: a missing CSRF check would let it through and move money.
POST_DATA = {
    "signup": lambda w: {
        "username": "csrfless",
        "password1": "x-Very-long-pass-42",
        "password2": "x-Very-long-pass-42",
    },
    "login": lambda w: {"username": w.player.username, "password": "correct-horse-battery-9"},
    "logout": lambda w: {},
    "deposit": lambda w: {"deposit-amount": "10.00", "deposit-idempotency_key": _key()},
    "withdraw": lambda w: {"withdraw-amount": "10.00", "withdraw-idempotency_key": _key()},
    "responsible_limits": lambda w: {"daily": "5.00", "weekly": "", "monthly": ""},
    "responsible_break": lambda w: {"days": "1"},
    "responsible_exclude": lambda w: {"days": "30", "confirm": "on"},
    "reality_check": lambda w: {},
    "session_open": lambda w: {},
    "session_spin": lambda w: {"spin-stake": "0.10", "spin-idempotency_key": _key()},
    "session_feed": lambda w: {"feed-amount": "5.00", "feed-idempotency_key": _key()},
    "session_leave": lambda w: {},
    "session_seed": lambda w: {"seed-client_seed": "page-seed"},
    "place_bet": lambda w: {
        "selection": w.selection_id,
        "expected_odds": "2.00",
        "stake": "1.00",
        "idempotency_key": _key(),
    },
    "cash_out_bet": lambda w: {},
    "cash_out_early": lambda w: {"expected_offer": "1.00", "idempotency_key": _key()},
    "slip_add": lambda w: {"selection": w.selection_id},
    "slip_remove": lambda w: {"selection": w.selection_id},
    "slip_clear": lambda w: {},
    "slip_place": lambda w: {"stake": "1.00", "idempotency_key": _key(), f"price_{w.selection_id}": "2.00"},
    "profile": lambda w: {"odds_format": "fractional"},
    "redeem": lambda w: {"code": "OWNERONLY7"},
    "bonus_forfeit": lambda w: {"version": str(BonusGrant.objects.get(pk=_bonus(w).pk).version)},
}


def _kwargs(name: str, world: World, vendor_slug: str) -> dict | None:
    return {
        "game_detail": {"slug": world.game.slug},
        "session_open": {"slug": world.game.slug},
        "session_detail": {"pk": world.session.pk},
        "session_spin": {"pk": world.session.pk},
        "session_feed": {"pk": world.session.pk},
        "session_leave": {"pk": world.session.pk},
        "session_seed": {"pk": world.session.pk},
        "session_verify": {"pk": world.session.pk},
        "session_statement": {"pk": world.session.pk},
        "bet_detail": {"pk": world.bet.pk},
        "cash_out_bet": {"pk": world.bet.pk},
        "cash_out_early": {"pk": world.bet.pk},
        "redemption_detail": {"pk": world.redemption.pk},
        "bonus_forfeit": {"pk": _bonus(world).pk},
        "vendor_detail": {"slug": vendor_slug},
    }.get(name)


@dataclass
class Page:
    """What the hygiene checks need from one HTML page."""

    title: str = ""
    in_title: bool = False
    label_for: set[str] = field(default_factory=set)
    fields: list[tuple[str, dict, bool]] = field(default_factory=list)  # (tag, attrs, inside a <label>)
    forms: list[dict] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


FIELD_TAGS = {"input", "select", "textarea"}
NOT_FIELDS = {"hidden", "submit", "button", "reset", "image"}
FOCUSABLE = {"a", "button", "input", "select", "textarea", "form"}
AUTOMATIC_TRIGGERS = ("load", "every", "revealed", "intersect")
VOID = {"input", "br", "img", "meta", "link", "hr", "source", "wbr", "area", "col", "embed", "param", "track"}


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self.stack: list[str] = []
        self.form: dict | None = None
        self.text_sink: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        page = self.page
        if tag == "title":
            page.in_title = True
        if tag == "label" and a.get("for"):
            page.label_for.add(a["for"])
        if tag in FIELD_TAGS and a.get("type", "text") not in NOT_FIELDS:
            page.fields.append((tag, a, "label" in self.stack))
        if tag == "form":
            self.form = {"attrs": a, "submits": 0}
            page.forms.append(self.form)
        if self.form is not None and (
            (tag == "button" and a.get("type", "submit") == "submit") or (tag == "input" and a.get("type") == "submit")
        ):
            self.form["submits"] += 1
        if any(k.startswith("on") for k in a):
            page.problems.append(f"inline event handler on <{tag}>: {sorted(k for k in a if k.startswith('on'))}")
        acts = [k for k in a if k in ("hx-get", "hx-post", "hx-put", "hx-patch", "hx-delete")]
        automatic = a.get("hx-trigger", "").strip().startswith(AUTOMATIC_TRIGGERS)
        if acts and not automatic and tag not in FOCUSABLE and "tabindex" not in a:
            page.problems.append(
                f"<{tag} {acts[0]}> is clickable but not keyboard reachable (use <a href> or <button>)"
            )
        if tag == "a" and acts and not a.get("href"):
            page.problems.append(f"<a {acts[0]}> without href is not keyboard reachable")
        if a.get("role") == "button" and tag != "button" and "tabindex" not in a:
            page.problems.append(f'<{tag} role="button"> without tabindex')
        if tag == "button":
            self.text_sink = [a.get("aria-label", "")]
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag == "title":
            self.page.in_title = False
        if tag == "form":
            self.form = None
        if tag == "button" and self.text_sink is not None:
            if not "".join(self.text_sink).strip():
                self.page.problems.append("a <button> without a name (no text, no aria-label)")
            self.text_sink = None
        if tag in self.stack:
            while self.stack and self.stack.pop() != tag:
                pass

    def handle_data(self, data):
        if self.page.in_title:
            self.page.title += data
        if self.text_sink is not None:
            self.text_sink.append(data)


def hygiene_problems(html: str) -> list[str]:
    parser = _Parser()
    parser.feed(html)
    page = parser.page
    problems = list(page.problems)
    title = " ".join(page.title.split())
    if not title or title.startswith("Casino ·"):
        problems.append(f"no page title of its own: {title!r}")
    for tag, attrs, inside_label in page.fields:
        labelled = (
            inside_label
            or attrs.get("aria-label", "").strip()
            or attrs.get("aria-labelledby")
            or (attrs.get("id") and attrs["id"] in page.label_for)
        )
        if not labelled:
            problems.append(f"<{tag} name={attrs.get('name')!r} id={attrs.get('id')!r}> has no label")
    for form in page.forms:
        if not form["submits"]:
            problems.append(f"a form ({form['attrs'].get('action')}) has no submit button")
    return problems


def test_the_hygiene_checker_catches_what_it_claims():
    bad = (
        "<html><head><title>Casino · Royal Django Casino</title></head><body>"
        '<input name="amount" id="id_amount"><div hx-post="/x/">go</div><a hx-get="/y/">y</a>'
        '<form action="/z/"><select name="s"></select></form><button onclick="x()"></button></body></html>'
    )
    problems = "\n".join(hygiene_problems(bad))
    for expected in ("no page title", "name='amount'", "<div hx-post>", "<a hx-get> without href", "name='s'",
                     "no submit button", "inline event handler", "without a name"):  # fmt: skip
        assert expected in problems, f"{expected!r} not reported in:\n{problems}"
    good = (
        "<html><head><title>Wallet · Royal Django Casino</title></head><body><form action='/d/'>"
        '<label for="id_a">Amount</label><input id="id_a" name="a"><label><input type="radio" name="r"> One</label>'
        '<input type="hidden" name="k"><button type="submit">Deposit</button></form>'
        '<div hx-get="/poll/" hx-trigger="every 60s"></div></body></html>'
    )
    assert hygiene_problems(good) == []


def test_every_url_has_a_method_row():
    routes = set(player_routes())
    assert routes - ALLOWED.keys() == set(), "new URLs: add them to ALLOWED (and POST_DATA for posts)"
    assert ALLOWED.keys() - routes == set(), "ALLOWED lists URLs that no longer exist"
    posts = {name for name, methods in ALLOWED.items() if "POST" in methods}
    assert posts == POST_DATA.keys()


@pytest.fixture
def world(db) -> World:
    world = build_world()
    _bonus(world)  # before any money snapshot: the tests below prove nothing moves
    return world


@pytest.fixture
def vendor_slug(db) -> str:
    return ensure_demo_vendor().slug


def _client(world: World | None, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    if world is not None:
        client.force_login(world.player)
    return client


@pytest.mark.django_db
def test_every_player_page_has_a_title_labelled_fields_and_real_buttons(world, vendor_slug):
    # Pages in the states that show the most controls: an open session, the bet slip
    # with a selection, a queued payout's cash-out button, the reality check.
    urls = {
        name: reverse(name, kwargs=_kwargs(name, world, vendor_slug))
        for name, m in ALLOWED.items()
        if "GET" in m and name not in NOT_PAGES
    }
    # the slip with a selection in it (the slip lives in the player's session)
    assert _client(world).post(reverse("slip_add"), {"selection": world.selection_id}).status_code == 302
    extra = {}
    failures = []
    for name, url in sorted(urls.items()):
        client = _client(None if name in ANONYMOUS else world)
        response = client.get(url)
        if response.status_code != 200:
            failures.append(f"{name} {url}: status {response.status_code}")
            continue
        failures += [f"{name} {url}: {p}" for p in hygiene_problems(response.content.decode())]
    # The same pages after leaving the machine (closed session, cash-out button on the bet page).
    casino_services.leave(session=world.session)
    extra["session_detail (closed)"] = urls["session_detail"]
    extra["session_verify (closed)"] = urls["session_verify"]
    extra["bet_detail (cash-out)"] = urls["bet_detail"]
    for label, url in extra.items():
        response = _client(world).get(url)
        failures += [f"{label} {url}: {p}" for p in hygiene_problems(response.content.decode())]
    body = _client(world).get(urls["bet_detail"]).content.decode()
    assert "Cash out" in body  # the state under test really shows the button
    assert not failures, "\n".join(failures)


@pytest.mark.django_db
def test_wrong_http_methods_are_405_and_move_nothing(world, vendor_slug):
    before = money_snapshot()
    failures = []
    for name, allowed in sorted(ALLOWED.items()):
        url = reverse(name, kwargs=_kwargs(name, world, vendor_slug))
        client = _client(None if name in ANONYMOUS else world)
        for method in sorted(set(METHODS) - allowed):
            for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
                response = getattr(client, method.lower())(url, **headers)
                if response.status_code != 405:
                    failures.append(f"{method} {url}: {response.status_code}")
                elif not set(response["Allow"].replace(" ", "").split(",")) >= allowed:
                    failures.append(f"{method} {url}: Allow header {response['Allow']!r}, expected {allowed}")
    assert not failures, "\n".join(failures)
    assert money_snapshot() == before


@pytest.mark.django_db
def test_posts_without_a_csrf_token_are_403_and_move_nothing(world, vendor_slug):
    before = money_snapshot()
    failures = []
    for name, allowed in sorted(ALLOWED.items()):
        if "POST" not in allowed:
            continue
        url = reverse(name, kwargs=_kwargs(name, world, vendor_slug))
        for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
            client = _client(None if name in ANONYMOUS else world, csrf=True)
            response = client.post(url, POST_DATA[name](world), **headers)
            if response.status_code != 403:
                failures.append(f"POST {url} without CSRF token (htmx={bool(headers)}): {response.status_code}")
    assert not failures, "\n".join(failures)
    assert money_snapshot() == before

    # With the token the same client gets through (the 403 was the CSRF check, not something else).
    client = _client(world, csrf=True)
    client.get(reverse("wallet"))
    token = client.cookies["csrftoken"].value
    response = client.post(reverse("deposit"), POST_DATA["deposit"](world), HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 302
