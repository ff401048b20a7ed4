"""Admin input no page can use is a 400 at the door, not a 500 deep inside (issue 13): NUL
bytes, date drill-downs outside the calendar, non-integer action selections; and a 10 kB
username at the login (django-axes stores at most 255 characters). Player pages answer
NUL bytes with their own form errors (tests/accounts/test_fuzz.py)."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("get", "/admin/accounts/ledgertransaction/", {"q": "x\x00"}),
        ("get", "/admin/accounts/ledgertransaction/", {"created_at__year": "9999"}),
        ("get", "/admin/accounts/ledgertransaction/", {"created_at__year": str(10**30)}),
        ("get", "/admin/accounts/ledgertransaction/", {"created_at__month": "13"}),
        ("post", "/admin/casino/payout/", {"action": "pay_now", "_selected_action": ["1", "abc"]}),
    ],
)
def test_unusable_input_is_a_400(admin_client, method, path, data):
    response = getattr(admin_client, method)(path, data)
    assert response.status_code == 400


def test_ordinary_input_passes(admin_client):
    assert admin_client.get("/admin/accounts/ledgertransaction/", {"created_at__year": "2026"}).status_code == 200
    assert admin_client.get("/admin/accounts/ledgertransaction/", {"q": "deposit"}).status_code == 200


def test_a_10kb_username_at_the_login_is_an_ordinary_failed_login(client):
    response = client.post(reverse("login"), {"username": "x" * 10_240, "password": "nope"})
    assert response.status_code in (200, 403, 429)
    assert b"Please enter a correct" in response.content or response.status_code != 200
