from django.apps import AppConfig

from accounts import hooks as account_hooks
from casino import hooks as casino_hooks


class PromotionsConfig(AppConfig):
    name = "promotions"
    verbose_name = "Promotions"

    def ready(self):
        from promotions import effects  # noqa: PLC0415 - imports models: only once the registry is ready
        from promotions.services import bonus  # noqa: PLC0415 - same

        # Bonus money (issue 16): the session's bonus part comes from and goes back to a grant;
        # leaving folds the session's wagering into the grants (in the cash-out's transaction).
        casino_hooks.bonus_max_stake.append(bonus.max_stake_for)
        casino_hooks.bonus_expire_due.append(bonus.expire_due)
        casino_hooks.bonus_draw.append(bonus.draw_bonus)
        casino_hooks.bonus_return.append(bonus.return_bonus)
        casino_hooks.session_closed.append(bonus.fold_session)
        account_hooks.balance_sources.append(
            account_hooks.BalanceSource(
                label="bonus grant", table="promotions_bonusgrant", key_column="id", prefix="bonus:"
            )
        )

        casino_hooks.session_opened.append(effects.grant_vendor_free_spins)
        casino_hooks.win_boost.append(effects.win_boost_percent)
        casino_hooks.session_closed.append(effects.pay_cashback)
        account_hooks.wallet_panels.append("promotions/partials/_wallet_bonus.html")
        account_hooks.wallet_panels.append("promotions/partials/_wallet_redemptions.html")
