from django.apps import AppConfig

from accounts import hooks


class CasinoConfig(AppConfig):
    name = "casino"
    verbose_name = "Casino and sportsbook"

    def ready(self):
        from casino import account_hooks  # noqa: PLC0415 - imports models: only once the registry is ready

        hooks.player_excluded.append(account_hooks.close_sessions_of_excluded_player)
        hooks.balance_sources.append(account_hooks.SESSION_BALANCES)
        hooks.balance_sources.append(account_hooks.SESSION_BONUS_BALANCES)
        hooks.activity_spans.append(account_hooks.session_spans)
        hooks.wallet_panels.append("casino/partials/_wallet_payouts.html")
