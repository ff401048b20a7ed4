"""Each vendor-promotion type's effect, through the game-session services, with reconciliation."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts import ledger
from accounts.models import Account, LedgerEntry, LedgerTransaction
from casino import services as casino
from casino.models import FreeSpinGrant, Game, GameSession, Vendor
from promotions import effects
from promotions import services as promotions
from promotions.models import VendorPromotion

DAY = timedelta(days=1)


def make_game(vendor, *, slug, wins: bool) -> Game:
    """Every spin wins 2x (``wins``), or a spin pays 2x with probability one in a million.

    (A valid paytable cannot make a machine that never pays; the loser's tests
    check the cashback against the session's own totals all the same.)
    """
    line = ["cherry", "cherry", "cherry"]
    reels = [["cherry"] * 2] * 3 if wins else [["cherry"] + ["lemon"] * 99] * 3
    return Game.objects.create(
        slug=slug,
        name=slug.title(),
        vendor=vendor,
        min_stake=Decimal("0.10"),
        max_stake=Decimal("5.00"),
        reels=reels,
        paytable=[{"line": line, "pays": 2}],
    )


@pytest.fixture
def vendor(db):
    return Vendor.objects.create(slug="acme", name="Acme Slots")


def running(vendor, kind, **params):
    now = timezone.now()
    return promotions.add_vendor_promotion(vendor=vendor, kind=kind, starts_at=now, ends_at=now + DAY, **params)


def balance(player) -> Decimal:
    return Account.objects.get(user=player).balance


def promotions_pot() -> Decimal:
    return sum((e.amount for e in LedgerEntry.objects.filter(account=ledger.SYSTEM_PROMOTIONS)), Decimal("0"))


# --- free spins -------------------------------------------------------------------
def test_free_spins_are_granted_once_per_player_per_promotion(vendor, player, other_player, assert_reconciles):
    promo = running(vendor, "free_spins", free_spins_count=3, free_spin_stake="0.50")
    game = make_game(vendor, slug="cherry-rush", wins=True)
    other_vendor_game = make_game(Vendor.objects.create(slug="b", name="B"), slug="elsewhere", wins=True)

    session = casino.open_session(player=player, game=game)
    grant = FreeSpinGrant.objects.get(player=player)
    assert (grant.game_id, grant.granted, grant.remaining, grant.stake) == (game.pk, 3, 3, Decimal("0.50"))
    assert grant.source_key == f"vendorpromo:{promo.pk}:{player.pk}"

    spin = casino.spin(session=session, idempotency_key="free-1", free_spin=True)
    assert spin.free_spin and spin.stake == Decimal("0.50") and spin.win == Decimal("1.00")
    casino.leave(session=session)
    assert balance(player) == Decimal("101.00"), "the free spin's win came from the promotions pot"
    assert promotions_pot() == Decimal("-1.00")

    # Re-opening (any game of the vendor) grants nothing more; another player gets their own.
    casino.open_session(player=player, game=game)
    assert FreeSpinGrant.objects.filter(player=player).count() == 1
    casino.open_session(player=other_player, game=other_vendor_game)
    assert not FreeSpinGrant.objects.filter(player=other_player).exists(), "another vendor's game: no grant"
    assert_reconciles()


def test_no_free_spins_outside_the_window(vendor, player):
    now = timezone.now()
    promotions.add_vendor_promotion(
        vendor=vendor,
        kind="free_spins",
        starts_at=now + DAY,
        ends_at=now + 2 * DAY,
        free_spins_count=3,
        free_spin_stake="0.50",
    )
    casino.open_session(player=player, game=make_game(vendor, slug="later", wins=True))
    assert not FreeSpinGrant.objects.exists()


# --- win boost --------------------------------------------------------------------
def test_win_boost_raises_wins_paid_by_the_promotions_pot(vendor, player, assert_reconciles):
    game = make_game(vendor, slug="boosted", wins=True)
    session = casino.open_session(player=player, game=game)
    casino.feed(session=session, amount="10.00", idempotency_key="feed-1")
    plain = casino.spin(session=session, stake="1.00", idempotency_key="s1")
    assert (plain.win, plain.boost) == (Decimal("2.00"), Decimal("0.00"))

    running(vendor, "win_boost", percent="25")
    boosted = casino.spin(session=session, stake="1.10", idempotency_key="s2")
    assert (boosted.win, boosted.boost) == (Decimal("2.20"), Decimal("0.55"))
    closed = casino.leave(session=session)
    assert closed.cashed_out == Decimal("10.00") - 1 + 2 - Decimal("1.10") + Decimal("2.20") + Decimal("0.55")
    assert balance(player) == Decimal("90.00") + closed.cashed_out
    assert promotions_pot() == Decimal("-0.55")
    assert_reconciles()


def test_win_boost_percent_follows_the_window(vendor):
    game = make_game(vendor, slug="w", wins=True)
    now = timezone.now()
    promotions.add_vendor_promotion(
        vendor=vendor, kind="win_boost", starts_at=now + DAY, ends_at=now + 2 * DAY, percent="12.5"
    )
    assert effects.win_boost_percent(game=game, at=now) == 0
    assert effects.win_boost_percent(game=game, at=now + DAY) == Decimal("12.50")
    assert effects.win_boost_percent(game=game, at=now + 2 * DAY) == 0, "the end is exclusive"
    assert effects.win_boost_percent(game=make_game(None, slug="no-vendor", wins=True), at=now + DAY) == 0


# --- cashback ---------------------------------------------------------------------
def test_cashback_returns_a_share_of_net_losses_on_close(vendor, player, assert_reconciles):
    promo = running(vendor, "cashback", percent="10")
    game = make_game(vendor, slug="loser", wins=False)
    session = casino.open_session(player=player, game=game)
    casino.feed(session=session, amount="10.00", idempotency_key="f")
    for i in range(3):
        casino.spin(session=session, stake="1.15", idempotency_key=f"s{i}")
    closed = casino.leave(session=session)

    # Lost 3.45 (barring a one-in-a-million win); 10% = 0.345, rounded down to 0.34.
    assert (closed.total_staked, closed.total_won) == (Decimal("3.45"), Decimal("0.00"))
    tx = LedgerTransaction.objects.get(idempotency_key=f"cashback:{promo.pk}:{session.pk}")
    assert tx.kind == LedgerTransaction.Kind.PROMOTION
    assert sorted((e.account, e.amount) for e in tx.entries.all()) == sorted(
        [(f"player:{player.pk}", Decimal("0.34")), (ledger.SYSTEM_PROMOTIONS, Decimal("-0.34"))]
    )
    assert balance(player) == Decimal("100.00") - Decimal("3.45") + Decimal("0.34")

    effects.pay_cashback(closed)  # a replay pays nothing more
    casino.leave(session=session)
    assert LedgerTransaction.objects.filter(kind=LedgerTransaction.Kind.PROMOTION).count() == 1
    assert_reconciles()


def test_no_cashback_on_a_net_win_or_when_not_running_at_close(vendor, player, assert_reconciles):
    running(vendor, "cashback", percent="50")
    winner = casino.open_session(player=player, game=make_game(vendor, slug="winner", wins=True))
    casino.feed(session=winner, amount="5.00", idempotency_key="f")
    casino.spin(session=winner, stake="1.00", idempotency_key="s")
    casino.leave(session=winner)

    VendorPromotion.objects.all().delete()  # staff ended it (no cashback after the end)
    loser = casino.open_session(player=player, game=make_game(vendor, slug="loser2", wins=False))
    casino.feed(session=loser, amount="5.00", idempotency_key="f")
    casino.spin(session=loser, stake="1.00", idempotency_key="s")
    casino.leave(session=loser)

    assert not LedgerTransaction.objects.filter(kind=LedgerTransaction.Kind.PROMOTION).exists()
    assert balance(player) == Decimal("100.00")
    assert GameSession.objects.filter(status="closed").count() == 2
    assert_reconciles()


@pytest.mark.parametrize(
    ("staked", "won", "percent", "expected"),
    [
        ("10.00", "4.00", "10", "0.60"),
        ("0.15", "0.00", "10", "0.01"),
        ("0.09", "0.00", "10", "0.00"),
        ("5.00", "5.00", "100", "0.00"),
        ("5.00", "9.00", "100", "0.00"),
        ("7.77", "0.00", "33.33", "2.58"),
    ],
)
def test_cashback_amount_rounds_down_to_cents(staked, won, percent, expected):
    assert effects.cashback_amount(staked=Decimal(staked), won=Decimal(won), percent=Decimal(percent)) == Decimal(
        expected
    )


def test_free_spins_are_never_granted_outside_the_games_stake_range(vendor, player, caplog, assert_reconciles):
    """The stake fitted every game when the promotion was made; ranges and games change after."""
    fits = make_game(vendor, slug="fits", wins=True)  # 0.10–5.00
    promo = running(vendor, "free_spins", free_spins_count=3, free_spin_stake="2.00")
    # A game joins the vendor later with a higher minimum, and a game's maximum is lowered.
    joined = make_game(vendor, slug="joined-later", wins=True)
    Game.objects.filter(pk=joined.pk).update(min_stake=Decimal("2.50"), max_stake=Decimal("50.00"))
    lowered = make_game(vendor, slug="lowered", wins=True)
    Game.objects.filter(pk=lowered.pk).update(max_stake=Decimal("1.00"))

    for game in (joined, lowered):  # the caller's instances still hold the old ranges
        with caplog.at_level("WARNING", logger="promotions.effects"):
            casino.leave(session=casino.open_session(player=player, game=game))
        assert not FreeSpinGrant.objects.exists(), game.slug
    assert f"promotion {promo.pk} stake 2.00 is outside lowered's range 0.10-1.00" in caplog.text
    assert "outside joined-later's range 2.50-50.00" in caplog.text

    # Skipped, not used up: the player gets the spins on a game of the vendor the stake fits.
    casino.open_session(player=player, game=fits)
    grant = FreeSpinGrant.objects.get(player=player)
    assert (grant.game_id, grant.stake, grant.remaining) == (fits.pk, Decimal("2.00"), 3)
    assert_reconciles()
