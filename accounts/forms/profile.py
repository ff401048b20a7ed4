"""The Profile page's form: how the player reads odds."""

from __future__ import annotations

from django import forms

from accounts.models import User


class OddsFormatForm(forms.Form):
    odds_format = forms.ChoiceField(
        label="Show odds as",
        choices=User.OddsFormat.choices,
        widget=forms.RadioSelect,
        help_text=(
            "Prices on the sportsbook, the bet slip and your bets. "
            "Bets are placed at the same price whichever you pick."
        ),
    )
