"""Forms of the sportsbook pages and the admin's settle page."""

from __future__ import annotations

from django import forms

from casino.models import SportEvent
from casino.services.sportsbook import VOID
from core.forms import IdempotentForm, MoneyField


class BetForm(IdempotentForm):
    """A single bet from the slip: the selection, the price the player saw, the stake."""

    selection = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    expected_odds = forms.DecimalField(widget=forms.HiddenInput, max_digits=8, decimal_places=2, min_value=1)
    stake = MoneyField(label="Stake")


class SettleEventForm(forms.Form):
    """One choice per market: the winning selection, or void (stakes refunded)."""

    def __init__(self, *args, event: SportEvent, **kwargs):
        super().__init__(*args, **kwargs)
        self.event = event
        for market in event.markets.prefetch_related("selections"):
            choices = [(str(s.pk), f"{s.name} @ {s.odds}") for s in market.selections.all()]
            choices.append((VOID, "Void: refund every stake"))
            self.fields[f"market_{market.pk}"] = forms.ChoiceField(
                label=market.name, choices=choices, widget=forms.RadioSelect
            )

    def result(self) -> dict:
        """The ``settle_event`` result: {market id: selection id or "void"}."""
        return {int(name.removeprefix("market_")): value for name, value in self.cleaned_data.items()}
