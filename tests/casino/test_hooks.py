"""The hook points lower apps own, and what the higher apps register there in ready()."""

from accounts import hooks as account_hooks
from casino import account_hooks as casino_account_hooks
from casino import hooks as casino_hooks
from promotions import effects


def test_promotions_acts_inside_the_casino_through_its_hooks():
    assert effects.grant_vendor_free_spins in casino_hooks.session_opened
    assert effects.win_boost_percent in casino_hooks.win_boost
    assert effects.pay_cashback in casino_hooks.session_closed


def test_the_casino_acts_inside_accounts_through_its_hooks():
    assert casino_account_hooks.close_sessions_of_excluded_player in account_hooks.player_excluded
    assert casino_account_hooks.SESSION_BALANCES in account_hooks.balance_sources
    assert casino_account_hooks.session_spans in account_hooks.activity_spans
    assert account_hooks.wallet_panels == [
        "casino/partials/_wallet_payouts.html",
        "promotions/partials/_wallet_bonus.html",
        "promotions/partials/_wallet_redemptions.html",
    ]


def test_each_hook_is_registered_once():
    for registry in (
        casino_hooks.session_opened,
        casino_hooks.win_boost,
        casino_hooks.session_closed,
        account_hooks.player_excluded,
        account_hooks.balance_sources,
        account_hooks.activity_spans,
    ):
        assert len(registry) == len(set(map(id, registry)))
