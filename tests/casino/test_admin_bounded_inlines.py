"""A POST claiming a huge TOTAL_FORMS builds at most ``BoundedInlineMixin.ABSOLUTE_MAX``
inline forms and answers with a formset error (issue 13: bounded work per request)."""

import pytest
from django.urls import reverse

from core.admin import BoundedInlineMixin
from tests.helpers.sportsbook import make_event

pytestmark = pytest.mark.django_db


def test_a_huge_total_forms_is_refused_without_building_the_forms(staff_client):
    event = make_event()
    url = reverse("admin:casino_sportevent_change", args=[event.pk])
    data = {
        "name": event.name,
        "sport": event.sport,
        "starts_at_0": event.starts_at.strftime("%Y-%m-%d"),
        "starts_at_1": event.starts_at.strftime("%H:%M:%S"),
        "markets-TOTAL_FORMS": str(10**30),
        "markets-INITIAL_FORMS": "0",
        "markets-MIN_NUM_FORMS": "0",
        "markets-MAX_NUM_FORMS": "1000",
    }
    response = staff_client.post(url, data)
    assert response.status_code == 200
    body = response.content.decode()
    assert f"Please submit at most {BoundedInlineMixin.ABSOLUTE_MAX} forms" in body
    assert body.count('name="markets-') <= 12 * BoundedInlineMixin.ABSOLUTE_MAX
