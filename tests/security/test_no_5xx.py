"""No input answers with a 5xx (issue 13).

Walks the whole URLconf, player pages and admin alike: as a player, anonymously
(sign-up, log-in), as a superuser and as a member of each staff group made by
``manage.py setup_groups``. It sends GET and POST with hostile input: an empty
body, missing fields, wrong types, huge numbers, dates at the calendar's edges
(also as query parameters), 10 kB strings, NUL bytes, odd unicode and wrong ids,
plain and (player pages) as htmx. Every answer must be 2xx/3xx/4xx and the
money must reconcile afterwards.

A form is fuzzed from a valid submission (``PLAYER`` cases; in the admin the
page's own rendered form plus ``ADMIN_VALID``) changing one field at a time, so
each bad value gets past the other fields to the code behind the form.

Every URL pattern needs a case: a player URL a row in ``PLAYER``, an admin view
a row in ``ADMIN_CUSTOM`` or ``ADMIN_SITE`` (each registered ModelAdmin's own
changelist / add / change / history / delete URLs are walked for every model).
A new URL without one fails ``test_every_url_has_a_fuzz_case``.

A 500 that cannot be fixed at once would be listed in ``KNOWN_5XX`` with its cause
and the fix proposed (the list is empty); any other 5xx fails the walk, and so does
a listed one that no longer happens (take it off the list).
"""

from __future__ import annotations

import json
import logging
import re
import time
import traceback
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from accounts.models import User
from casino.demo import ensure_demo_vendor
from casino.models import Game, SportEvent
from promotions import services as promo_services
from promotions.demo import ensure_demo_vendor_promotions
from promotions.models import BonusGrant
from tests.factories import PASSWORD, PlayerFactory
from tests.helpers.security import OWNER, World, build_world, give_bonus, player_routes
from tests.helpers.sportsbook import make_event

HTMX = {"HTTP_HX_REQUEST": "true"}
_ROOT = str(Path(__file__).resolve().parents[2])

# --- the hostile values --------------------------------------------------------------------------
HUGE = ("3000000000", str(10**30), "1e400")
TEN_KB = "x" * 10_240
NUL = "a\x00b"
UNICODE = "\u202eevil\u202c\u200f 🎰👨\u200d👩\u200d👧 e\u0301\u0308"  # RTL override and mark, emoji, ZWJ, combining
EDGE_DATES = ("0001-01-01", "9999-12-31")
# Per kind of field (one field changed at a time).
NUMBER = ("", "abc", "-1", "0", *HUGE, "NaN", EDGE_DATES[1], TEN_KB, NUL, UNICODE)
TEXT = ("", TEN_KB, NUL, UNICODE, HUGE[1], "1e400")
KEY = ("", "abc", TEN_KB, NUL, UNICODE)
QUERY = ("", "abc", "-1", "0", HUGE[1], "1e400", *EDGE_DATES, TEN_KB, NUL, UNICODE)
# In the admin, by the rendered input's type.
BY_INPUT = {
    "number": ("abc", "-1", HUGE[0], HUGE[1], "1e400"),
    "date": ("abc", *EDGE_DATES),
    "time": ("abc", "23:59:59.999999"),
    "datetime-local": ("abc", "0001-01-01T00:00", "9999-12-31T23:59"),
    "select": ("abc", "99999999", HUGE[1]),
    "checkbox": (),
    "hidden": ("abc", HUGE[1]),
    "text": ("", TEN_KB, NUL, UNICODE, HUGE[0]),
}
IDS_IN_PATH = ("0", "99999999", HUGE[1], "-1", "abc", "%F0%9F%8E%B0", "a%00b")
ADMIN_IDS = ("0", "-1", "99999999", HUGE[1], "abc", "a%00b")  # the admin's <path:object_id> takes any of them


# --- the URLconf ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Pattern:
    key: str  # "name", "admin:name", or the route of an unnamed pattern
    route: str


def all_patterns() -> list[Pattern]:
    """Every URL pattern of the project, the admin's included."""
    found: list[Pattern] = []

    def walk(patterns, prefix: str, namespaces: tuple[str, ...]) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                ns = (*namespaces, entry.namespace) if entry.namespace else namespaces
                walk(entry.url_patterns, prefix + str(entry.pattern), ns)
            elif isinstance(entry, URLPattern):
                route = prefix + str(entry.pattern)
                found.append(Pattern(":".join((*namespaces, entry.name)) if entry.name else route, route))

    walk(get_resolver().url_patterns, "/", ())
    return found


def model_admin_keys() -> dict[str, tuple[type, str]]:
    """{pattern key: (model, view)} of the URLs every registered ModelAdmin gets."""
    keys: dict[str, tuple[type, str]] = {}
    for model in admin.site._registry:
        app, name = model._meta.app_label, model._meta.model_name
        for view in ("changelist", "add", "history", "delete", "change"):
            keys[f"admin:{app}_{name}_{view}"] = (model, view)
        keys[f"/admin/{app}/{name}/<path:object_id>/"] = (model, "redirect")
    return keys


def _wrong_urls(route: str, ids: Iterable[str] = IDS_IN_PATH) -> list[str]:
    """The route with its captures replaced by each wrong id (ids a converter refuses end at the resolver: 404)."""
    captures = re.findall(r"<[^>]+>|\(\?P<[^>]+>[^)]*\)", route)
    urls = []
    for wrong in ids if captures else ():
        url = route
        for capture in captures:
            url = url.replace(capture, wrong)
        urls.append(url.replace("^", "").replace("$", ""))
    return urls


# --- known 500s whose fix is outside this change --------------------------------------------------
def _bad_selection(data: dict) -> bool:
    selected = data.get("_selected_action", [])
    return "action" in data and any(
        not str(v).isdigit() for v in (selected if isinstance(selected, list) else [selected])
    )


def _has_nul(data: dict) -> bool:
    return any("\x00" in str(v) for v in data.values())


@dataclass(frozen=True)
class Known:
    cause: str  # what raises, and where the fix belongs
    method: str
    path: str  # a regex on the path
    when: Callable[[dict], bool]

    def matches(self, method: str, path: str, data: dict) -> bool:
        return method == self.method and re.search(self.path, path) is not None and self.when(data)


# Empty: each one found was fixed (NUL bytes, admin date drill-downs and action ids in
# core.middleware.HostileInputMiddleware; the market's event widget; the axes username length).
KNOWN_5XX: dict[str, Known] = {}


# --- the fixture: one of everything a URL can name -----------------------------------------------
@dataclass
class Fixture:
    world: World
    other: User  # a second player (a target of the admin's user pages)
    vendor_slug: str
    vendor_id: int
    open_event: SportEvent


@pytest.fixture
def fx(db) -> Fixture:
    world = build_world()
    give_bonus(world, source_key=f"fuzz-bonus:{world.player.pk}", source="Fuzz bonus")  # the wallet's panel, forfeit
    other = PlayerFactory(balance="50.00")
    vendor = ensure_demo_vendor_promotions(ensure_demo_vendor())
    now = timezone.now()
    promo_services.issue_codes_bulk(
        count=3,
        prefix="FUZZ-",
        length=8,
        campaign="fuzz-campaign",
        reward_kind="bonus",
        bonus_amount=Decimal("1.00"),
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=2),
        limit_policy="overbook",
        limit=5,
    )
    event = make_event(name="Fuzz FC vs Chaos City")
    call_command("setup_groups", verbosity=0)
    return Fixture(world, other, vendor.slug, vendor.pk, event)


@pytest.fixture(autouse=True)
def _quiet():
    """Thousands of 4xx warnings (some with tracebacks) would cost more than the requests."""
    loggers = [logging.getLogger(name) for name in ("django.request", "django.security", "axes")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    yield
    for lg, level in zip(loggers, levels, strict=True):
        lg.setLevel(level)


# --- sending and recording -----------------------------------------------------------------------
def _short(data) -> str:
    def one(v):
        v = str(v)
        return f"{v[:12]!r}…({len(v)})" if len(v) > 24 else repr(v)

    return "{" + ", ".join(f"{k}={one(v)}" for k, v in (data or {}).items()) + "}"


def _trace(exc: BaseException) -> str:
    """The exception and this project's frames (the framework's left out)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/.venv/" not in f.filename]
    lines = [f"      {f.filename.removeprefix(_ROOT)}:{f.lineno} in {f.name}: {f.line}" for f in frames[-4:]]
    return "\n".join([*lines, f"      {type(exc).__name__}: {str(exc)[:200]}"])


@dataclass
class Walk:
    """Sends requests and records every 5xx (an exception: with its traceback) instead of stopping."""

    failures: list[str] = field(default_factory=list)
    known: dict[str, list[str]] = field(default_factory=dict)
    sent: int = 0
    started: float = field(default_factory=time.monotonic)
    seconds: dict[str, float] = field(default_factory=dict)  # per path, to see where the time goes

    def send(self, client: Client, method: str, url: str, data: dict | None = None, *, htmx: bool = False):
        self.sent += 1
        data = data or {}
        path = url.split("?")[0]
        t0 = time.monotonic()
        try:
            with transaction.atomic():  # a database error in the view must not break the rest of the walk
                if method == "GET":
                    response = client.get(url, data, **(HTMX if htmx else {}))
                else:
                    response = client.post(url, data, **(HTMX if htmx else {}))
        except Exception as exc:  # noqa: BLE001 - recorded with its traceback
            self._fail(
                method, path, data, f"{method} {url} {_short(data)}{' (htmx)' if htmx else ''}: raised\n{_trace(exc)}"
            )
            return None
        finally:
            where = re.sub(r"/\d+/", "/N/", path)[:60]
            self.seconds[where] = self.seconds.get(where, 0.0) + time.monotonic() - t0

        if response.status_code >= 500:
            self._fail(method, path, data, f"{method} {url} {_short(data)}: {response.status_code}")
        return response

    def _fail(self, method: str, path: str, data: dict, message: str) -> None:
        for name, known in KNOWN_5XX.items():
            if known.matches(method, path, data):
                self.known.setdefault(name, []).append(message)
                return
        self.failures.append(message)

    def check(self, *, expected_known: Iterable[str] = ()) -> None:
        counts = {name: len(messages) for name, messages in self.known.items()}
        print(f"{self.sent} requests in {time.monotonic() - self.started:.1f}s; known 500s: {counts}")
        for name, messages in self.known.items():  # with -s: what each known 500 looked like
            print(f"  known {name}, e.g. " + messages[0].replace("\n", "\n  "))
        slowest = sorted(self.seconds.items(), key=lambda kv: -kv[1])[:8]
        print("  slowest paths: " + ", ".join(f"{path} {s:.1f}s" for path, s in slowest))
        assert not self.failures, f"{len(self.failures)} of {self.sent} requests failed:\n" + "\n".join(
            dict.fromkeys(self.failures)
        )
        fixed = set(expected_known) - set(self.known)
        assert not fixed, f"listed in KNOWN_5XX but no longer happening (take them off the list): {sorted(fixed)}"


def _resolve(data: dict) -> dict:
    return {k: (v() if callable(v) else v) for k, v in data.items()}


def fuzz_form(
    walk: Walk,
    client: Client,
    url: str,
    valid: dict,
    *,
    values: Callable[[str], Iterable[str]],
    htmx: bool = False,
    missing: bool = True,
    names: Iterable[str] | None = None,
) -> None:
    """POST empty, then ``valid`` with one field (of ``names``: all) missing or set to each hostile
    value (alternately as htmx)."""
    walk.send(client, "POST", url, {})
    if htmx:
        walk.send(client, "POST", url, {}, htmx=True)
    n = 0
    for name in valid if names is None else names:
        if missing:
            walk.send(client, "POST", url, {k: v for k, v in _resolve(valid).items() if k != name})
        for value in values(name):
            n += 1
            walk.send(client, "POST", url, {**_resolve(valid), name: value}, htmx=htmx and n % 2 == 1)


def fuzz_query(
    walk: Walk, client: Client, url: str, params: Iterable[str], *, htmx: bool = False, values: Iterable[str] = QUERY
) -> None:
    params = tuple(params)
    walk.send(client, "GET", url)
    if htmx:
        walk.send(client, "GET", url, htmx=True)
    for n, value in enumerate(values):
        walk.send(client, "GET", url, dict.fromkeys(params, value), htmx=htmx and n % 2 == 0)


def _key() -> str:
    return uuid.uuid4().hex


# --- player pages --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    """How to reach one player URL: its kwargs, the query parameters it reads, a valid POST."""

    kwargs: Callable[[Fixture], dict] | None = None
    get: bool = True
    query: tuple[str, ...] = ()
    post: Callable[[Fixture], dict] | None = None
    anonymous: bool = False  # walked logged out (sign-up, log-in)
    own_client: bool = False  # changes who is logged in (log-out): on a client of its own
    last: bool = False  # ends the player's play (break, exclusion): walked after the rest


SESSION = lambda fx: {"pk": fx.world.session.pk}  # noqa: E731
BET = lambda fx: {"pk": fx.world.bet.pk}  # noqa: E731


def _bonus(fx: Fixture) -> BonusGrant:
    return BonusGrant.objects.get(source_key=f"fuzz-bonus:{fx.world.player.pk}")


PAGE = ("page",)

PLAYER: dict[str, Case] = {
    "signup": Case(
        anonymous=True,
        post=lambda fx: {
            "username": lambda: f"new{uuid.uuid4().hex[:10]}",
            "email": "new@example.com",
            "password1": "x-Very-long-pass-42",
            "password2": "x-Very-long-pass-42",
        },
    ),
    "login": Case(
        anonymous=True, query=("next",), post=lambda fx: {"username": fx.other.username, "password": "wrong-password"}
    ),
    "logout": Case(get=False, own_client=True, post=lambda fx: {"next": "/"}),
    "favicon": Case(anonymous=True),
    "wallet": Case(query=PAGE),
    "deposit": Case(get=False, post=lambda fx: {"deposit-amount": "1.00", "deposit-idempotency_key": _key}),
    "withdraw": Case(get=False, post=lambda fx: {"withdraw-amount": "1.00", "withdraw-idempotency_key": _key}),
    "statement": Case(query=PAGE),
    "header_balance": Case(),
    "responsible": Case(),
    "responsible_limits": Case(get=False, post=lambda fx: {"daily": "5000.00", "weekly": "", "monthly": ""}),
    "responsible_break": Case(get=False, last=True, post=lambda fx: {"days": "1"}),
    "responsible_exclude": Case(get=False, last=True, post=lambda fx: {"days": "30", "confirm": "on"}),
    "reality_check": Case(post=lambda fx: {}),
    "lobby": Case(),
    "game_detail": Case(kwargs=lambda fx: {"slug": fx.world.game.slug}),
    "session_open": Case(kwargs=lambda fx: {"slug": fx.world.game.slug}, get=False, post=lambda fx: {}),
    "session_history": Case(query=PAGE),
    "session_detail": Case(kwargs=SESSION),
    "session_spin": Case(
        kwargs=SESSION,
        get=False,
        post=lambda fx: {
            "spin-stake": "0.10",
            "spin-idempotency_key": _key,
            "free-idempotency_key": _key,
            "free_spin": "",
        },
    ),
    "session_feed": Case(
        kwargs=SESSION, get=False, post=lambda fx: {"feed-amount": "1.00", "feed-idempotency_key": _key}
    ),
    "session_leave": Case(kwargs=SESSION, get=False, post=lambda fx: {}),
    "session_seed": Case(kwargs=SESSION, get=False, post=lambda fx: {"seed-client_seed": "fuzzed-seed"}),
    "session_verify": Case(kwargs=SESSION, query=PAGE),
    "session_statement": Case(kwargs=SESSION),
    "fair_verifier": Case(anonymous=True),
    "sportsbook": Case(query=("selection",)),
    "place_bet": Case(
        get=False,
        post=lambda fx: {
            "selection": str(fx.world.selection_id),
            "expected_odds": "2.00",
            "stake": "1.00",
            "idempotency_key": _key,
        },
    ),
    "my_bets": Case(query=("status", "page")),
    "bet_detail": Case(kwargs=BET),
    "cash_out_bet": Case(kwargs=BET, get=False, post=lambda fx: {}),
    "cash_out_early": Case(kwargs=BET, post=lambda fx: {"expected_offer": "1.00", "idempotency_key": _key}),
    "slip_add": Case(get=False, post=lambda fx: {"selection": str(fx.world.selection_id)}),
    "slip_remove": Case(get=False, post=lambda fx: {"selection": str(fx.world.selection_id)}),
    "slip_clear": Case(get=False, post=lambda fx: {}),
    "slip_place": Case(
        get=False,
        post=lambda fx: {
            "stake": "1.00",
            "idempotency_key": _key,
            f"price_{fx.world.selection_id}": "2.00",
        },
    ),
    "profile": Case(post=lambda fx: {"odds_format": "fractional"}),
    "redeem": Case(post=lambda fx: {"code": OWNER.code, "from": "wallet"}),
    "redemption_detail": Case(kwargs=lambda fx: {"pk": fx.world.redemption.pk}),
    # The first valid post forfeits the bonus; every later one meets an ended bonus (no 5xx either way).
    "bonus_forfeit": Case(
        kwargs=lambda fx: {"pk": _bonus(fx).pk},
        post=lambda fx: {"version": lambda: str(_bonus(fx).version)},
    ),
    "vendor_detail": Case(kwargs=lambda fx: {"slug": fx.vendor_slug}),
}
TEXT_FIELDS = (
    "username",
    "email",
    "password",
    "password1",
    "password2",
    "code",
    "from",
    "free_spin",
    "confirm",
    "next",
    "seed-client_seed",
)


def _player_values(name: str) -> tuple[str, ...]:
    if name.endswith("idempotency_key"):
        return KEY
    return TEXT if name in TEXT_FIELDS else NUMBER


def _walk_player_url(walk: Walk, fx: Fixture, name: str, client: Client) -> None:
    case = PLAYER[name]
    url = reverse(name, kwargs=case.kwargs(fx) if case.kwargs else None)
    if case.own_client:
        client = Client()
        client.force_login(fx.world.player)
    if case.get:
        fuzz_query(walk, client, url, case.query or ("x",), htmx=True, values=QUERY if case.query else (NUL,))
    else:
        walk.send(client, "GET", url)  # 405
    if case.post:
        valid = case.post(fx)
        fuzz_form(walk, client, url, valid, values=_player_values, htmx=True)
        walk.send(client, "POST", url, _resolve(valid))
        walk.send(client, "POST", url, _resolve(valid), htmx=True)
    for wrong in _wrong_urls(player_routes()[name].route):
        walk.send(client, "GET" if case.get else "POST", wrong)


def test_every_url_has_a_fuzz_case():
    keys = {p.key for p in all_patterns()}
    cased = set(PLAYER) | ADMIN_SITE | {f"admin:{k}" for k in ADMIN_CUSTOM} | model_admin_keys().keys()
    missing = keys - cased
    assert not missing, f"URLs with no no-5xx case (add to PLAYER, ADMIN_CUSTOM or ADMIN_SITE): {sorted(missing)}"
    stale = cased - keys
    assert not stale, f"no-5xx cases for URLs that no longer exist: {sorted(stale)}"
    assert set(PLAYER) == set(player_routes())


@pytest.mark.django_db
def test_no_player_url_answers_5xx_on_hostile_input(fx, assert_reconciles):
    walk = Walk()
    client = Client()
    client.force_login(fx.world.player)
    anonymous = Client()
    for name in sorted(PLAYER, key=lambda n: (PLAYER[n].last, n)):
        _walk_player_url(walk, fx, name, anonymous if PLAYER[name].anonymous else client)
    walk.check()
    assert_reconciles()


# --- the admin -----------------------------------------------------------------------------------
class _Forms(HTMLParser):
    """The fields of each POST form of an admin page, as a browser would submit them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self.form: dict | None = None
        self.select: dict | None = None
        self.textarea: dict | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self.form = {"attrs": a, "fields": {}, "types": {}}
            self.forms.append(self.form)
        elif tag == "option" and self.select is not None:
            if self.select["first"] is None:
                self.select["first"] = a.get("value", "")
            if "selected" in a:
                self.select["chosen"].append(a.get("value", ""))
        elif self.form is not None and a.get("name"):
            self._field(tag, a["name"], a)

    def _field(self, tag: str, name: str, a: dict) -> None:
        fields, types = self.form["fields"], self.form["types"]
        if tag == "input":
            kind = a.get("type", "text")
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio"):
                types[name] = "checkbox" if kind == "checkbox" else "select"
                if "checked" in a:
                    fields.setdefault(name, []).append(a.get("value", "on"))
                return
            css = a.get("class", "")
            kind = "date" if "vDateField" in css else "time" if "vTimeField" in css else kind
            types[name] = kind if kind in BY_INPUT else "text"
            fields[name] = [a.get("value", "")]
        elif tag == "select":
            self.select = {"name": name, "multiple": "multiple" in a, "first": None, "chosen": []}
            types[name] = "select"
        elif tag == "textarea":
            self.textarea = {"name": name, "text": ""}
            types[name] = "text"

    def handle_endtag(self, tag):
        if tag == "form":
            self.form = None
        elif tag == "select" and self.select is not None:
            s, self.select = self.select, None
            chosen = s["chosen"] or ([] if s["multiple"] or s["first"] is None else [s["first"]])
            if self.form is not None and chosen:
                self.form["fields"][s["name"]] = chosen
        elif tag == "textarea" and self.textarea is not None:
            if self.form is not None:
                self.form["fields"][self.textarea["name"]] = [self.textarea["text"]]
            self.textarea = None

    def handle_data(self, data):
        if self.textarea is not None:
            self.textarea["text"] += data


def page_form(html: str) -> tuple[dict, dict] | None:
    """(fields, input types) of the page's main POST form: not the log-out button, not the changelist."""
    parser = _Forms()
    parser.feed(html)
    for form in parser.forms:
        attrs = form["attrs"]
        if attrs.get("method", "get").lower() != "post" or "logout" in attrs.get("action", ""):
            continue
        if attrs.get("id") == "changelist-form":
            continue
        fields = {k: (v if len(v) != 1 else v[0]) for k, v in form["fields"].items() if k != "csrfmiddlewaretoken"}
        return fields, form["types"]
    return None


MANAGEMENT = ("-TOTAL_FORMS", "-INITIAL_FORMS", "-MIN_NUM_FORMS", "-MAX_NUM_FORMS")


def _day(delta_days: int = 0) -> str:
    return (timezone.now() + timedelta(days=delta_days)).date().isoformat()


def _unique(prefix: str) -> Callable[[], str]:
    return lambda: f"{prefix}{uuid.uuid4().hex[:8]}"


def _settle_form(fx: Fixture) -> dict:
    first = {m.pk: m.selections.order_by("pk").first() for m in fx.open_event.markets.all()}
    return {f"market_{pk}": str(s.pk) if s else "void" for pk, s in first.items()}


# Valid values for the admin forms whose rendered (initial) values are not a valid submission.
ADMIN_VALID: dict[str, Callable[[Fixture], dict]] = {
    "admin:casino_game_add": lambda fx: {
        "slug": _unique("fuzz-slot-"),
        "name": "Fuzz slot",
        "min_stake": "0.10",
        "max_stake": "5.00",
        "is_active": "on",
        "reels": json.dumps(fx.world.game.reels),
        "paytable": json.dumps(fx.world.game.paytable),
    },
    "admin:casino_sportevent_add": lambda fx: {
        "name": "Added FC vs Fuzz",
        "sport": "Football",
        "starts_at_0": _day(2),
        "starts_at_1": "18:00:00",
        "markets-0-name": "Match result",
        "markets-0-max_stake": "100.00",
    },
    "admin:casino_market_add": lambda fx: {
        "name": "Next goal",
        "event": str(fx.open_event.pk),
        "max_stake": "50.00",
        "selections-0-name": "Home",
        "selections-0-odds": "2.50",
    },
    "admin:casino_vendor_add": lambda fx: {"name": "Fuzz studio", "slug": _unique("fuzz-studio-")},
    "admin:casino_vendor_change": lambda fx: {
        "promotions-2-kind": "win_boost",
        "promotions-2-starts_at_0": _day(20),
        "promotions-2-starts_at_1": "00:00:00",
        "promotions-2-ends_at_0": _day(22),
        "promotions-2-ends_at_1": "00:00:00",
        "promotions-2-percent": "10",
    },
    "admin:promotions_promotioncode_add": lambda fx: {
        "code": _unique("FUZZ"),
        "campaign": "fuzz",
        "reward_kind": "bonus",
        "bonus_amount": "1.00",
        "starts_at_0": _day(),
        "starts_at_1": "00:00:00",
        "ends_at_0": _day(3),
        "ends_at_1": "00:00:00",
        "limit_policy": "overbook",
        "limit": "5",
    },
    "admin:promotions_code_bulk_issue": lambda fx: {
        "count": "1",
        "campaign": "fuzz-bulk",
        "prefix": "",
        "length": "8",
        "reward_kind": "bonus",
        "bonus_amount": "1.00",
        "starts_at": f"{_day()}T00:00",
        "ends_at": f"{_day(3)}T00:00",
        "limit_policy": "overbook",
        "limit": "5",
    },
    "admin:casino_sportevent_settle": _settle_form,
    "admin:casino_selection_change_odds": lambda fx: {
        "odds": "2.25",
        "expected_version": str(_trading_market().selections.first().version),
    },
}


def _trading_market():
    """A market of an event no player fuzz uses (suspending it stops nothing else)."""
    from casino.models import Market  # noqa: PLC0415

    market = Market.objects.filter(event__name="Trading FC vs Fuzz").first()
    return market or make_event(name="Trading FC vs Fuzz").markets.first()


# Forms fuzzed one field at a time (as the superuser): this project's own forms. Django's and
# django-axes' stock forms (users, groups, passwords) get the shallow treatment.
DEEP = set(ADMIN_VALID) | {"admin:casino_game_change", "admin:casino_sportevent_change", "admin:casino_market_change"}


@dataclass(frozen=True)
class AdminCase:
    kwargs: Callable[[Fixture], dict]
    query: tuple[str, ...] = ()
    post: bool = False


# Views an app adds to its ModelAdmin (``get_urls``).
ADMIN_CUSTOM: dict[str, AdminCase] = {
    "accounts_user_activity": AdminCase(lambda fx: {"user_id": fx.world.player.pk}, query=("hours",)),
    "auth_user_password_change": AdminCase(lambda fx: {"id": fx.other.pk}, post=True),
    "casino_sportevent_settle": AdminCase(lambda fx: {"pk": fx.open_event.pk}, post=True),
    "casino_sportevent_trading": AdminCase(lambda fx: {"pk": fx.open_event.pk}),
    "reports_dailyfigure_report": AdminCase(lambda fx: {}, query=("date_from", "date_to", "product", "game", "format")),
    "reports_dailyfigure_roll_up": AdminCase(lambda fx: {}, post=True),
    # suspend / reopen a market of an event of their own (the players' events stay open)
    "casino_market_suspend": AdminCase(lambda fx: {"pk": _trading_market().pk}, post=True),
    "casino_market_reopen": AdminCase(lambda fx: {"pk": _trading_market().pk}, post=True),
    "casino_selection_change_odds": AdminCase(lambda fx: {"pk": _trading_market().selections.first().pk}, post=True),
    "promotions_code_bulk_issue": AdminCase(lambda fx: {}, post=True),
    "promotions_code_export_csv": AdminCase(lambda fx: {}, query=("campaign",)),
    "casino_vendor_timeline": AdminCase(lambda fx: {"vendor_id": fx.vendor_id}, query=("from",)),
}
# The admin site's own views (walked by ``_walk_admin_site``).
ADMIN_SITE = frozenset(
    {
        "admin:index",
        "admin:login",
        "admin:logout",
        "admin:password_change",
        "admin:password_change_done",
        "admin:autocomplete",
        "admin:jsi18n",
        "admin:view_on_site",
        "admin:app_list",
        "/admin/(?P<url>.*)$",  # the catch-all
    }
)


def _staff(role: str) -> User:
    if role == "superuser":
        return User.objects.create_superuser(username="fuzz-superuser", password=PASSWORD, email="root@example.com")
    user = User.objects.create_user(username=f"fuzz-{role}", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return User.objects.get(pk=user.pk)


def _fuzz_admin_form(walk: Walk, client: Client, fx: Fixture, key: str, url: str, *, deep: bool) -> None:
    """GET the page; POST it empty, as rendered, with every field at once set to a few hostile
    values, and (``deep``) from a valid submission one field at a time."""
    response = walk.send(client, "GET", url)
    walk.send(client, "POST", url, {})
    if response is None or response.status_code != 200:
        return
    found = page_form(response.content.decode())
    if found is None:
        return
    rendered, types = found
    valid = {**rendered, **(ADMIN_VALID[key](fx) if key in ADMIN_VALID else {})}
    walk.send(client, "POST", url, _resolve(valid))
    # An inline's management form is fuzzed apart: a huge TOTAL_FORMS makes Django build and render
    # max_num + 1000 inline forms (2000 here), seconds per request, by design (``absolute_max``).
    plain = [n for n in valid if not n.endswith(MANAGEMENT) and "-__prefix__-" not in n]
    for value in ("abc", HUGE[1], TEN_KB):
        walk.send(client, "POST", url, {**_resolve(valid), **dict.fromkeys(plain, value)})
    if deep and key in DEEP:
        fuzz_form(walk, client, url, valid, names=_one_row_of_each(valid, plain), missing=False,
                  values=lambda name: BY_INPUT[types.get(name, "text")])  # fmt: skip
        for name in (n for n in valid if n.endswith(MANAGEMENT)):
            for value in ("", "abc", "-1"):
                walk.send(client, "POST", url, {**_resolve(valid), name: value})


def _one_row_of_each(valid: dict, names: list[str]) -> list[str]:
    """``names`` without the inline rows that repeat another's code path: of each inline, its
    first existing row and its first new (extra) row."""
    kept = []
    for name in names:
        row = re.fullmatch(r"(.+)-(\d+)-[^-]+", name)
        if row:
            prefix, index = row.group(1), int(row.group(2))
            if index not in (0, int(valid.get(f"{prefix}-INITIAL_FORMS") or 0)):
                continue
        kept.append(name)
    return kept


def _changelist(walk: Walk, client: Client, url: str, model, model_admin, *, deep: bool) -> None:
    response = walk.send(client, "GET", url)
    if response is None or response.status_code != 200:
        return
    html = response.content.decode()
    params = (set(re.findall(r'href="\?([^"=&]+)=', html)) | {"q", "o", "p", "all"}) - {"e", "_changelist_filters"}
    for value in ("abc", HUGE[1], EDGE_DATES[1], NUL, TEN_KB) if deep else ("abc", HUGE[1]):
        walk.send(client, "GET", url, dict.fromkeys(sorted(params), value))
    if deep and model_admin.date_hierarchy:
        for year, month, day in ((9999, 12, 31), (9999, None, None), (HUGE[1], 1, 1)):
            parts = {"year": year, "month": month, "day": day}
            walk.send(client, "GET", url, {f"{model_admin.date_hierarchy}__{p}": v for p, v in parts.items() if v})
    actions = (
        re.findall(r'<option value="([a-z_]+)"', html.split('name="action"', 1)[1]) if 'name="action"' in html else []
    )
    ids = [str(pk) for pk in model._default_manager.order_by("pk").values_list("pk", flat=True)[:3]]
    for action in actions:
        for selected in (ids, ["99999999"], [HUGE[1]], ["abc"]) if deep else (ids, ["abc"]):
            walk.send(client, "POST", url, {"action": action, "_selected_action": selected, "index": "0"})
    walk.send(client, "POST", url, {"action": "no_such_action", "_selected_action": ids, "index": "0"})


def _walk_admin(walk: Walk, fx: Fixture, client: Client, *, role: str, deep: bool) -> None:
    patterns = {p.key: p for p in all_patterns()}
    for key, (model, view) in sorted(model_admin_keys().items()):
        model_admin = admin.site._registry[model]
        route = patterns[key].route
        if view == "changelist":
            _changelist(walk, client, reverse(key), model, model_admin, deep=deep)
        elif view == "add":
            _fuzz_admin_form(walk, client, fx, key, reverse(key), deep=deep)
        else:
            obj = model._default_manager.order_by("pk").first()
            url = route.replace("<path:object_id>", str(obj.pk)) if obj is not None else None
            if url and view == "change":
                _fuzz_admin_form(walk, client, fx, key, url, deep=deep)
            elif url and deep:
                walk.send(client, "GET", url)
            if deep:
                for wrong in _wrong_urls(route, ADMIN_IDS if view == "change" else (HUGE[1], "abc")):
                    walk.send(client, "GET", wrong)
                    if view == "change":
                        walk.send(client, "POST", wrong, {"name": "x"})
    for name, case in ADMIN_CUSTOM.items():
        key = f"admin:{name}"
        url = reverse(key, kwargs=case.kwargs(fx) or None)
        if case.post:
            _fuzz_admin_form(walk, client, fx, key, url, deep=deep)
        if case.query:
            fuzz_query(walk, client, url, case.query, values=QUERY if deep else ("abc", *EDGE_DATES, HUGE[1]))
        for wrong in _wrong_urls(patterns[key].route, ("0", HUGE[1], "abc") if deep else ("99999999",)):
            walk.send(client, "GET", wrong)
    _walk_admin_site(walk, fx, client, role=role, deep=deep)


def _walk_admin_site(walk: Walk, fx: Fixture, client: Client, *, role: str, deep: bool) -> None:
    walk.send(client, "GET", reverse("admin:index"))
    for label in ("auth", "axes", "core", "accounts", "casino", "promotions"):
        walk.send(client, "GET", reverse("admin:app_list", kwargs={"app_label": label}))
    for path in ("/admin/nope/", "/admin/%F0%9F%8E%B0/", "/admin/a%00b/", "/admin/" + "x" * 4000 + "/"):
        walk.send(client, "GET", path)
    walk.send(client, "GET", reverse("admin:jsi18n"))
    walk.send(client, "GET", reverse("admin:password_change_done"))
    _fuzz_admin_form(walk, client, fx, "admin:password_change", reverse("admin:password_change"), deep=deep)
    autocomplete = {"app_label": "casino", "model_name": "market", "field_name": "event", "term": "Fuzz"}
    walk.send(client, "GET", reverse("admin:autocomplete"), autocomplete)
    for name in autocomplete if deep else ():
        for value in ("", "abc", HUGE[1], TEN_KB, NUL, UNICODE):
            walk.send(client, "GET", reverse("admin:autocomplete"), {**autocomplete, name: value})
    ct = ContentType.objects.get_for_model(Game)
    walk.send(client, "GET", reverse("admin:view_on_site", args=[ct.pk, fx.world.game.pk]))
    for wrong in ("0", HUGE[1], "abc", "a%00b") if deep else ():
        walk.send(client, "GET", f"/admin/r/{wrong}/{wrong}/")
        walk.send(client, "GET", f"/admin/r/{ct.pk}/{wrong}/")
    # Log-in and log-out on clients of their own (they change who is logged in).
    login = reverse("admin:login")
    walk.send(client, "GET", login)
    if deep:
        fuzz_form(
            walk,
            Client(),
            login,
            {"username": "fuzz-superuser", "password": "wrong-password"},
            values=lambda name: TEXT,
        )
    out = Client()
    out.force_login(User.objects.get(username=f"fuzz-{role}"))
    walk.send(out, "GET", reverse("admin:logout"))
    walk.send(out, "POST", reverse("admin:logout"), {"next": NUL})


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["superuser", "support", "trader", "marketing"])
def test_no_admin_view_answers_5xx_on_hostile_input(role, fx, assert_reconciles):
    """The superuser's walk is the deep one (every form one field at a time, every wrong id);
    each group's walk reaches what its permissions open (and gets 403 for the rest)."""
    walk = Walk()
    client = Client()
    client.force_login(_staff(role))
    deep = role == "superuser"
    _walk_admin(walk, fx, client, role=role, deep=deep)
    walk.check(expected_known=list(KNOWN_5XX) if deep else ())
    assert_reconciles()
