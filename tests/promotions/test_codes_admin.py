"""Staff side of promotion codes: issue, bulk issue + CSV, deactivate, read-only redemptions."""

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from casino.models import Game
from core.models import AuditLog
from promotions import services
from promotions.models import LimitToken, PromotionCode, Redemption
from tests.factories import PlayerFactory
from tests.helpers.codes import make_code

pytestmark = pytest.mark.django_db


def add_form(**overrides):
    data = {
        "code": " autumn 5 ",
        "campaign": "Autumn",
        "reward_kind": "bonus",
        "bonus_amount": "5.00",
        "starts_at_0": "2020-01-01",
        "starts_at_1": "00:00:00",
        "ends_at_0": "2099-01-01",
        "ends_at_1": "00:00:00",
        "limit_policy": "strict",
        "limit": "3",
        "redemptions-TOTAL_FORMS": "0",
        "redemptions-INITIAL_FORMS": "0",
    }
    data.update(overrides)
    return data


def test_staff_issue_a_code_through_the_service(staff_client, staff):
    response = staff_client.post(reverse("admin:promotions_promotioncode_add"), add_form())
    assert response.status_code == 302, response.content.decode()[:2000]
    promo = PromotionCode.objects.get()
    assert promo.code == "AUTUMN5" and promo.created_by == staff
    assert LimitToken.objects.filter(code=promo).count() == 3
    assert AuditLog.objects.filter(action="promotion_code.issue", actor=staff).exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"code": "bad code!"}, "only letters"),
        ({"limit_policy": "unlimited"}, "unlimited code has no limit"),
        ({"limit": ""}, "limit of at least 1"),
        ({"bonus_amount": ""}, "needs a bonus amount"),
        ({"ends_at_0": "2019-01-01"}, "end must be after the start"),
    ],
)
def test_admin_add_shows_validation_errors(staff_client, overrides, message):
    response = staff_client.post(reverse("admin:promotions_promotioncode_add"), add_form(**overrides))
    assert response.status_code == 200
    assert message in response.content.decode().replace("&#x27;", "'")
    assert not PromotionCode.objects.exists()


def test_admin_add_refuses_an_existing_code_in_any_case(staff_client):
    make_code(code="AUTUMN5")
    response = staff_client.post(reverse("admin:promotions_promotioncode_add"), add_form(code="autumn5"))
    assert response.status_code == 200 and "already exists" in response.content.decode()


def test_changelist_shows_redeemed_limit_overshoot(staff_client, django_assert_max_num_queries):
    promo = make_code(code="COUNTED", limit_policy="overbook", limit=5)
    for _ in range(3):
        services.redeem(player=PlayerFactory(), code="COUNTED")
    for i in range(10):
        make_code(code=f"OTHER{i}")
    with django_assert_max_num_queries(12):
        response = staff_client.get(reverse("admin:promotions_promotioncode_changelist"))
    html = response.content.decode()
    row = html[html.index(f'<a href="/admin/promotions/promotioncode/{promo.pk}/change/">COUNTED') :]
    row = row[: row.index("</tr>")]
    assert '<td class="field-redeemed">3</td>' in row and '<td class="field-limit">5</td>' in row
    assert '<td class="field-overshoot">0</td>' in row
    assert "Bulk issue codes" in html


def test_change_page_is_read_only_with_redemptions_inline(staff_client):
    promo = make_code(code="INLINE")
    player = PlayerFactory()
    services.redeem(player=player, code="INLINE")
    url = reverse("admin:promotions_promotioncode_change", args=[promo.pk])
    html = staff_client.get(url).content.decode()
    assert player.username in html and 'name="bonus_amount"' not in html
    assert "All 1 redemptions" in html
    staff_client.post(url, {"bonus_amount": "999.00"})
    promo.refresh_from_db()
    assert promo.bonus_amount == Decimal("10.00")


def test_deactivate_action_goes_through_the_service(staff_client, staff):
    promo = make_code(code="STOPME")
    before = promo.version
    response = staff_client.post(
        reverse("admin:promotions_promotioncode_changelist"),
        {"action": "deactivate", "_selected_action": [promo.pk]},
        follow=True,
    )
    assert "Deactivated 1 code" in response.content.decode()
    promo.refresh_from_db()
    assert promo.is_active is False and promo.version == before + 1
    assert AuditLog.objects.filter(action="promotion_code.deactivate", actor=staff, target="code:STOPME").exists()


def test_bulk_issue_page_and_csv_download(staff_client, staff):
    url = reverse("admin:promotions_code_bulk_issue")
    assert staff_client.get(url).status_code == 200
    response = staff_client.post(
        url,
        {
            "count": "25",
            "campaign": "Black Friday",
            "prefix": "bf-",
            "length": "8",
            "reward_kind": "bonus",
            "bonus_amount": "3.00",
            "starts_at": "2020-01-01T00:00",
            "ends_at": "2099-01-01T00:00",
            "limit_policy": "unlimited",
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Issued <strong>25</strong> codes" in html
    assert PromotionCode.objects.filter(campaign="Black Friday", created_by=staff).count() == 25
    assert AuditLog.objects.filter(action="promotion_code.issue_bulk", actor=staff).exists()

    csv_response = staff_client.get(reverse("admin:promotions_code_export_csv"), {"campaign": "Black Friday"})
    assert csv_response["Content-Type"].startswith("text/csv")
    assert "attachment" in csv_response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(csv_response.content.decode())))
    assert len(rows) == 25
    assert {r["code"] for r in rows} == set(
        PromotionCode.objects.filter(campaign="Black Friday").values_list("code", flat=True)
    )
    assert all(r["code"].startswith("BF-") and r["reward"] == "3.00 bonus" for r in rows)


def test_bulk_issue_form_errors(staff_client):
    response = staff_client.post(
        reverse("admin:promotions_code_bulk_issue"),
        {
            "count": "5",
            "campaign": "X",
            "length": "8",
            "reward_kind": "bonus",
            "starts_at": "2020-01-01T00:00",
            "ends_at": "2099-01-01T00:00",
            "limit_policy": "unlimited",
        },
    )
    assert response.status_code == 422
    assert "needs a bonus amount" in response.content.decode()
    assert not PromotionCode.objects.exists()


def test_download_selected_codes_as_csv(staff_client):
    a, b = make_code(code="CSVA"), make_code(code="CSVB")
    make_code(code="CSVC")
    response = staff_client.post(
        reverse("admin:promotions_promotioncode_changelist"),
        {"action": "download_csv", "_selected_action": [a.pk, b.pk]},
    )
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [r["code"] for r in rows] == ["CSVA", "CSVB"]


def test_redemptions_are_read_only_in_the_admin(staff_client):
    make_code(code="RO")
    redemption = services.redeem(player=PlayerFactory(), code="RO")
    assert staff_client.get(reverse("admin:promotions_redemption_changelist")).status_code == 200
    assert staff_client.get(reverse("admin:promotions_redemption_add")).status_code == 403
    staff_client.post(reverse("admin:promotions_redemption_delete", args=[redemption.pk]), {"post": "yes"})
    assert Redemption.objects.filter(pk=redemption.pk).exists()


def test_non_staff_cannot_reach_bulk_issue(client, player):
    client.force_login(player)
    response = client.get(reverse("admin:promotions_code_bulk_issue"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


# --- the bulk-issue form: field by field, default dates, only the reward kind's fields ----------------
def bulk_form(**overrides):
    data = {
        "count": "3",
        "campaign": "Spring",
        "prefix": "",
        "length": "8",
        "reward_kind": "bonus",
        "bonus_amount": "4.00",
        "starts_at": "2020-01-01T00:00",
        "ends_at": "2099-01-01T00:00",
        "limit_policy": "unlimited",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _row(html: str, name: str) -> str:
    """The rendered row of field ``name`` (label, input, help, errors)."""
    match = re.search(rf'<(div|fieldset) class="form-row field-{name}[ "].*?</\1>\s*</\1>', html, re.S)
    assert match, f"no row for {name}"
    return match.group(0)


def test_bulk_issue_form_defaults_to_now_for_30_days(staff_client):
    before = timezone.now().replace(second=0, microsecond=0)
    html = staff_client.get(reverse("admin:promotions_code_bulk_issue")).content.decode()
    starts = re.search(r'name="starts_at" value="([^"]+)"', html).group(1)
    ends = re.search(r'name="ends_at" value="([^"]+)"', html).group(1)
    starts_at = datetime.strptime(starts, "%Y-%m-%dT%H:%M").replace(tzinfo=UTC)
    ends_at = datetime.strptime(ends, "%Y-%m-%dT%H:%M").replace(tzinfo=UTC)
    assert before <= starts_at <= before + timedelta(minutes=1)
    assert ends_at - starts_at == timedelta(days=30)
    assert 'type="radio" name="reward_kind" value="bonus"' in html and re.search(
        r'name="reward_kind" value="bonus"[^>]*checked', html
    )


def test_bulk_issue_form_lays_out_each_field_with_its_label_help_and_errors(staff_client):
    response = staff_client.post(
        reverse("admin:promotions_code_bulk_issue"), bulk_form(count="0", bonus_amount=None, ends_at="2019-01-01T00:00")
    )
    assert response.status_code == 422
    html = response.content.decode()
    for name, label in (("count", "Count"), ("campaign", "Campaign"), ("starts_at", "Starts"), ("limit", "Limit")):
        row = _row(html, name)
        assert f'<label for="id_{name}"' in row and label in row and f'name="{name}"' in row
    count = _row(html, "count")
    assert 'class="help"' in count and "errorlist" in count and "greater than or equal to 1" in count
    assert "needs a bonus amount" in _row(html, "bonus_amount")
    assert "The end must be after the start." in _row(html, "ends_at")
    assert "errorlist" not in _row(html, "campaign")
    assert not PromotionCode.objects.exists()


def test_bulk_issue_ignores_the_fields_another_reward_kind_uses(staff_client, staff):
    url = reverse("admin:promotions_code_bulk_issue")
    # A bonus issue with leftovers in the (hidden) free-spin fields, even invalid ones: ignored.
    response = staff_client.post(
        url, bulk_form(free_spins_game="999999", free_spins_count="abc", free_spin_stake="0.1.2", campaign="Bonus")
    )
    assert response.status_code == 200, response.content.decode()[:2000]
    codes = PromotionCode.objects.filter(campaign="Bonus")
    assert codes.count() == 3
    assert {(c.bonus_amount, c.free_spins_game_id, c.free_spins_count, c.free_spin_stake) for c in codes} == {
        (Decimal("4.00"), None, None, None)
    }

    # A free-spins issue with a bonus amount left over: the amount is ignored.
    game = Game.objects.create(
        slug="bulk-slot", name="Bulk slot", min_stake="0.10", max_stake="5.00",
        reels=[["A", "B"], ["A", "B"], ["A", "B"]], paytable=[{"line": ["A", "A", "A"], "pays": 2}],
    )  # fmt: skip
    spins = bulk_form(
        campaign="Spins", reward_kind="free_spins", bonus_amount="50.00",
        free_spins_game=str(game.pk), free_spins_count="10", free_spin_stake="0.20",
    )  # fmt: skip
    assert staff_client.post(url, spins).status_code == 200
    issued = PromotionCode.objects.filter(campaign="Spins")
    assert issued.count() == 3 and {c.bonus_amount for c in issued} == {None}
    assert {(c.free_spins_game_id, c.free_spins_count) for c in issued} == {(game.pk, 10)}

    # The kind's own fields still count: a free-spins issue without its game says so beside the field.
    missing = staff_client.post(url, bulk_form(reward_kind="free_spins", campaign="Nope", free_spins_count="5"))
    assert missing.status_code == 422
    html = missing.content.decode()
    assert "Pick the game" in _row(html, "free_spins_game") and "Give the stake" in _row(html, "free_spin_stake")
    assert not PromotionCode.objects.filter(campaign="Nope").exists()


def test_bulk_issue_page_groups_the_reward_fields_by_kind(staff_client):
    html = staff_client.get(reverse("admin:promotions_code_bulk_issue")).content.decode()
    bonus = re.search(r'data-reward-kind="bonus".*?</div>\s*</div>\s*</div>', html, re.S).group(0)
    spins = re.search(r'data-reward-kind="free_spins".*?data-group="validity"', html, re.S).group(0)
    assert 'name="bonus_amount"' in bonus and 'name="free_spins_count"' not in bonus
    assert all(f'name="{n}"' in spins for n in ("free_spins_game", "free_spins_count", "free_spin_stake"))
    assert 'name="bonus_amount"' not in spins
