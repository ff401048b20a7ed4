"""Forms for playing slot sessions and for editing games in the admin."""

from __future__ import annotations

from django import forms

from casino.models import Game
from casino.slots import PaytableError, validate
from core.forms import IdempotentForm, MoneyField


class SpinForm(IdempotentForm):
    """A paid spin. The hidden key is fresh per render, so a double-submit spins once."""

    stake = MoneyField(label="Stake")


class FreeSpinForm(IdempotentForm):
    """A free spin at the grant's stake: only the key."""


class FeedForm(IdempotentForm):
    amount = MoneyField(label="Amount to feed")


class GameAdminForm(forms.ModelForm):
    """Reels and paytable are validated by ``casino.slots``, which bounds the RTP and the cost
    of computing it (``MAX_THEORY_STEPS``): a paytable too complex to compute fast is refused."""

    class Meta:
        model = Game
        fields = ["slug", "name", "vendor", "description", "min_stake", "max_stake", "reels", "paytable", "is_active"]
        help_texts = {
            "reels": 'A list of 3-5 reel strips, e.g. [["cherry", "bell", "seven"], [...], [...]].',
            "paytable": 'Rules like {"line": ["seven", "seven", "seven"], "pays": 100}; "*" matches any symbol; '
            "the highest-paying matching rule pays (pays = whole multiple of the stake). A paytable whose "
            "exact RTP would take too long to compute is refused: use fewer rules or symbols in them.",
        }

    def clean(self):
        cleaned = super().clean()
        low, high = cleaned.get("min_stake"), cleaned.get("max_stake")
        if low is not None and low <= 0:
            self.add_error("min_stake", "The minimum stake must be more than zero.")
        if low is not None and high is not None and high < low:
            self.add_error("max_stake", "The maximum stake must be at least the minimum stake.")
        if "reels" in cleaned and "paytable" in cleaned:
            try:
                self.machine = validate(cleaned["reels"], cleaned["paytable"])
            except PaytableError as exc:
                for field, messages in exc.errors.items():
                    for message in messages:
                        self.add_error(field, message)
        return cleaned
