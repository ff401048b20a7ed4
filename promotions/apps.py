from django.apps import AppConfig

from accounts import hooks as account_hooks
from casino import hooks as casino_hooks


class PromotionsConfig(AppConfig):
    name = "promotions"
    verbose_name = "Promotions"

    def ready(self):
        from promotions import effects  # noqa: PLC0415 - imports models: only once the registry is ready

        casino_hooks.session_opened.append(effects.grant_vendor_free_spins)
        casino_hooks.win_boost.append(effects.win_boost_percent)
        casino_hooks.session_closed.append(effects.pay_cashback)
        account_hooks.wallet_panels.append("promotions/partials/_wallet_redemptions.html")
