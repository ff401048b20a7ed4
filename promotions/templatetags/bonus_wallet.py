"""``{% bonus_panel %}``: the wallet's bonus panel (issue 16): cash and bonus apart, each
active grant with its wagering progress and terms, the last ended grants.

Read-only. The cash figure is the account balance the page already read for its header
(``accounts.context_processors.account_balance``): no second read. ``oob=True`` renders the
panel for an htmx answer that replaces the wallet's panel out of band (a bonus-funds code
redeemed from the wallet).
"""

from django import template
from django.utils import timezone

from accounts.context_processors import account_balance
from promotions.selectors.bonus import wallet_bonus

register = template.Library()


@register.inclusion_tag("promotions/partials/_wallet_bonus.html#panel", takes_context=True)
def bonus_panel(context, oob: bool = False):
    request = context["request"]
    return {
        "bonus": wallet_bonus(request.user, timezone.now()),
        "cash": account_balance(request),
        "oob": oob,
    }
