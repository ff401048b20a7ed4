"""Rules of issuing, redeeming and deactivating promotion codes (single-threaded)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts import ledger
from accounts.selectors import balance_of, ledger_balance
from casino.models import FreeSpinGrant, Game
from core.models import AuditLog
from promotions import services
from promotions.demo import ensure_demo_codes
from promotions.exceptions import AlreadyRedeemed, CodeNotActive, InvalidCode, LimitReached, UnknownCode
from promotions.models import LimitToken, PromotionCode, Redemption
from promotions.services.codes import BULK_ALPHABET, check_redeemable, normalize_code
from tests.factories import PlayerFactory
from tests.helpers.codes import code_row_stamp, make_code

pytestmark = pytest.mark.django_db


# --- issuing ------------------------------------------------------------------------------------
def test_issue_normalises_the_code():
    promo = make_code(code="  sum mer\t2025 ")
    assert promo.code == "SUMMER2025"
    assert PromotionCode.objects.get(pk=promo.pk).code == "SUMMER2025"


def test_issue_refuses_a_duplicate_in_any_case():
    make_code(code="DUPE")
    with pytest.raises(InvalidCode, match="already exists"):
        make_code(code=" dupe ")


@pytest.mark.parametrize("raw", ["", "   ", "BAD CODE!", "é10", "X" * 41, None])
def test_issue_refuses_malformed_codes(raw):
    with pytest.raises(InvalidCode):
        make_code(code=raw)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"bonus_amount": None}, "needs a bonus amount"),
        ({"bonus_amount": Decimal("0")}, "more than zero"),
        ({"bonus_amount": Decimal("1.005")}, "two decimals"),
        ({"bonus_amount": 1.5}, "float"),
        ({"limit_policy": "strict"}, "limit of at least 1"),
        ({"limit_policy": "overbook", "limit": 0}, "limit of at least 1"),
        ({"limit": 5}, "unlimited code has no limit"),
        ({"limit_policy": "sometimes", "limit": 5}, "Unknown limit policy"),
        ({"reward_kind": "cash"}, "Unknown reward kind"),
        ({"reward_kind": "free_spins"}, "leave the bonus amount empty"),
        ({"reward_kind": "free_spins", "bonus_amount": None}, "needs a game"),
        ({"limit_policy": "strict", "limit": 100_001}, "use overbook"),
    ],
)
def test_issue_validates_reward_and_limit(overrides, message):
    with pytest.raises(InvalidCode, match=message):
        make_code(**overrides)
    assert not PromotionCode.objects.exists()


def test_issue_refuses_an_empty_or_inverted_window():
    now = timezone.now()
    with pytest.raises(InvalidCode, match="after the start"):
        make_code(starts_at=now, ends_at=now)
    with pytest.raises(InvalidCode, match="after the start"):
        make_code(starts_at=now, ends_at=now - timedelta(seconds=1))


def test_strict_code_gets_one_token_per_unit_of_its_limit():
    promo = make_code(limit_policy="strict", limit=7)
    assert sorted(LimitToken.objects.filter(code=promo).values_list("slot", flat=True)) == list(range(1, 8))
    assert not LimitToken.objects.filter(code=make_code(code="OVER", limit_policy="overbook", limit=7)).exists()


def test_issue_by_staff_is_audited(staff):
    promo = make_code(created_by=staff)
    assert promo.created_by == staff
    assert AuditLog.objects.filter(actor=staff, action="promotion_code.issue", target=f"code:{promo.code}").exists()


def test_bulk_issue_makes_unique_readable_codes():
    now = timezone.now()
    codes = services.issue_codes_bulk(
        count=300,
        prefix=" sum-",
        length=8,
        campaign="Summer",
        reward_kind="bonus",
        bonus_amount=Decimal("5.00"),
        starts_at=now,
        ends_at=now + timedelta(days=3),
        limit_policy="strict",
        limit=2,
    )
    texts = [c.code for c in codes]
    assert len(set(texts)) == 300
    for text in texts:
        assert text.startswith("SUM-")
        assert len(text) == 12
        assert set(text[4:]) <= set(BULK_ALPHABET)
    assert not set("0O1IL5S2Z8B") & set(BULK_ALPHABET)
    assert PromotionCode.objects.filter(campaign="Summer").count() == 300
    assert LimitToken.objects.filter(code__campaign="Summer").count() == 600


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"count": 0}, "between 1 and"),
        ({"count": 10_001}, "between 1 and"),
        ({"length": 4}, "at least 6"),
        ({"campaign": "  "}, "Name the campaign"),
        ({"prefix": "x" * 35}, "within 40"),
    ],
)
def test_bulk_issue_validates(kwargs, message):
    now = timezone.now()
    base = {
        "count": 3,
        "campaign": "C",
        "reward_kind": "bonus",
        "bonus_amount": Decimal("1.00"),
        "starts_at": now,
        "ends_at": now + timedelta(days=1),
    }
    with pytest.raises(InvalidCode, match=message):
        services.issue_codes_bulk(**{**base, **kwargs})
    assert not PromotionCode.objects.exists()


# --- redeeming ----------------------------------------------------------------------------------
def test_redeem_bonus_credits_the_player_once_in_the_ledger(player, assert_reconciles):
    promo = make_code(code="BONUS25", bonus_amount=Decimal("25.00"))
    redemption = services.redeem(player=player, code="BONUS25")
    assert isinstance(redemption, Redemption)
    assert (redemption.code, redemption.player, redemption.bonus_amount) == (promo, player, Decimal("25.00"))
    assert balance_of(player=player) == Decimal("125.00")
    tx = ledger.find(f"redemption:BONUS25:{player.pk}")
    assert tx is not None and tx.kind == "redemption"
    assert {(e.account, e.amount) for e in tx.entries.all()} == {
        (f"player:{player.pk}", Decimal("25.00")),
        (ledger.SYSTEM_PROMOTIONS, Decimal("-25.00")),
    }
    assert ledger_balance(ledger.SYSTEM_PROMOTIONS) == Decimal("-25.00")
    assert_reconciles()


@pytest.mark.parametrize("typed", ["bonus25", "  Bonus25 ", "BON US25", "\tbonus 25\n"])
def test_redeem_is_case_insensitive_and_ignores_whitespace(player, typed):
    make_code(code="BONUS25")
    assert services.redeem(player=player, code=typed).code.code == "BONUS25"


def test_redeem_twice_is_already_redeemed_and_pays_once(player):
    make_code(code="ONCE")
    services.redeem(player=player, code="ONCE")
    with pytest.raises(AlreadyRedeemed):
        services.redeem(player=player, code="once")
    assert Redemption.objects.filter(player=player).count() == 1
    assert balance_of(player=player) == Decimal("110.00")


def test_two_players_each_redeem_once(player, other_player):
    make_code(code="SHARED")
    services.redeem(player=player, code="SHARED")
    services.redeem(player=other_player, code="SHARED")
    assert Redemption.objects.count() == 2


def test_unknown_code(player):
    with pytest.raises(UnknownCode, match="NOPE"):
        services.redeem(player=player, code="nope")


@pytest.mark.parametrize("raw", ["", "   ", "a b c !", "x" * 60])
def test_malformed_input_is_invalid_code(player, raw):
    with pytest.raises(InvalidCode):
        services.redeem(player=player, code=raw)


def test_not_yet_active_expired_and_deactivated_say_why(player, staff):
    now = timezone.now()
    make_code(code="LATER", starts_at=now + timedelta(hours=1), ends_at=now + timedelta(days=1))
    make_code(code="GONE", starts_at=now - timedelta(days=2), ends_at=now - timedelta(days=1))
    off = make_code(code="OFF")
    services.deactivate_code(code=off, actor=staff)
    with pytest.raises(CodeNotActive, match="not yet active"):
        services.redeem(player=player, code="later")
    with pytest.raises(CodeNotActive, match="expired"):
        services.redeem(player=player, code="gone")
    with pytest.raises(CodeNotActive, match="deactivated"):
        services.redeem(player=player, code="off")
    assert not Redemption.objects.exists()
    assert balance_of(player=player) == Decimal("100.00")


def test_window_start_is_inclusive_and_end_exclusive(player, other_player, monkeypatch):
    start = timezone.now() + timedelta(days=1)
    end = start + timedelta(hours=2)
    promo = make_code(code="EDGE", starts_at=start, ends_at=end)
    check_redeemable(promo, at=start)
    check_redeemable(promo, at=end - timedelta(microseconds=1))
    with pytest.raises(CodeNotActive, match="not yet active"):
        check_redeemable(promo, at=start - timedelta(microseconds=1))
    with pytest.raises(CodeNotActive, match="expired"):
        check_redeemable(promo, at=end)

    # the same through redeem(), with the clock at each edge
    monkeypatch.setattr(timezone, "now", lambda: start)
    services.redeem(player=player, code="EDGE")
    monkeypatch.setattr(timezone, "now", lambda: end)
    with pytest.raises(CodeNotActive, match="expired"):
        services.redeem(player=other_player, code="EDGE")


def test_redeem_never_writes_the_code_row(player, other_player):
    promo = make_code(code="STILL", limit_policy="strict", limit=5)
    before = code_row_stamp(promo)
    services.redeem(player=player, code="STILL")
    services.redeem(player=other_player, code="STILL")
    with pytest.raises(AlreadyRedeemed):
        services.redeem(player=player, code="STILL")
    assert code_row_stamp(promo) == before


def test_strict_limit_refuses_past_the_limit():
    promo = make_code(code="TWO", limit_policy="strict", limit=2)
    first, second, third = (PlayerFactory() for _ in range(3))
    services.redeem(player=first, code="TWO")
    services.redeem(player=second, code="TWO")
    with pytest.raises(LimitReached):
        services.redeem(player=third, code="TWO")
    assert LimitToken.objects.filter(code=promo, redemption__isnull=True).count() == 0
    assert set(LimitToken.objects.filter(code=promo).values_list("redemption__player", flat=True)) == {
        first.pk,
        second.pk,
    }
    # a player who already has it hears "already redeemed", not "limit reached"
    with pytest.raises(AlreadyRedeemed):
        services.redeem(player=first, code="TWO")


def test_overbook_limit_refuses_at_the_limit_when_alone():
    make_code(code="OB", limit_policy="overbook", limit=2)
    players = [PlayerFactory() for _ in range(3)]
    services.redeem(player=players[0], code="OB")
    services.redeem(player=players[1], code="OB")
    with pytest.raises(LimitReached):
        services.redeem(player=players[2], code="OB")
    assert Redemption.objects.count() == 2


def test_a_failed_reward_leaves_no_redemption(player, monkeypatch):
    """Redemption row and reward are one transaction: a failing ledger post undoes the row."""
    make_code(code="ATOMIC")

    def boom(**kwargs):
        raise RuntimeError("ledger down")

    monkeypatch.setattr(ledger, "post", boom)
    with pytest.raises(RuntimeError):
        services.redeem(player=player, code="ATOMIC")
    monkeypatch.undo()
    assert not Redemption.objects.exists()
    assert balance_of(player=player) == Decimal("100.00")
    services.redeem(player=player, code="ATOMIC")  # and it can still be redeemed afterwards
    assert balance_of(player=player) == Decimal("110.00")


def test_a_strict_token_comes_back_when_the_reward_fails(player, monkeypatch):
    promo = make_code(code="TOKENBACK", limit_policy="strict", limit=1)
    monkeypatch.setattr(ledger, "post", lambda **kw: (_ for _ in ()).throw(RuntimeError("ledger down")))
    with pytest.raises(RuntimeError):
        services.redeem(player=player, code="TOKENBACK")
    monkeypatch.undo()
    assert LimitToken.objects.get(code=promo).redemption is None
    services.redeem(player=player, code="TOKENBACK")


def test_deactivate_is_audited_and_idempotent(staff):
    promo = make_code(code="BYE")
    services.deactivate_code(code=promo, actor=staff)
    services.deactivate_code(code=promo, actor=staff)
    promo.refresh_from_db()
    assert promo.is_active is False
    assert AuditLog.objects.filter(action="promotion_code.deactivate", target="code:BYE").count() == 1


def test_normalize_code():
    assert normalize_code(" ab c-1_2 ") == "ABC-1_2"


def test_ensure_demo_codes_is_idempotent(player):
    first = ensure_demo_codes()
    second = ensure_demo_codes()
    assert [c.pk for c in first] == [c.pk for c in second]
    assert PromotionCode.objects.filter(code="WELCOME10").count() == 1
    services.redeem(player=player, code="welcome10")
    assert balance_of(player=player) == Decimal("110.00")


# --- free spins -----------------------------------------------------------------------------------
@pytest.fixture
def game(db):
    return Game.objects.create(
        slug="code-slot",
        name="Code Slot",
        min_stake=Decimal("0.10"),
        max_stake=Decimal("5.00"),
        reels=[["cherry", "lemon"]] * 3,
        paytable=[{"line": ["cherry", "cherry", "cherry"], "pays": 4}],
    )


def spins_code(game, **overrides):
    kwargs = {
        "code": "SPINS",
        "reward_kind": "free_spins",
        "bonus_amount": None,
        "free_spins_game": game,
        "free_spins_count": 20,
        "free_spin_stake": Decimal("0.50"),
    }
    return make_code(**{**kwargs, **overrides})


def test_redeem_free_spins_grants_them_once_with_the_redemption_key(player, game, assert_reconciles):
    promo = spins_code(game)
    redemption = services.redeem(player=player, code="spins")
    assert (redemption.reward_kind, redemption.free_spins_count, redemption.bonus_amount) == (
        "free_spins",
        20,
        Decimal("0.00"),
    )
    grant = FreeSpinGrant.objects.get(source_key=f"redemption:SPINS:{player.pk}")
    assert (grant.player, grant.game, grant.granted, grant.remaining, grant.stake) == (
        player,
        game,
        20,
        20,
        Decimal("0.50"),
    )
    assert balance_of(player=player) == Decimal("100.00")  # spins, not money, until they are played
    with pytest.raises(AlreadyRedeemed):
        services.redeem(player=player, code="SPINS")
    assert FreeSpinGrant.objects.filter(player=player).count() == 1
    assert promo.reward_text == "20 free spins of 0.50 on Code Slot"
    assert_reconciles()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"free_spins_game": None}, "needs a game"),
        ({"free_spins_count": 0}, "between 1 and"),
        ({"free_spins_count": 1001}, "between 1 and"),
        ({"free_spin_stake": None}, "stake per spin"),
        ({"free_spin_stake": Decimal("9.00")}, "between 0.10 and 5.00"),
        ({"bonus_amount": Decimal("5.00")}, "leave the bonus amount empty"),
    ],
)
def test_free_spins_code_is_validated(game, overrides, message):
    with pytest.raises(InvalidCode, match=message):
        spins_code(game, **overrides)


def test_free_spins_code_needs_an_active_game(game):
    game.is_active = False
    game.save(update_fields=["is_active"])
    with pytest.raises(InvalidCode, match="not active"):
        spins_code(game)


def test_ensure_demo_codes_adds_a_free_spins_code_when_a_game_exists(game):
    codes = ensure_demo_codes()
    assert [c.code for c in codes] == ["WELCOME10", "WELCOME-BONUS", "SPINS20"]
    assert [c.code for c in ensure_demo_codes()] == ["WELCOME10", "WELCOME-BONUS", "SPINS20"]
    spins = PromotionCode.objects.get(code="SPINS20")
    assert (spins.free_spins_game, spins.free_spins_count, spins.free_spin_stake) == (game, 20, game.min_stake)
