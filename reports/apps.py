from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """Operator reports (issue 19): daily roll-ups of the ledger per product and game, the
    finance report page, ``manage.py report``. The top layer: it reads every other app."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "reports"

    def ready(self):
        # The roll-up's section of ``manage.py reconcile``: the report's figures against the
        # ledger's entries over the rolled-up days (``manage.py report --reconcile`` runs it alone).
        from accounts import hooks  # noqa: PLC0415 - app registry is ready here
        from reports import reconcile  # noqa: PLC0415

        if reconcile.section not in hooks.reconcile_sections:
            hooks.reconcile_sections.append(reconcile.section)
