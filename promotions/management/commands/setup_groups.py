"""Create or update the staff groups and their model permissions (idempotent).

- ``support``: view everything (players, accounts, ledger, sessions, bets, payouts,
  promotions), change nothing (a bonus grant is cancelled by marketing).
- ``trader``: view everything; add and change sport events, markets and
  selections, change (settle, void) sportsbets, plus any ``settle_*`` permission.
- ``marketing``: view everything; add, change and delete promotion codes, vendors
  and vendor promotions; change (cancel) bonus grants.
- ``finance``: view everything, plus ``reports.view_reports`` (the finance report page,
  its CSV export and "Roll up now"). Only this group sees the reports.

Bonus grants are made and ended by the services only: "change" on a grant is the
permission to cancel it from its admin page (audited), nothing else.

Give a staff user a group in the admin (user -> Groups) instead of superuser.
Run after ``migrate``: ``manage.py setup_groups``.
"""

from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management.base import BaseCommand
from django.db import transaction

DOMAIN_APPS = ("core", "accounts", "casino", "promotions")
REPORT_APPS = ("reports",)  # not viewed by every group: a group gets its report permissions by name
FULL = ("add", "change", "delete", "view")

GROUPS: dict[str, dict[str, tuple[str, ...]]] = {
    "support": {},
    "trader": {
        "casino.sportevent": ("add", "change", "view"),
        "casino.market": ("add", "change", "view"),
        "casino.selection": ("add", "change", "view"),
        "casino.sportsbet": ("change", "view"),
    },
    "marketing": {
        "promotions.promotioncode": FULL,
        "casino.vendor": FULL,
        "promotions.vendorpromotion": FULL,
        "promotions.bonusgrant": ("change", "view"),
    },
    "finance": {},
}
EXTRA_CODENAME_PREFIXES = {"trader": ("settle_",), "finance": ("view_reports",)}


def permissions_for(group_name: str) -> list[Permission]:
    """Every group views all domain models; some also change their own part."""
    wanted: set[tuple[str, str]] = set()  # (app_label, codename)
    for label in DOMAIN_APPS:
        for model in apps.get_app_config(label).get_models():
            wanted.add((label, f"view_{model._meta.model_name}"))
    for model_label, actions in GROUPS[group_name].items():
        app_label, model_name = model_label.split(".")
        wanted.update((app_label, f"{action}_{model_name}") for action in actions)
    perms = [
        perm
        for perm in Permission.objects.filter(content_type__app_label__in=DOMAIN_APPS + REPORT_APPS).select_related(
            "content_type"
        )
        if (perm.content_type.app_label, perm.codename) in wanted
        or perm.codename.startswith(EXTRA_CODENAME_PREFIXES.get(group_name, ("\0",)))
    ]
    return sorted(perms, key=lambda p: (p.content_type.app_label, p.codename))


class Command(BaseCommand):
    help = "Create or update the staff groups support, trader, marketing and finance with their permissions."

    def handle(self, *args, **options):
        for label in DOMAIN_APPS + REPORT_APPS:  # make sure every model's permissions exist (fresh databases)
            create_permissions(apps.get_app_config(label), verbosity=0)
        ContentType.objects.clear_cache()
        with transaction.atomic():
            for name in GROUPS:
                group, created = Group.objects.get_or_create(name=name)
                perms = permissions_for(name)
                group.permissions.set(perms)
                changes = sorted(p.codename for p in perms if not p.codename.startswith("view_"))
                self.stdout.write(
                    f"{'created' if created else 'updated'} group {name}: {len(perms)} permissions"
                    + (f" (writes: {', '.join(changes)})" if changes else " (view only)")
                )
