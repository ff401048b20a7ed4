"""Two sign-ups with one username: one player is made, the other form says the name is
taken (issue 13, defect 9). The form's uniqueness check is only a fast path; the
username's unique constraint decides, and ``create_player`` turns its
``IntegrityError`` into ``UsernameTaken`` that the sign-up page shows.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse

from accounts.models import Account, User
from accounts.services import create_player
from tests.conftest import run_in_threads
from tests.helpers.db import in_thread

PASSWORD = "x-Very-long-pass-42"
pytestmark = pytest.mark.django_db(transaction=True)


def _form(username: str) -> dict:
    return {"username": username, "email": "", "password1": PASSWORD, "password2": PASSWORD}


def _a_backend_waits_on_a_lock(timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cur:
            cur.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cur.fetchone()[0]:
                return True
        time.sleep(0.02)
    return False


def test_a_signup_whose_username_is_taken_after_the_form_check_gets_a_form_error():
    """Proves the constraint path deterministically: a competing sign-up holds the name
    uncommitted, so the request's form check passes and its INSERT waits on the unique
    index; the competitor commits and the request must answer "taken", not 500."""
    inserted, release = threading.Event(), threading.Event()

    def competitor():
        with transaction.atomic():
            create_player(username="racer", password=PASSWORD)
            inserted.set()
            assert release.wait(20)
        return "committed"

    def request():
        assert inserted.wait(20)
        return Client().post(reverse("signup"), _form("racer"))

    running = [in_thread(competitor), in_thread(request)]
    try:
        assert inserted.wait(20)
        assert _a_backend_waits_on_a_lock(), "the sign-up request never reached its INSERT"
    finally:
        release.set()
        for thread, _ in running:
            thread.join(30)
    held, response = (box.get("result") for _, box in running)
    assert held == "committed"
    assert not isinstance(response, BaseException), f"the losing sign-up raised {response!r}"
    assert response.status_code == 200
    assert "That username is taken" in response.content.decode()
    assert "_auth_user_id" not in response.wsgi_request.session  # the loser is not logged in
    assert User.objects.filter(username="racer").count() == 1
    assert Account.objects.filter(user__username="racer").count() == 1


def test_two_simultaneous_signups_with_one_username_make_one_player():
    """The same race released at one instant, as two browsers would: never a 500, one player per name."""
    for round_ in range(5):
        name = f"twin{round_}"
        clients = [Client(), Client()]
        results = run_in_threads(2, lambda i, c=clients, n=name: c[i].post(reverse("signup"), _form(n)))
        errors = [r for r in results if isinstance(r, BaseException)]
        assert not errors, errors
        assert sorted(r.status_code for r in results) == [200, 302], [r.status_code for r in results]
        loser = next(r for r in results if r.status_code == 200).content.decode()
        assert "already exists" in loser or "That username is taken" in loser
        assert User.objects.filter(username=name).count() == 1
        assert Account.objects.filter(user__username=name).count() == 1
