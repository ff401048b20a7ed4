"""Issue 13: one focused regression test per 500 the no-5xx walk found (``test_no_5xx.py``).

Each test fails on the code before its fix: the request raised (the test client
re-raises a view's exception) or answered 500.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.exceptions import UsernameTaken
from accounts.models import User
from accounts.services import create_player
from casino.demo import ensure_demo_vendor
from promotions.exceptions import InvalidCode
from promotions.forms.codes import BulkIssueForm
from promotions.models import PromotionCode
from promotions.selectors import vendor_timeline
from promotions.services.codes import MAX_LIMIT, validate_code_spec

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


# --- /redeem/: an empty POST (``request.POST or None`` left the form unbound: 500) ---------------
@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_an_empty_redeem_post_is_a_form_error(player_client, htmx):
    response = player_client.post(reverse("redeem"), {}, **(HTMX if htmx else {}))
    assert response.status_code == 422
    assert "Enter a promotion code." in response.content.decode()


# --- admin bulk issue -----------------------------------------------------------------------------
def _bulk(**overrides) -> dict:
    today = timezone.now().date()
    data = {
        "count": "2",
        "campaign": "Edge",
        "prefix": "",
        "length": "8",
        "reward_kind": "bonus",
        "bonus_amount": "1.00",
        "starts_at": f"{today}T00:00",
        "ends_at": f"{today + timedelta(days=3)}T00:00",
        "limit_policy": "overbook",
        "limit": "5",
    }
    data.update(overrides)
    return data


def test_an_empty_bulk_issue_post_is_a_form_error(admin_client):
    """``BulkIssueForm(request.POST or None)`` was unbound for an empty POST: ``len(None)``."""
    response = admin_client.post(reverse("admin:promotions_code_bulk_issue"), {})
    assert response.status_code == 422
    assert "This field is required." in response.content.decode()
    assert not PromotionCode.objects.exists()


@pytest.mark.parametrize("policy", ["overbook", "strict"])
@pytest.mark.parametrize("limit", ["3000000000", str(MAX_LIMIT + 1)])
def test_a_bulk_issue_limit_beyond_the_column_is_a_form_error(admin_client, policy, limit):
    """An overbook limit of 3,000,000,000 reached the INSERT: integer out of range."""
    response = admin_client.post(reverse("admin:promotions_code_bulk_issue"), _bulk(limit_policy=policy, limit=limit))
    assert response.status_code == 422
    assert not PromotionCode.objects.exists()


def test_the_largest_overbook_limit_the_column_holds_is_issued(admin_client):
    response = admin_client.post(reverse("admin:promotions_code_bulk_issue"), _bulk(limit=str(MAX_LIMIT)))
    assert response.status_code == 200, response.content.decode()[:1000]
    assert set(PromotionCode.objects.values_list("limit", flat=True)) == {MAX_LIMIT}


def test_the_bulk_issue_form_bounds_the_limit():
    form = BulkIssueForm(_bulk(limit="3000000000"))
    assert not form.is_valid() and "limit" in form.errors


def test_the_code_validator_refuses_a_limit_the_column_cannot_hold():
    now = timezone.now()
    spec = {
        "reward_kind": "bonus",
        "bonus_amount": Decimal("1.00"),
        "starts_at": now,
        "ends_at": now + timedelta(days=1),
        "limit_policy": "overbook",
    }
    with pytest.raises(InvalidCode, match="at most"):
        validate_code_spec(**spec, limit=3_000_000_000)
    assert validate_code_spec(**spec, limit=MAX_LIMIT)["limit"] == MAX_LIMIT


# --- admin vendor timeline: ``?from=`` at the calendar's edges (OverflowError) -----------------------
@pytest.mark.parametrize("day", ["0001-01-01", "0001-01-28", "9999-12-30", "9999-12-31", "9999-11-20"])
def test_the_vendor_timeline_at_the_calendar_edges_is_served(admin_client, day):
    vendor = ensure_demo_vendor()
    response = admin_client.get(reverse("admin:casino_vendor_timeline", args=[vendor.pk]), {"from": day})
    assert response.status_code == 200
    # The earlier/later links of the page stay on representable dates too.
    for link in ("earlier", "later"):
        datetime.fromisoformat(response.context[link])


@pytest.mark.parametrize(
    ("start", "year"),
    [
        (datetime(1, 1, 1, tzinfo=UTC), 2),
        (datetime(9999, 12, 30, tzinfo=UTC), 9998),
        (datetime(2030, 5, 1, tzinfo=UTC), 2030),
    ],
)
def test_the_timeline_selector_keeps_its_window_inside_the_calendar(start, year):
    timeline = vendor_timeline(vendor=ensure_demo_vendor(), start=start)
    assert timeline.starts_at.year == year
    assert timeline.ends_at - timeline.starts_at == timedelta(days=42)


# --- sign-up: a username taken between the form's check and the INSERT (IntegrityError) -----------
def test_creating_a_player_with_a_taken_username_is_a_typed_error():
    """The form's uniqueness check is a fast path; the service must turn the constraint into UsernameTaken.
    (Two threads racing through the view: ``test_signup_race.py``.)"""
    create_player(username="taken", password="x-Very-long-pass-42")
    with pytest.raises(UsernameTaken) as caught:
        create_player(username="taken", password="x-Very-long-pass-42")
    assert caught.value.field == "username"
    assert User.objects.filter(username="taken").count() == 1
