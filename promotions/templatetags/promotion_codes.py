"""``{% redeem_panel %}``: the "Redeem a code" panel on pages other apps render (the wallet).

Read-only: it renders the same partial the redeem view swaps in, with the same context.
"""

from django import template

from promotions.views.codes import panel_context

register = template.Library()


@register.inclusion_tag("promotions/redeem.html#panel", takes_context=True)
def redeem_panel(context):
    request = context["request"]
    ctx = panel_context(request, from_wallet=True)
    ctx["csrf_token"] = context.get("csrf_token")
    ctx["request"] = request
    return ctx
