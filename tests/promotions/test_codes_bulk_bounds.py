"""Issue 13: a strict bulk issue writes a bounded number of limit tokens, in bounded
statements, and never builds the tokens in Python."""

from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Count, Max, Min
from django.urls import reverse
from django.utils import timezone

from promotions import services
from promotions.exceptions import InvalidCode
from promotions.models import LimitToken, PromotionCode
from promotions.services import codes

pytestmark = pytest.mark.django_db


def bulk(**overrides):
    now = timezone.now()
    kwargs = {
        "count": 3,
        "campaign": "Bounds",
        "reward_kind": "bonus",
        "bonus_amount": Decimal("1.00"),
        "starts_at": now,
        "ends_at": now + timedelta(days=1),
        "limit_policy": "strict",
        "limit": 2,
    }
    kwargs.update(overrides)
    return services.issue_codes_bulk(**kwargs)


@pytest.fixture
def token_inserts(monkeypatch):
    """Rows written by each INSERT into the token table, and LimitToken objects built in Python."""
    seen = {"rows": [], "built": 0}

    def spy(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if sql.lstrip().upper().startswith("INSERT") and LimitToken._meta.db_table in sql:
            seen["rows"].append(context["cursor"].rowcount)
        return result

    original_init = LimitToken.__init__

    def counting_init(self, *args, **kwargs):
        seen["built"] += 1
        original_init(self, *args, **kwargs)

    monkeypatch.setattr(LimitToken, "__init__", counting_init)
    with connection.execute_wrapper(spy):
        yield seen


@pytest.fixture
def no_code_drawing(monkeypatch):
    def refuse(**kwargs):
        raise AssertionError("codes were drawn before the token bound was checked")

    monkeypatch.setattr(codes, "generate_code", refuse)


@pytest.mark.parametrize(
    ("count", "limit"),
    [
        (10_000, 100_000),  # each within its own bound: 10^9 tokens
        (11, 100_000),  # 1,100,000
        (1_001, 1_000),  # 1,001,000
    ],
)
def test_a_strict_bulk_issue_over_the_token_bound_is_refused_and_creates_nothing(count, limit, no_code_drawing):
    with pytest.raises(InvalidCode) as info:
        bulk(count=count, limit=limit)
    message = info.value.message
    assert f"{count * limit:,} limit tokens" in message
    assert f"at most {codes.BULK_MAX_TOKENS:,}" in message
    assert "overbook" in message
    assert not PromotionCode.objects.exists()
    assert not LimitToken.objects.exists()


def test_the_token_bound_is_a_million():
    assert codes.BULK_MAX_TOKENS == 1_000_000
    assert codes.BULK_MAX_COUNT * codes.STRICT_MAX_LIMIT > codes.BULK_MAX_TOKENS  # so the bound bites


def test_overbook_and_unlimited_bulk_issues_have_no_token_bound(token_inserts):
    bulk(count=11, limit_policy="overbook", limit=100_000)
    bulk(count=11, limit_policy="unlimited", limit=None, campaign="Unlimited")
    assert PromotionCode.objects.count() == 22
    assert token_inserts["rows"] == []


@pytest.mark.parametrize(
    ("count", "limit"),
    [
        (30, 70),  # several codes per statement: 14 codes x 70 = 980 rows
        (2, 2_500),  # one code's slots split over statements of 1,000
    ],
)
def test_strict_tokens_are_inserted_in_bounded_statements_without_building_them(
    count, limit, monkeypatch, token_inserts
):
    monkeypatch.setattr(codes, "TOKEN_INSERT_BATCH", 1_000, raising=False)
    created = bulk(count=count, limit=limit)
    assert token_inserts["built"] == 0  # no LimitToken object in memory, let alone count x limit
    assert len(token_inserts["rows"]) > 1
    assert max(token_inserts["rows"]) <= 1_000
    assert sum(token_inserts["rows"]) == count * limit
    per_code = LimitToken.objects.values("code").annotate(n=Count("id"), low=Min("slot"), high=Max("slot"))
    assert sorted(r["code"] for r in per_code) == sorted(c.pk for c in created)
    assert {(r["n"], r["low"], r["high"]) for r in per_code} == {(limit, 1, limit)}
    assert not LimitToken.objects.filter(redemption__isnull=False).exists()


def test_a_single_strict_code_gets_its_tokens_the_same_way(token_inserts):
    promo = services.issue_code(
        code="SOLO",
        reward_kind="bonus",
        bonus_amount=Decimal("1.00"),
        starts_at=timezone.now(),
        ends_at=timezone.now() + timedelta(days=1),
        limit_policy="strict",
        limit=codes.TOKEN_INSERT_BATCH + 1,
    )
    assert token_inserts["built"] == 0
    assert token_inserts["rows"] == [codes.TOKEN_INSERT_BATCH, 1]
    assert sorted(LimitToken.objects.filter(code=promo).values_list("slot", flat=True)) == list(
        range(1, codes.TOKEN_INSERT_BATCH + 2)
    )


def test_strict_tokens_still_cap_redemptions(player, other_player):
    (promo,) = bulk(count=1, limit=1, starts_at=timezone.now() - timedelta(minutes=1))
    services.redeem(player=player, code=promo.code)
    with pytest.raises(services.codes.LimitReached):
        services.redeem(player=other_player, code=promo.code)


@pytest.mark.slow
def test_a_bulk_issue_at_the_token_bound_is_written_in_statements_of_bounded_size(token_inserts):
    bulk(count=10, limit=100_000)
    assert token_inserts["built"] == 0
    statements = codes.BULK_MAX_TOKENS // codes.TOKEN_INSERT_BATCH
    assert Counter(token_inserts["rows"]) == {codes.TOKEN_INSERT_BATCH: statements}
    assert LimitToken.objects.count() == codes.BULK_MAX_TOKENS


def test_admin_bulk_issue_over_the_token_bound_shows_the_reason(client, staff, no_code_drawing):
    client.force_login(staff)
    response = client.post(
        reverse("admin:promotions_code_bulk_issue"),
        {
            "count": "10000",
            "campaign": "Too big",
            "length": "8",
            "reward_kind": "bonus",
            "bonus_amount": "1.00",
            "starts_at": "2020-01-01T00:00",
            "ends_at": "2099-01-01T00:00",
            "limit_policy": "strict",
            "limit": "1000",
        },
    )
    assert response.status_code == 422
    assert "10,000,000 limit tokens" in response.content.decode()
    assert not PromotionCode.objects.exists()
