"""Forms of the trader's admin pages (issue 18): a selection's price, and the market and
selection inlines (kinds, lines, prices and liability limits checked like the services do)."""

from __future__ import annotations

from django import forms

from casino.exceptions import InvalidOdds
from casino.models import Market, Selection
from casino.selectors import trading
from casino.services.markets import MAX_ODDS, parse_odds
from core.exceptions import InvalidAmount
from core.money import parse_amount


def _clean_odds(value):
    try:
        return parse_odds(value)
    except InvalidOdds as exc:
        raise forms.ValidationError(exc.message, code="invalid_odds") from exc


class ChangeOddsForm(forms.Form):
    """A new price for one selection, with the version of the price the trader saw."""

    odds = forms.CharField(
        label="New odds (decimal)",
        max_length=12,
        help_text=f"Above 1.00, at most {MAX_ODDS:.0f}, two decimals at most. Open bets keep the price they took.",
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "size": 8}),
    )
    expected_version = forms.IntegerField(widget=forms.HiddenInput, min_value=0, max_value=2**62)

    def clean_odds(self):
        return _clean_odds(self.cleaned_data["odds"])


class SelectionInlineForm(forms.ModelForm):
    """A selection on its market's page: the price is checked as ``change_odds`` checks it
    (the admin saves a changed price through that service, with its history row)."""

    class Meta:
        model = Selection
        fields = ("name", "odds", "max_liability", "liability_mode")

    def clean_odds(self):
        return _clean_odds(self.cleaned_data["odds"])

    def clean_max_liability(self):
        value = self.cleaned_data.get("max_liability")
        if value is None:
            return value
        try:
            return parse_amount(value, field="Maximum liability")
        except InvalidAmount as exc:
            raise forms.ValidationError(
                f"{exc.message} A liability limit is a positive amount (leave it empty for no limit).",
                code="invalid_amount",
            ) from exc


class MarketFormMixin:
    """A goals line belongs to an over/under market, and only there; a market's kind and line are
    what its bets were placed on: locked once it has bets."""

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("kind", getattr(self.instance, "kind", None))
        line = cleaned.get("line", getattr(self.instance, "line", None))
        if "kind" in self.fields or "line" in self.fields:
            if kind == Market.Kind.OVER_UNDER and line is None:
                self.add_error("line" if "line" in self.fields else None, "An over/under market needs a goals line.")
            elif kind and kind != Market.Kind.OVER_UNDER and line is not None:
                self.add_error("line" if "line" in self.fields else None, "Only an over/under market has a line.")
        changed = {"kind", "line"} & set(self.changed_data)
        if self.instance.pk and changed and trading.market_has_bets(market=self.instance):
            self.add_error(None, "The kind and line are locked: bets have been placed on this market.")
        return cleaned

    def clean_line(self):
        line = self.cleaned_data.get("line")
        if line is not None and (line <= 0 or (line * 2) != (line * 2).to_integral_value()):
            raise forms.ValidationError("A goals line is a positive number of halves, e.g. 2.5.")
        return line


class MarketInlineForm(MarketFormMixin, forms.ModelForm):
    class Meta:
        model = Market
        fields = ("name", "kind", "line", "max_stake")


class MarketAdminForm(MarketFormMixin, forms.ModelForm):
    class Meta:
        model = Market
        fields = ("event", "name", "kind", "line", "max_stake")
