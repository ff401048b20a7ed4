"""Provably fair (issue 17): the server seed of an open session never leaves the server.

Every page and htmx fragment a player can reach while their session is open, and every
admin page a superuser can reach (each registered model's list, every object's change
and history pages, the custom staff pages), is fetched; none may contain the seed, in hex
(either case) or base64. Then the session closes and the seed shows: the scan can fail.
"""

from __future__ import annotations

import base64
import uuid

import pytest
from django.contrib import admin
from django.test import Client, RequestFactory
from django.urls import reverse

from casino import services as casino_services
from casino.demo import ensure_demo_vendor
from tests.factories import StaffFactory
from tests.helpers.security import build_world, player_routes

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
OBJECTS_PER_MODEL = 25


def _forms(seed: str) -> tuple[str, ...]:
    raw = bytes.fromhex(seed)
    return (seed.lower(), seed.upper(), base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode())


def _leaks(response, forms: tuple[str, ...]) -> bool:
    body = b"".join(response) if response.streaming else response.content
    text = body.decode(errors="replace") + " ".join(f"{k}: {v}" for k, v in response.items())
    return any(form in text for form in forms)


def _player_urls(world, vendor_slug: str) -> list[str]:
    ids = {
        "slug": {"game_detail": world.game.slug, "session_open": world.game.slug, "vendor_detail": vendor_slug},
        "pk": {
            "bet_detail": world.bet.pk,
            "cash_out_bet": world.bet.pk,
            "cash_out_early": world.bet.pk,
            "redemption_detail": world.redemption.pk,
        },
    }
    urls = []
    for name, route in player_routes().items():
        kwargs = {}
        for kwarg in route.kwargs:
            by_name = ids.get(kwarg, {})
            kwargs[kwarg] = by_name.get(name, world.session.pk) if kwarg == "pk" else by_name.get(name)
            if kwargs[kwarg] is None and name != "bonus_forfeit":
                pytest.fail(f"{name}: give the scan an id for {kwarg}")
        if name == "bonus_forfeit":
            continue  # no grant in this world: a 404 page (the wallet shows the bonus panel)
        urls.append(reverse(name, kwargs=kwargs or None))
    return urls


def test_the_server_seed_of_an_open_session_is_on_no_page_or_fragment(client):
    world = build_world()
    session = world.session
    forms = _forms(session.server_seed)
    player = Client()
    player.force_login(world.player)
    leaks = []

    def check(label: str, response) -> None:
        if _leaks(response, forms):
            leaks.append(label)

    for url in _player_urls(world, ensure_demo_vendor().slug):
        check(f"GET {url}", player.get(url))
        check(f"GET {url} (htmx)", player.get(url, **HTMX))
    # What the session's own controls answer, as full pages and as htmx fragments.
    spin_url = reverse("session_spin", args=[session.pk])
    for extra in ({}, HTMX):
        spin = {"spin-stake": "0.10", "spin-idempotency_key": uuid.uuid4().hex}
        check(f"POST spin {extra}", player.post(spin_url, spin, **extra))
        check(f"POST refused spin {extra}", player.post(spin_url, {"spin-stake": "9999"}, **extra))
        feed = {"feed-amount": "1.00", "feed-idempotency_key": uuid.uuid4().hex}
        check(f"POST feed {extra}", player.post(reverse("session_feed", args=[session.pk]), feed, **extra))
        seed = reverse("session_seed", args=[session.pk])
        check(f"POST seed {extra}", player.post(seed, {"seed-client_seed": "too late"}, follow=True, **extra))
        check(f"POST reality check {extra}", player.post(reverse("reality_check"), {}, **extra))

    staff = Client()
    superuser = StaffFactory(is_superuser=True)
    staff.force_login(superuser)
    pages = [reverse("admin:index"), reverse("admin:accounts_user_activity", args=[world.player.pk])]
    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        pages.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
        for pk in model_admin.get_queryset(_request(superuser)).values_list("pk", flat=True)[:OBJECTS_PER_MODEL]:
            pages.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[pk]))
            pages.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_history", args=[pk]))
    for url in pages:
        check(f"staff GET {url}", staff.get(url))
    session_admin = reverse("admin:casino_gamesession_change", args=[session.pk])
    assert "hidden until the session closes" in staff.get(session_admin).content.decode()
    assert not leaks, "the open session's server seed appears in:\n" + "\n".join(leaks)

    # The scan can fail: once the session is closed, the seed is on its page and the admin's.
    casino_services.leave(session=session)
    assert _leaks(player.get(session.get_absolute_url()), forms)
    assert _leaks(staff.get(session_admin), forms)


def _request(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request
