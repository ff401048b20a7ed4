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


# --- the bet slip (issue 18) ---------------------------------------------------------
PRICE_PREFIX = "price_"


class SlipSelectionForm(forms.Form):
    """Add a selection to the slip, or remove one."""

    selection = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=2**31 - 1)


class SlipPlaceForm(IdempotentForm):
    """Place the slip: the stake, one hidden ``price_<selection id>`` per leg with the decimal
    price the slip showed (one leg: a single; two or more: an accumulator)."""

    stake = MoneyField(label="Stake")

    def __init__(self, *args, legs=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.legs = list(legs)
        for leg in self.legs:
            self.fields[f"{PRICE_PREFIX}{leg.pk}"] = forms.DecimalField(
                widget=forms.HiddenInput,
                max_digits=8,
                decimal_places=2,
                min_value=1,
                initial=leg.odds,
                error_messages={"required": f"The price of {leg.name} is missing: reload the slip."},
            )

    @staticmethod
    def posted_ids(data) -> list[int]:
        """The selection ids a posted slip carries prices for (in the order posted)."""
        ids = []
        for name in data:
            suffix = name[len(PRICE_PREFIX) :] if name.startswith(PRICE_PREFIX) else ""
            if suffix.isascii() and suffix.isdigit() and 0 < int(suffix) < 2**31 and int(suffix) not in ids:
                ids.append(int(suffix))
        return ids

    def price_field(self, leg):
        return self[f"{PRICE_PREFIX}{leg.pk}"]

    def prices(self) -> dict[int, object]:
        """{selection id: the price shown} (valid form)."""
        return {leg.pk: self.cleaned_data[f"{PRICE_PREFIX}{leg.pk}"] for leg in self.legs}
