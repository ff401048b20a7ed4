"""The player's forfeit confirmation (issue 16)."""

from django import forms


class ForfeitForm(forms.Form):
    """Carries the grant's version the preview showed: a grant that changed since (bonus
    money back from a machine, wagering folded in) is previewed again instead of forfeited,
    so the player loses what they read."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0, max_value=2**63 - 1)
